import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TokenBrokerStack } from './token-broker-stack.js';

/** The stack name; the seed CLI looks its outputs up under it. */
export const STACK_NAME = 'TokenBroker';

/**
 * The whole CDK app, shared by `bin/app.ts` and the tests so both check the same thing. cdk-nag
 * runs as a CDK validation plugin: an unacknowledged error fails `cdk synth`.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: TokenBrokerStack } {
  const app = new App(props);
  // `cdk deploy -c mailFromIdentity=acme.example`: the verified SES identity signup mail is sent from.
  const mailFromIdentity = app.node.tryGetContext('mailFromIdentity') as string | undefined;
  const stack = new TokenBrokerStack(app, STACK_NAME, {
    description: 'token-broker: OAuth 2.0 token service (API Gateway, Lambda, DynamoDB, Secrets Manager)',
    ...(mailFromIdentity ? { mailFromIdentity } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
