import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULTS } from '../../functions/config.js';
import { TABLE_GRANTS, type BrokerFunctionName, type KeyPattern, type TableAction } from './table-grants.js';
import { WARMUP_INTERVAL } from './warmup-schedule.js';

export type { BrokerFunctionName } from './table-grants.js';

type SecretName = 'clientSecrets' | 'keys' | 'signingKeys' | 'identityProviderSecrets';

interface FunctionSpec {
  /** File under `functions/entry-points/` that exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Secrets the function reads (any stage); each comes with its id in the environment. */
  readonly secrets?: readonly SecretName[];
  readonly environment?: Readonly<Record<string, string>>;
}

/** CommonJS dependencies call `require`, which an ES module does not have; every bundle starts with this. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __topLevelCreateRequire } from 'node:module'; " + 'const require = __topLevelCreateRequire(import.meta.url);';

/** Share of a service token's life after which the cache mints anew (contract section 3; functions/config.ts DEFAULTS). */
const SERVICE_TOKEN_REUSE_SHARE = String(DEFAULTS.serviceTokenReuseShare);

/** How long a warm oauth instance serves a cached service token from memory (issue 13; config.ts DEFAULTS). */
const SERVICE_TOKEN_NEAR_CACHE_SECONDS = String(DEFAULTS.serviceTokenNearCacheSeconds);

/**
 * One entry per function. Typed by `BrokerFunctionName`, so a function added to the route table
 * does not compile until it has an entry here.
 */
const FUNCTIONS: Record<BrokerFunctionName, FunctionSpec> = {
  oauth: {
    entry: 'oauth.ts',
    description: 'token-broker: POST /oauth/token, /oauth/introspect, /oauth/revoke',
    // The signing key signs the JWT access tokens of `accessTokenFormat: jwt` clients (contract section 9).
    secrets: ['clientSecrets', 'keys', 'signingKeys'],
    environment: { SERVICE_TOKEN_REUSE_SHARE, SERVICE_TOKEN_NEAR_CACHE_SECONDS },
  },
  discovery: {
    entry: 'discovery.ts',
    description: 'token-broker: GET /.well-known/* (public metadata and keys)',
    // The published public keys live in the table; the private ones are out of its reach.
  },
  storefront: {
    entry: 'storefront.ts',
    description: 'token-broker: storefront paths (anonymous and customer tokens)',
    secrets: ['signingKeys'],
  },
  federation: {
    entry: 'federation.ts',
    description: 'token-broker: POST /customer/{tenant}/socialLogin and /exchangeauthtoken (federated customers)',
    // The saas_token's signing key, and the identity providers' client secrets: the only function
    // that reads those (it is the only one that calls providers).
    secrets: ['signingKeys', 'identityProviderSecrets'],
  },
  signup: {
    entry: 'signup.ts',
    description: 'token-broker: POST /customer/{tenant}/signup, GET .../signup/optin/{token}, POST .../signup/optin/refresh_token',
    // The saas_token's signing key (the link logs in). Sending mail: see the stack (SES identity).
    secrets: ['signingKeys'],
  },
  authorize: {
    entry: 'authorize.ts',
    description: 'token-broker: GET/POST /oauth/authorize (authorization request and sign-in page)',
    // A code is a random token stored as a hash: nothing to sign, no secret to read.
  },
  fallback: {
    entry: 'fallback.ts',
    description: 'token-broker: $default route, JSON 404/405',
  },
  warmup: {
    entry: 'warmup.ts',
    description: 'token-broker: scheduled warm-up of cached service tokens',
    // The cache key seals what it mints, the signing key signs the JWTs of `warmup` clients with
    // JWT access tokens (use-cases/service-tokens.ts warmUp); it authenticates no client, so no client secrets.
    secrets: ['keys', 'signingKeys'],
    environment: { SERVICE_TOKEN_REUSE_SHARE, WARMUP_INTERVAL_SECONDS: String(WARMUP_INTERVAL.toSeconds()) },
  },
};

const SECRET_ENV: Record<SecretName, string> = {
  clientSecrets: 'CLIENT_SECRETS_ID',
  keys: 'KEYS_SECRET_ID',
  signingKeys: 'SIGNING_KEYS_SECRET_ID',
  identityProviderSecrets: 'IDENTITY_PROVIDER_SECRETS_ID',
};

const projectFile = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

/**
 * Reserved concurrency per function: each function can use this much of the account's
 * concurrency and never more, so a flood on one (login's scrypt, a scanner on `$default`) cannot
 * take the concurrency `/oauth/token` needs. Why these numbers: README, "Deploy".
 */
export const DEFAULT_RESERVED_CONCURRENCY: Readonly<Record<BrokerFunctionName, number>> = {
  oauth: 200,
  storefront: 200,
  // Room for the sign-in throttle (50 per second) at ~1.4 s of scrypt each: about 70 at once.
  authorize: 100,
  // The only function that calls out (identity providers, one 5 s budget per request): a slow
  // provider holds an instance up to 5 s, so it fills this and never the storefront's 200. At a
  // provider's usual ~0.5 s it serves both federated routes' login throttle (2 x 50/s) with room;
  // at the full budget about 20 federated logins a second get through and the rest wait.
  federation: 100,
  // scrypt per signup (~1.4 s) behind the signup route's own throttle and the per-source counter.
  signup: 50,
  discovery: 20,
  fallback: 10,
  warmup: 2,
};

/**
 * The Lambda runtime and the bundle's esbuild target, kept together: the newest Node.js runtime
 * aws-cdk-lib offers (cdk-nag's Serverless-LambdaLatestVersion checks against that list). The
 * handlers are async functions, as Node.js 24 requires (it dropped callback-style handlers).
 * bench/cold-start.ts bundles with the same target.
 */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const BUNDLE_TARGET = 'node24';

/** How the functions log; the stack's props, with these defaults (README, "Deploy"). */
export interface FunctionLogging {
  /**
   * Lambda's application log level (JSON log format): lines of a lower level are dropped by
   * Lambda before they reach CloudWatch Logs. @default INFO
   */
  readonly applicationLogLevel?: ApplicationLogLevel;
  /**
   * Lambda's system log level: at WARN (the default) the platform's START, END and REPORT lines
   * (INFO) are not written, only its warnings and errors (timeouts, crashes). INFO brings back
   * REPORT (duration, memory, init duration). @default WARN
   */
  readonly systemLogLevel?: SystemLogLevel;
  /** Retention of every function's log group. @default ONE_MONTH (30 days) */
  readonly logRetention?: RetentionDays;
}

export const DEFAULT_FUNCTION_LOGGING = {
  applicationLogLevel: ApplicationLogLevel.INFO,
  systemLogLevel: SystemLogLevel.WARN,
  logRetention: RetentionDays.ONE_MONTH,
} as const satisfies Required<FunctionLogging>;

/**
 * Memory per function, from the cost model of `npm run bench` (README, "Measured": "Cost model by
 * memory size"; bench/cost.ts costByMemory). Lambda gives CPU in proportion to memory, so a
 * CPU-bound millisecond costs the same at every size below one vCPU (1,769 MB), while the time a
 * request waits (its DynamoDB calls, the rounding to 1 ms) is billed per MB: the smallest size
 * measured, 256 MB, is cheapest for every row (service tokens cached and minted, introspection, a
 * storefront session). So 256 MB where no password is hashed. The functions that run scrypt
 * (N=2^17, r=8: a 128 MiB block per hash, functions/domain/passwords.ts) stay at 512 MB: at 256 MB
 * the block would leave too little room beside Node and the bundle, and login would take ~3 s
 * instead of ~1.5 s for under 1% less per session. The price of 256 MB is latency where CPU
 * dominates: a cold start's imports (~45 ms on a full core) stretch by the same 1769/256.
 */
export const DEFAULT_MEMORY_MB: Readonly<Record<BrokerFunctionName, number>> = {
  oauth: 256,
  discovery: 256,
  federation: 256,
  fallback: 256,
  warmup: 256,
  // scrypt: customer login (storefront), the sign-in page (authorize), a new customer's hash (signup).
  storefront: 512,
  authorize: 512,
  signup: 512,
};

export interface BrokerFunctionsProps extends FunctionLogging {
  readonly table: ITable;
  readonly secrets: Readonly<Record<SecretName, ISecret>>;
  /** Overrides of {@link DEFAULT_RESERVED_CONCURRENCY}, per function. */
  readonly reservedConcurrency?: Partial<Record<BrokerFunctionName, number>>;
  /** Lambda active tracing (X-Ray) on every function; README "Deploy" says why it is off by default. @default false */
  readonly tracing?: boolean;
}

/** Synchronous invocations have no dead-letter queue to fill: the caller gets the error. */
const SYNCHRONOUS_DLQ_REASON =
  'Only API Gateway invokes this function, synchronously: a failure is answered to the client (a 500, counted by ' +
  'the HTTP API 5xx alarm and the per-function Errors alarm), so there is no event to keep. A dead-letter queue ' +
  'only receives asynchronous invocations.';

/** Why tracing is off unless the `tracing` prop turns it on. */
export const TRACING_OFF_REASON =
  'Active tracing is a stack property (`tracing`), off by default: without the X-Ray SDK (kept out of the bundles ' +
  'for cold start) a trace shows only the Lambda service segments (initialization, invocation, overhead), which ' +
  'the Duration metrics and the request line already give, while X-Ray bills each recorded trace (default sampling ' +
  'of 1 request a second plus 5 %); turn it on for an investigation.';

export class BrokerFunctions extends Construct {
  readonly functions: Readonly<Record<BrokerFunctionName, NodejsFunction>>;

  constructor(scope: Construct, id: string, props: BrokerFunctionsProps) {
    super(scope, id);
    const entries = Object.entries(FUNCTIONS) as [BrokerFunctionName, FunctionSpec][];
    this.functions = Object.fromEntries(entries.map(([name, spec]) => [name, this.create(name, spec, props)])) as Record<
      BrokerFunctionName,
      NodejsFunction
    >;
  }

  private create(name: BrokerFunctionName, spec: FunctionSpec, props: BrokerFunctionsProps): NodejsFunction {
    const scope = new Construct(this, name);
    const logGroup = new LogGroup(scope, 'Logs', { retention: props.logRetention ?? DEFAULT_FUNCTION_LOGGING.logRetention });
    // An own role instead of AWSLambdaBasicExecutionRole: that managed policy lets a function
    // write to any log group in the account; this one may write only to its own.
    const role = new Role(scope, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `token-broker ${name} function`,
    });
    logGroup.grantWrite(role);

    const environment: Record<string, string> = {
      NODE_OPTIONS: '--enable-source-maps',
      ...spec.environment,
    };
    const grants = Object.entries(TABLE_GRANTS[name]) as [TableAction, readonly KeyPattern[]][];
    if (grants.length > 0) environment.TABLE_NAME = props.table.tableName;
    for (const secret of spec.secrets ?? []) environment[SECRET_ENV[secret]] = props.secrets[secret].secretArn;

    const fn = new NodejsFunction(scope, 'Function', {
      entry: projectFile(`functions/entry-points/${spec.entry}`),
      projectRoot: projectFile(''),
      depsLockFilePath: projectFile('package-lock.json'),
      handler: 'handler',
      description: spec.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: DEFAULT_MEMORY_MB[name],
      // Above the worst case of the SDK's per-call budget (functions/entry-points/aws-sources.ts) times
      // the calls one request makes, so a stalled store ends as the broker's 503 with
      // Retry-After, never as a Lambda timeout (which API Gateway would turn into a 500).
      timeout: Duration.seconds(25),
      reservedConcurrentExecutions: props.reservedConcurrency?.[name] ?? DEFAULT_RESERVED_CONCURRENCY[name],
      role,
      logGroup,
      // Lambda's JSON log format: the platform's lines are JSON and Lambda filters by level, the
      // application's by the `level` field of its JSON lines (functions/log.ts).
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: props.applicationLogLevel ?? DEFAULT_FUNCTION_LOGGING.applicationLogLevel,
      systemLogLevelV2: props.systemLogLevel ?? DEFAULT_FUNCTION_LOGGING.systemLogLevel,
      ...(props.tracing ? { tracing: Tracing.ACTIVE } : {}),
      environment,
      bundling: {
        minify: true,
        format: OutputFormat.ESM,
        sourceMap: true,
        // Stack traces need only the mappings; the sources would double the asset.
        sourcesContent: false,
        target: BUNDLE_TARGET,
        // Bundle the AWS SDK too: one pinned, tested version, and a faster cold start than
        // loading the runtime's copy.
        externalModules: [],
        banner: ESM_REQUIRE_BANNER,
        mainFields: ['module', 'main'],
        // Bundle with the project's esbuild; no Docker needed.
        forceDockerBundling: false,
      },
    });

    if (name !== 'warmup') Validations.of(fn).acknowledge({ id: 'Serverless-LambdaDLQ', reason: SYNCHRONOUS_DLQ_REASON });
    if (!props.tracing) Validations.of(fn).acknowledge({ id: 'Serverless-LambdaTracing', reason: TRACING_OFF_REASON });
    // Only with tracing on, so a wildcard resource in any other statement is still reported.
    else
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords on "*": X-Ray has no resource-level ' +
          'permissions for them. The statement is present only while the `tracing` stack property is on.',
      });

    for (const [action, keys] of grants) role.addToPolicy(tableStatement(props.table, action, keys));
    for (const secret of spec.secrets ?? []) props.secrets[secret].grantRead(fn);
    return fn;
  }
}

/**
 * One action on the table, limited to the partition keys it may name. StringLike also matches the
 * exact keys (a pattern without `*` matches only itself); StringEquals where no pattern has one.
 */
function tableStatement(table: ITable, action: TableAction, keys: readonly KeyPattern[]): PolicyStatement {
  if (keys.length === 0) throw new Error(`grant of dynamodb:${action} names no partition key`);
  const operator = keys.some((k) => k.includes('*')) ? 'ForAllValues:StringLike' : 'ForAllValues:StringEquals';
  return new PolicyStatement({
    effect: Effect.ALLOW,
    actions: [`dynamodb:${action}`],
    resources: [table.tableArn],
    conditions: { [operator]: { 'dynamodb:LeadingKeys': [...keys] } },
  });
}
