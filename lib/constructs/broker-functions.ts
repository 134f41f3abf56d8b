import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { FunctionName } from '../../functions/http/routes.js';
import { WARMUP_INTERVAL } from './warmup-schedule.js';

/** Every function the stack deploys: the routed ones, the `$default` fallback and the warm-up. */
export type BrokerFunctionName = FunctionName | 'fallback' | 'warmup';

type SecretName = 'clientSecrets' | 'keys' | 'signingKeys';

interface FunctionSpec {
  /** File under `functions/lambda/` that exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Exactly the DynamoDB actions the code issues; absent: no TABLE_NAME and no table access. */
  readonly tableActions?: readonly string[];
  /** Secrets the function reads (any stage); each comes with its id in the environment. */
  readonly secrets?: readonly SecretName[];
  readonly environment?: Readonly<Record<string, string>>;
  /** Gets ISSUER: the function names the issuer (metadata, saas_token `iss`). */
  readonly issuer?: boolean;
}

/** CommonJS dependencies call `require`, which an ES module does not have; every bundle starts with this. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __topLevelCreateRequire } from 'node:module'; " +
  'const require = __topLevelCreateRequire(import.meta.url);';

/** Share of a service token's life after which the cache mints anew (contract section 3). */
const SERVICE_TOKEN_REUSE_SHARE = '0.5';

/**
 * One entry per function. Typed by `BrokerFunctionName`, so a function added to the route table
 * does not compile until it has an entry here.
 */
const FUNCTIONS: Record<BrokerFunctionName, FunctionSpec> = {
  oauth: {
    entry: 'oauth.ts',
    description: 'token-broker: POST /oauth/token, /oauth/introspect, /oauth/revoke',
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    secrets: ['clientSecrets', 'keys'],
    environment: { SERVICE_TOKEN_REUSE_SHARE },
  },
  discovery: {
    entry: 'discovery.ts',
    description: 'token-broker: GET /.well-known/* (public metadata and keys)',
    // The published public keys live in the table; the private ones are out of its reach.
    tableActions: ['dynamodb:GetItem'],
    issuer: true,
  },
  storefront: {
    entry: 'storefront.ts',
    description: 'token-broker: storefront paths (anonymous and customer tokens)',
    // BatchGetItem: login reads session, customer and failure count in one round trip.
    tableActions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    secrets: ['signingKeys'],
    issuer: true,
  },
  fallback: {
    entry: 'fallback.ts',
    description: 'token-broker: $default route, JSON 404/405',
  },
  warmup: {
    entry: 'warmup.ts',
    description: 'token-broker: scheduled warm-up of cached service tokens',
    tableActions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem'],
    secrets: ['clientSecrets', 'keys'],
    environment: { SERVICE_TOKEN_REUSE_SHARE, WARMUP_INTERVAL_SECONDS: String(WARMUP_INTERVAL.toSeconds()) },
  },
};

const SECRET_ENV: Record<SecretName, string> = {
  clientSecrets: 'CLIENT_SECRETS_ID',
  keys: 'KEYS_SECRET_ID',
  signingKeys: 'SIGNING_KEYS_SECRET_ID',
};

const projectFile = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

export interface BrokerFunctionsProps {
  readonly table: ITable;
  readonly secrets: Readonly<Record<SecretName, ISecret>>;
  /** The issuer URL (functions/config.ts validates it at cold start); never the request's Host. */
  readonly issuer: string;
}

export class BrokerFunctions extends Construct {
  readonly functions: Readonly<Record<BrokerFunctionName, NodejsFunction>>;

  constructor(scope: Construct, id: string, props: BrokerFunctionsProps) {
    super(scope, id);
    const entries = Object.entries(FUNCTIONS) as [BrokerFunctionName, FunctionSpec][];
    this.functions = Object.fromEntries(
      entries.map(([name, spec]) => [name, this.create(name, spec, props)]),
    ) as Record<BrokerFunctionName, NodejsFunction>;
  }

  private create(name: BrokerFunctionName, spec: FunctionSpec, props: BrokerFunctionsProps): NodejsFunction {
    const scope = new Construct(this, name);
    const logGroup = new LogGroup(scope, 'Logs', { retention: RetentionDays.ONE_MONTH });
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
    if (spec.tableActions) environment.TABLE_NAME = props.table.tableName;
    if (spec.issuer) environment.ISSUER = props.issuer;
    for (const secret of spec.secrets ?? []) environment[SECRET_ENV[secret]] = props.secrets[secret].secretArn;

    const fn = new NodejsFunction(scope, 'Function', {
      entry: projectFile(`functions/lambda/${spec.entry}`),
      projectRoot: projectFile(''),
      depsLockFilePath: projectFile('package-lock.json'),
      handler: 'handler',
      description: spec.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      // Above the worst case of the SDK's per-call budget (functions/lambda/aws-deps.ts) times
      // the calls one request makes, so a stalled store ends as the broker's 503 with
      // Retry-After, never as a Lambda timeout (which API Gateway would turn into a 500).
      timeout: Duration.seconds(25),
      role,
      logGroup,
      environment,
      bundling: {
        minify: true,
        format: OutputFormat.ESM,
        sourceMap: true,
        // Stack traces need only the mappings; the sources would double the asset.
        sourcesContent: false,
        target: 'node22',
        // Bundle the AWS SDK too: one pinned, tested version, and a faster cold start than
        // loading the runtime's copy.
        externalModules: [],
        banner: ESM_REQUIRE_BANNER,
        mainFields: ['module', 'main'],
        // Bundle with the project's esbuild; no Docker needed.
        forceDockerBundling: false,
      },
    });

    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is pinned on purpose (bundles target node22, tests run on it); moving to a newer ' +
        'runtime is a deliberate change, not something a new Lambda release should force.',
    });

    if (spec.tableActions) props.table.grant(fn, ...spec.tableActions);
    for (const secret of spec.secrets ?? []) props.secrets[secret].grantRead(fn);
    return fn;
  }
}
