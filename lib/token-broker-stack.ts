import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import { AlarmTopic } from './constructs/alarm-topic.js';
import { BrokerAlarms, type AlarmThresholds } from './constructs/broker-alarms.js';
import { BrokerApi } from './constructs/broker-api.js';
import { BrokerDashboard } from './constructs/broker-dashboard.js';
import { BrokerFunctions, DEFAULT_FUNCTION_LOGGING, type BrokerFunctionName } from './constructs/broker-functions.js';
import { BrokerSecrets } from './constructs/broker-secrets.js';
import { grantSendMailFrom, mailIdentity, mailIdentityArn } from './constructs/mail-identity.js';
import { TokenTable } from './constructs/token-table.js';
import { WarmupSchedule } from './constructs/warmup-schedule.js';

export interface TokenBrokerStackProps extends StackProps {
  /** Stage throttling, requests per second. @default 1000 */
  readonly rateLimit?: number;
  /** Stage throttling burst. @default 2000 */
  readonly burstLimit?: number;
  /** Browser origins allowed to call the storefront paths. @default ['*'] */
  readonly corsOrigins?: string[];
  /**
   * Customer login's own throttle (`POST /customer/{tenant}/login`, and the sign-in page's
   * `POST /oauth/authorize`, each route with its own bucket), below the stage's: each login
   * costs ~1.4 s of Lambda. @default 50 requests per second
   */
  readonly loginRateLimit?: number;
  /** Customer login's burst bucket. @default 50 */
  readonly loginBurstLimit?: number;
  /**
   * Reserved concurrency per function; a function left out keeps its default
   * (`DEFAULT_RESERVED_CONCURRENCY`: oauth 200, storefront 200, authorize 100, discovery 20, fallback 10, warmup 2).
   */
  readonly reservedConcurrency?: Partial<Record<BrokerFunctionName, number>>;
  /**
   * The issuer: `iss` of every saas_token and JWT access token and the base of the discovery metadata's URLs. Set it
   * when a custom domain fronts the API. @default the HTTP API's endpoint (`ApiUrl`)
   */
  readonly issuer?: string;
  /**
   * The verified SES identity signup mail is sent from: a domain (`acme.example`) or an address
   * (`no-reply@acme.example`). The mail-sending function may send from it only (`grantSendMail`);
   * tenants' `mail.from` must be at it. @default none: no function may send mail (signup answers 503)
   */
  readonly mailFromIdentity?: string;
  /**
   * An e-mail address subscribed to the alarm topic (`AlarmTopic`): every alarm and its return to
   * OK. SNS mails a confirmation link first. @default none: subscribe to the topic yourself
   */
  readonly alarmEmail?: string;
  /** Alarm thresholds; the ones left out keep `DEFAULT_ALARM_THRESHOLDS` (lib/constructs/broker-alarms.ts). */
  readonly alarmThresholds?: Partial<AlarmThresholds>;
  /** Lambda's application log level for every function (JSON log format). @default INFO */
  readonly applicationLogLevel?: ApplicationLogLevel;
  /** Lambda's system log level: WARN drops the platform's START/END/REPORT lines. @default WARN */
  readonly systemLogLevel?: SystemLogLevel;
  /** Retention of every log group the stack creates. @default 30 days */
  readonly logRetentionDays?: RetentionDays;
  /** Lambda active tracing (X-Ray) on every function. @default false (README "Deploy" says why) */
  readonly tracing?: boolean;
  /** API Gateway's access log (a line per request, a log group of its own). @default false */
  readonly apiAccessLogs?: boolean;
}

export class TokenBrokerStack extends Stack {
  readonly table: Table;
  readonly secrets: BrokerSecrets;
  readonly functions: Readonly<Record<BrokerFunctionName, NodejsFunction>>;
  readonly api: BrokerApi;
  readonly warmup: WarmupSchedule;
  readonly alarmTopic: AlarmTopic;
  readonly alarms: BrokerAlarms;
  readonly dashboard: BrokerDashboard;
  /** The SES identity mail is sent from (props.mailFromIdentity), checked; undefined when none. */
  readonly mailFromIdentity?: string;

  constructor(scope: Construct, id: string, props: TokenBrokerStackProps = {}) {
    super(scope, id, props);

    if (props.mailFromIdentity !== undefined) this.mailFromIdentity = mailIdentity(props.mailFromIdentity).identity;
    const logRetention = props.logRetentionDays ?? DEFAULT_FUNCTION_LOGGING.logRetention;
    this.table = new TokenTable(this, 'Storage').table;
    this.secrets = new BrokerSecrets(this, 'Secrets');
    this.functions = new BrokerFunctions(this, 'Functions', {
      table: this.table,
      secrets: {
        clientSecrets: this.secrets.clientSecrets,
        keys: this.secrets.keys,
        signingKeys: this.secrets.signingKeys,
        identityProviderSecrets: this.secrets.identityProviderSecrets,
      },
      reservedConcurrency: props.reservedConcurrency,
      applicationLogLevel: props.applicationLogLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention,
      tracing: props.tracing,
    }).functions;
    this.api = new BrokerApi(this, 'Http', {
      routeHandlers: this.functions,
      fallback: this.functions.fallback,
      rateLimit: props.rateLimit,
      burstLimit: props.burstLimit,
      corsOrigins: props.corsOrigins,
      loginRateLimit: props.loginRateLimit,
      loginBurstLimit: props.loginBurstLimit,
      accessLogs: props.apiAccessLogs,
      logRetention,
    });
    // Fixed at deploy time, never taken from a request's Host header (metadata poisoning). Added
    // after the API exists: the variable references the HttpApi resource only, while the API's
    // integrations reference the functions, so no dependency cycle arises.
    const issuer = props.issuer ?? this.api.api.apiEndpoint;
    // The warm-up signs JWT access tokens too (contract section 9), so it needs the `iss` as well;
    // the sign-in page names it in its form and in every redirect (RFC 9207); the federated
    // logins sign saas_tokens.
    for (const name of ['oauth', 'discovery', 'storefront', 'warmup', 'authorize', 'federation', 'signup'] as const)
      this.functions[name].addEnvironment('ISSUER', issuer);
    this.warmup = new WarmupSchedule(this, 'Warmup', { handler: this.functions.warmup });
    // Signup (contract section 11) is the one function that sends mail, from the stack's identity only.
    this.grantSendMail(this.functions.signup);

    // Operating it: alarms to one topic, and one dashboard (README, "Alarms and dashboard").
    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', props.alarmEmail === undefined ? {} : { alarmEmail: props.alarmEmail });
    this.alarms = new BrokerAlarms(this, 'Alarms', {
      api: this.api.api,
      functions: this.functions,
      table: this.table,
      warmupDeadLetters: this.warmup.deadLetters,
      topic: this.alarmTopic.topic,
      ...(props.alarmThresholds ? { thresholds: props.alarmThresholds } : {}),
    });
    this.dashboard = new BrokerDashboard(this, 'Dashboard', {
      api: this.api.api,
      functions: this.functions,
      table: this.table,
      alarms: Object.values(this.alarms.alarms),
    });

    // The seed CLI finds the deployed resources by these output keys: keep them stable.
    // The $default stage serves at the API's root; apiEndpoint has no trailing slash, so
    // `${ApiUrl}/oauth/token` is a valid URL and equals the issuer discovery reports.
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.apiEndpoint, description: 'Base URL of the broker' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'ClientSecretsArn', { value: this.secrets.clientSecrets.secretArn });
    new CfnOutput(this, 'KeysSecretArn', { value: this.secrets.keys.secretArn });
    new CfnOutput(this, 'SigningKeysSecretArn', { value: this.secrets.signingKeys.secretArn });
    new CfnOutput(this, 'IdentityProviderSecretsArn', { value: this.secrets.identityProviderSecrets.secretArn });
    // Subscribe a pager or chat to it: `aws sns subscribe --topic-arn <AlarmTopicArn> ...`.
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topic.topicArn, description: 'Where the alarms go' });
    if (this.mailFromIdentity !== undefined) {
      new CfnOutput(this, 'MailFromIdentityArn', { value: mailIdentityArn(this, this.mailFromIdentity) });
    }
  }

  /**
   * Lets `fn` send mail through SES v2 from the stack's identity only (lib/constructs/mail-identity.ts);
   * without an identity it grants nothing, and a send fails (the API's 503). Returns whether it granted.
   */
  grantSendMail(fn: IGrantable & IConstruct): boolean {
    if (this.mailFromIdentity === undefined) return false;
    grantSendMailFrom(fn, this.mailFromIdentity);
    return true;
  }
}
