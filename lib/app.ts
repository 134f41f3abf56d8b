import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { TokenBrokerStack, type TokenBrokerStackProps } from './token-broker-stack.js';

/** The stack name; the seed CLI looks its outputs up under it. */
export const STACK_NAME = 'TokenBroker';

/**
 * The whole CDK app, shared by `bin/app.ts` and the tests so both check the same thing. cdk-nag
 * runs as a CDK validation plugin, both packs: AwsSolutions and Serverless. An unacknowledged
 * error fails `cdk synth`.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: TokenBrokerStack } {
  const app = new App(props);
  const stack = new TokenBrokerStack(app, STACK_NAME, {
    description: 'token-broker: OAuth 2.0 token service (API Gateway, Lambda, DynamoDB, Secrets Manager)',
    ...stackPropsFromContext(app),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

/**
 * The operator's stack properties, from CDK context (`cdk deploy -c alarmEmail=ops@acme.example
 * -c tracing=true`, or cdk.json's "context"); a property not given keeps the stack's default.
 */
export function stackPropsFromContext(app: App): Partial<TokenBrokerStackProps> {
  const get = (key: string): unknown => app.node.tryGetContext(key);
  const props: { -readonly [K in keyof TokenBrokerStackProps]: TokenBrokerStackProps[K] } = {};
  // The verified SES identity signup mail is sent from.
  const mailFromIdentity = get('mailFromIdentity');
  if (mailFromIdentity) props.mailFromIdentity = String(mailFromIdentity);
  const alarmEmail = get('alarmEmail');
  if (alarmEmail) props.alarmEmail = String(alarmEmail);
  const tracing = flag(get('tracing'), 'tracing');
  if (tracing !== undefined) props.tracing = tracing;
  const apiAccessLogs = flag(get('apiAccessLogs'), 'apiAccessLogs');
  if (apiAccessLogs !== undefined) props.apiAccessLogs = apiAccessLogs;
  const applicationLogLevel = oneOf(get('applicationLogLevel'), Object.values(ApplicationLogLevel), 'applicationLogLevel');
  if (applicationLogLevel !== undefined) props.applicationLogLevel = applicationLogLevel;
  const systemLogLevel = oneOf(get('systemLogLevel'), Object.values(SystemLogLevel), 'systemLogLevel');
  if (systemLogLevel !== undefined) props.systemLogLevel = systemLogLevel;
  const retention = get('logRetentionDays');
  if (retention !== undefined) props.logRetentionDays = retentionDays(retention);
  return props;
}

function flag(value: unknown, key: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`${key} must be true or false, not ${JSON.stringify(value)}`);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], key: string): T | undefined {
  if (value === undefined) return undefined;
  const upper = String(value).toUpperCase();
  const found = allowed.find((a) => a === upper);
  if (found === undefined) throw new Error(`${key} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return found;
}

/** One of CloudWatch Logs' retention periods, in days (1, 3, 5, 7, 14, 30, 60, 90, ...). */
export function retentionDays(value: unknown): RetentionDays {
  const days = Number(value);
  const allowed = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number' && v !== RetentionDays.INFINITE);
  if (!allowed.includes(days)) throw new Error(`logRetentionDays must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return days;
}
