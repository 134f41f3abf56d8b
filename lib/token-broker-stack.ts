import { CfnOutput, Lazy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { BrokerApi } from './constructs/broker-api.js';
import { BrokerFunctions, type BrokerFunctionName } from './constructs/broker-functions.js';
import { BrokerSecrets } from './constructs/broker-secrets.js';
import { TokenTable } from './constructs/token-table.js';
import { WarmupSchedule } from './constructs/warmup-schedule.js';

export interface TokenBrokerStackProps extends StackProps {
  /** Stage throttling, requests per second. @default 1000 */
  readonly rateLimit?: number;
  /** Stage throttling burst. @default 2000 */
  readonly burstLimit?: number;
  /** Browser origins allowed to call the storefront paths. @default ['*'] */
  readonly corsOrigins?: string[];
}

export class TokenBrokerStack extends Stack {
  readonly table: Table;
  readonly secrets: BrokerSecrets;
  readonly functions: Readonly<Record<BrokerFunctionName, NodejsFunction>>;
  readonly api: BrokerApi;
  readonly warmup: WarmupSchedule;

  constructor(scope: Construct, id: string, props: TokenBrokerStackProps = {}) {
    super(scope, id, props);

    this.table = new TokenTable(this, 'Storage').table;
    this.secrets = new BrokerSecrets(this, 'Secrets');
    this.functions = new BrokerFunctions(this, 'Functions', {
      table: this.table,
      secrets: { clientSecrets: this.secrets.clientSecrets, keys: this.secrets.keys, signingKeys: this.secrets.signingKeys },
      // The functions need ISSUER (functions/config.ts). Until the stack has an issuer property,
      // it is the API's own URL, the same value the ApiUrl output names. Lazy: the API is built
      // after the functions, and its URL does not depend on them, so there is no cycle.
      issuer: Lazy.string({ produce: () => this.api.api.apiEndpoint }),
    }).functions;
    this.api = new BrokerApi(this, 'Http', {
      routeHandlers: this.functions,
      fallback: this.functions.fallback,
      rateLimit: props.rateLimit,
      burstLimit: props.burstLimit,
      corsOrigins: props.corsOrigins,
    });
    this.warmup = new WarmupSchedule(this, 'Warmup', { handler: this.functions.warmup });

    // The seed CLI finds the deployed resources by these output keys: keep them stable.
    // The $default stage serves at the API's root; apiEndpoint has no trailing slash, so
    // `${ApiUrl}/oauth/token` is a valid URL and equals the issuer discovery reports.
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.apiEndpoint, description: 'Base URL of the broker' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'ClientSecretsArn', { value: this.secrets.clientSecrets.secretArn });
    new CfnOutput(this, 'KeysSecretArn', { value: this.secrets.keys.secretArn });
    new CfnOutput(this, 'SigningKeysSecretArn', { value: this.secrets.signingKeys.secretArn });
  }
}
