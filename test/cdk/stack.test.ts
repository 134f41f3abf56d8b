import { readFileSync } from 'node:fs';
import { App, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/http/route-table.js';
import { buildApp } from '../../lib/app.js';
import { type BrokerFunctionName, DEFAULT_MEMORY_MB } from '../../lib/constructs/broker-functions.js';
import { TokenBrokerStack, type TokenBrokerStackProps } from '../../lib/token-broker-stack.js';

/** The same feature flags `cdk synth` uses, so the test checks what gets deployed. */
const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

type Json = Record<string, any>;

let app: App;
let stack: TokenBrokerStack;
let template: Template;
let resources: Record<string, Json>;

beforeAll(() => {
  // cdk-nag findings are asserted, and listed, by the cdk-nag test below instead of failing
  // every test at synthesis.
  const context = { ...cdkJson.context, [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false };
  ({ app, stack } = buildApp({ context }));
  // Template.fromStack refuses a template with a dependency cycle ("Template is undeployable"):
  // ISSUER, which references the API whose integrations reference the functions, is checked here.
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

describe('table', () => {
  it('follows TABLE_SCHEMA, is on-demand with TTL and PITR, and survives stack deletion and DeleteTable', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });
});

describe('secrets', () => {
  it('creates the client secrets empty and generates the cache key, both retained', () => {
    expect(resources[id(stack.secrets.clientSecrets)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { SecretString: '{}' },
    });
    expect(resources[id(stack.secrets.keys)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        GenerateSecretString: {
          SecretStringTemplate: '{}',
          GenerateStringKey: 'cacheKey',
          PasswordLength: 64,
          ExcludePunctuation: true,
        },
      },
    });
  });

  it('creates the signing-key secret with an empty key list, retained', () => {
    expect(resources[id(stack.secrets.signingKeys)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { SecretString: '{"keys":[]}' },
    });
  });
});

describe('functions', () => {
  const table = () => ({ Ref: id(stack.table) });
  const clientSecrets = () => ({ Ref: id(stack.secrets.clientSecrets) });
  const keys = () => ({ Ref: id(stack.secrets.keys) });
  const signingKeys = () => ({ Ref: id(stack.secrets.signingKeys) });
  const issuer = () => ({ 'Fn::GetAtt': [id(stack.api.api), 'ApiEndpoint'] });
  const expectedEnv: Record<BrokerFunctionName, () => Json> = {
    oauth: () => ({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: table(),
      CLIENT_SECRETS_ID: clientSecrets(),
      KEYS_SECRET_ID: keys(),
      SIGNING_KEYS_SECRET_ID: signingKeys(),
      SERVICE_TOKEN_REUSE_SHARE: '0.5',
      SERVICE_TOKEN_NEAR_CACHE_SECONDS: '5',
      ISSUER: issuer(),
    }),
    // No CLIENT_SECRETS_ID: the warm-up authenticates nobody. It signs JWT access tokens of warmup clients.
    warmup: () => ({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: table(),
      KEYS_SECRET_ID: keys(),
      SIGNING_KEYS_SECRET_ID: signingKeys(),
      SERVICE_TOKEN_REUSE_SHARE: '0.5',
      WARMUP_INTERVAL_SECONDS: '300',
      ISSUER: issuer(),
    }),
    discovery: () => ({ NODE_OPTIONS: '--enable-source-maps', TABLE_NAME: table(), ISSUER: issuer() }),
    storefront: () => ({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: table(),
      SIGNING_KEYS_SECRET_ID: signingKeys(),
      ISSUER: issuer(),
    }),
    // No secret at all: the sign-in page signs nothing and authenticates no client.
    authorize: () => ({ NODE_OPTIONS: '--enable-source-maps', TABLE_NAME: table(), ISSUER: issuer() }),
    // The saas_token's signing key and the providers' secrets; no client secrets, no cache key.
    federation: () => ({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: table(),
      SIGNING_KEYS_SECRET_ID: signingKeys(),
      IDENTITY_PROVIDER_SECRETS_ID: { Ref: id(stack.secrets.identityProviderSecrets) },
      ISSUER: issuer(),
    }),
    // The saas_token's signing key (the link logs in); no client secrets, no cache key.
    signup: () => ({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: table(),
      SIGNING_KEYS_SECRET_ID: signingKeys(),
      ISSUER: issuer(),
    }),
    fallback: () => ({ NODE_OPTIONS: '--enable-source-maps' }),
  };
  /**
   * Per function, per action, exactly the partition keys (IAM patterns) it may name. Written out
   * here, not imported from lib/constructs/table-grants.ts: this is the reviewed expectation.
   */
  const expectedTableGrants: Record<BrokerFunctionName, Record<string, string[]>> = {
    oauth: {
      'dynamodb:GetItem': ['T#*', 'CACHE#*', 'TENANT', 'CLIENT', 'APPCLIENT', 'AUTHZ#*'],
      'dynamodb:PutItem': ['T#*', 'CACHE#*', 'CSESS#*'],
      'dynamodb:UpdateItem': ['T#*', 'AUTHZ#*'],
      'dynamodb:DeleteItem': ['CACHE#*'],
    },
    storefront: {
      'dynamodb:GetItem': ['T#*', 'TENANT'],
      'dynamodb:BatchGetItem': ['T#*', 'CUST#*', 'LOCK#*'],
      'dynamodb:PutItem': ['T#*', 'CSESS#*'],
      'dynamodb:UpdateItem': ['T#*', 'LOCK#*'],
      'dynamodb:DeleteItem': ['LOCK#*'],
    },
    authorize: {
      'dynamodb:GetItem': ['TENANT', 'APPCLIENT', 'AUTHZ#*'],
      'dynamodb:BatchGetItem': ['CUST#*', 'LOCK#*'],
      'dynamodb:PutItem': ['AUTHZ#*', 'CSESS#*'],
      'dynamodb:UpdateItem': ['AUTHZ#*', 'LOCK#*'],
      'dynamodb:DeleteItem': ['LOCK#*'],
    },
    // The only function besides the seed that writes CUST#: password-less customers, pending signups discarded.
    federation: {
      'dynamodb:GetItem': ['T#*', 'TENANT'],
      'dynamodb:BatchGetItem': ['CUST#*', 'IDENT#*'],
      'dynamodb:PutItem': ['T#*', 'CSESS#*', 'CUST#*', 'IDENT#*'],
      'dynamodb:UpdateItem': ['T#*'],
      'dynamodb:DeleteItem': ['CUST#*'],
    },
    // Pending customers (conditional writes only), their links, the mail gate, the per-source counter.
    signup: {
      'dynamodb:GetItem': ['T#*', 'TENANT'],
      'dynamodb:BatchGetItem': ['OPTIN#*'],
      'dynamodb:PutItem': ['CUST#*', 'OPTIN#*', 'MAILGATE#*', 'T#*', 'CSESS#*'],
      'dynamodb:UpdateItem': ['CUST#*', 'SRC#*'],
      'dynamodb:DeleteItem': ['MAILGATE#*'],
    },
    discovery: { 'dynamodb:GetItem': ['JWKS'] },
    warmup: {
      'dynamodb:Query': ['CLIENT'],
      'dynamodb:GetItem': ['CACHE#*', 'TENANT'],
      'dynamodb:PutItem': ['T#*', 'CACHE#*'],
    },
    fallback: {},
  };
  const names = Object.keys(expectedEnv) as BrokerFunctionName[];

  it('deploys exactly the eight functions', () => {
    template.resourceCountIs('AWS::Lambda::Function', names.length);
    expect(Object.keys(stack.functions).sort()).toEqual([...names].sort());
  });

  // 512 MB where scrypt runs (its 128 MiB block), 256 MB elsewhere: the bench's cost model (DEFAULT_MEMORY_MB).
  const memoryMb: Record<BrokerFunctionName, number> = {
    oauth: 256,
    discovery: 256,
    federation: 256,
    fallback: 256,
    warmup: 256,
    storefront: 512,
    authorize: 512,
    signup: 512,
  };

  it.each(names)('%s: Node.js 24 on arm64, 256 MB (512 MB where scrypt runs), 25 s, ESM bundle, own log group', (name) => {
    expect(DEFAULT_MEMORY_MB[name]).toBe(memoryMb[name]);
    const fn = functionResource(name);
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: memoryMb[name],
      Timeout: 25,
      Handler: 'index.handler',
      LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
    });
    const logGroup = resources[fn.Properties.LoggingConfig.LogGroup.Ref]!;
    expect(logGroup).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
  });

  it.each(names)('%s: has exactly its environment', (name) => {
    expect(functionResource(name).Properties.Environment.Variables).toEqual(expectedEnv[name]());
  });

  it.each(names)('%s: may use exactly its DynamoDB actions, each on exactly its partition keys', (name) => {
    const dynamo = statementsOf(name).filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
    const granted: Record<string, string[]> = {};
    for (const statement of dynamo) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Resource).toEqual({ 'Fn::GetAtt': [id(stack.table), 'Arn'] });
      // Exactly one condition: every partition key the request names must match a pattern.
      const [operator, ...others] = Object.keys(statement.Condition ?? {});
      expect(others).toEqual([]);
      expect(['ForAllValues:StringLike', 'ForAllValues:StringEquals']).toContain(operator);
      expect(Object.keys(statement.Condition[operator!])).toEqual(['dynamodb:LeadingKeys']);
      const keys = [statement.Condition[operator!]['dynamodb:LeadingKeys']].flat() as string[];
      if (operator === 'ForAllValues:StringEquals') expect(keys.filter((k) => /[*?]/.test(k))).toEqual([]);
      for (const action of actions(statement)) {
        expect(granted[action], `${action} in two statements`).toBeUndefined();
        granted[action] = keys;
      }
    }
    const sorted = (grants: Record<string, string[]>) =>
      Object.fromEntries(Object.entries(grants).map(([action, keys]) => [action, [...keys].sort()]));
    expect(sorted(granted)).toEqual(sorted(expectedTableGrants[name]));
  });

  it('no function may Scan, or touch the table without a partition-key condition', () => {
    for (const name of names) {
      for (const statement of statementsOf(name).filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')))) {
        // ForAllValues over the empty key set of a Scan is true: a Scan grant would read everything.
        expect(
          actions(statement).filter((a) => /Scan|\*/.test(a)),
          name,
        ).toEqual([]);
        expect(JSON.stringify(statement.Condition ?? {}), name).toContain('dynamodb:LeadingKeys');
      }
    }
  });

  it('oauth: reads the client secrets, the cache key and the signing keys (JWT access tokens), any version stage', () => {
    const reads = statementsOf('oauth').filter((s) => actions(s).includes('secretsmanager:GetSecretValue'));
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Condition).toBeUndefined();
    expect(reads[0]!.Resource).toEqual([clientSecrets(), keys(), signingKeys()]);
  });

  it('warmup: reads the cache key and the signing keys (JWT access tokens of warmup clients), no client secret', () => {
    const reads = statementsOf('warmup').filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Resource).toEqual([keys(), signingKeys()]);
  });

  it('storefront: reads the signing keys and no other secret', () => {
    const reads = statementsOf('storefront').filter((s) => actions(s).includes('secretsmanager:GetSecretValue'));
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Resource).toEqual(signingKeys());
  });

  // Only the functions that sign: storefront (saas_token), oauth and warmup (JWT access tokens).
  it.each(['discovery', 'fallback'] as const)('%s: cannot read the private signing keys', (name) => {
    const resources = statementsOf(name)
      .filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')))
      .flatMap((s) => [s.Resource].flat());
    expect(resources).not.toContainEqual(signingKeys());
  });

  it('each function has its reserved concurrency: oauth 200, storefront 200, authorize 100, federation 100, signup 50, discovery 20, fallback 10, warmup 2', () => {
    const reserved = Object.fromEntries(names.map((name) => [name, functionResource(name).Properties.ReservedConcurrentExecutions]));
    expect(reserved).toEqual({
      oauth: 200,
      storefront: 200,
      authorize: 100,
      federation: 100,
      signup: 50,
      discovery: 20,
      fallback: 10,
      warmup: 2,
    });
    // The account keeps at least 100 unreserved out of its default 1000.
    expect(Object.values(reserved).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(900);
  });

  it('takes reserved concurrency from stack props, keeping the defaults of the others', () => {
    const other = unbundledStack({ reservedConcurrency: { storefront: 40, oauth: 500 } });
    const reserved = Object.fromEntries(
      names.map((name) => [name, resourceOf(other, other.functions[name]).Properties.ReservedConcurrentExecutions]),
    );
    expect(reserved).toEqual({
      oauth: 500,
      storefront: 40,
      authorize: 100,
      federation: 100,
      signup: 50,
      discovery: 20,
      fallback: 10,
      warmup: 2,
    });
  });

  it('ISSUER comes from the issuer stack prop when given', () => {
    const other = unbundledStack({ issuer: 'https://auth.example.com' });
    for (const name of ['oauth', 'discovery', 'storefront', 'warmup', 'authorize', 'federation', 'signup'] as const) {
      expect(resourceOf(other, other.functions[name]).Properties.Environment.Variables.ISSUER, name).toBe('https://auth.example.com');
    }
    expect(resourceOf(other, other.functions.fallback).Properties.Environment.Variables.ISSUER).toBeUndefined();
  });

  it.each(['discovery', 'authorize'] as const)('%s: holds no secret at all', (name) => {
    expect(
      statementsOf(name)
        .flatMap(actions)
        .filter((a) => a.startsWith('secretsmanager:')),
    ).toEqual([]);
  });

  it('fallback: has no DynamoDB or Secrets Manager permission', () => {
    const all = statementsOf('fallback').flatMap(actions);
    expect(all.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it.each(names)('%s: role has no managed policy and writes only its own log group', (name) => {
    const fn = functionResource(name);
    const role = resources[fn.Properties.Role['Fn::GetAtt'][0]]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const logs = statementsOf(name).filter((s) => actions(s).some((a) => a.startsWith('logs:')));
    expect(logs).toEqual([
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] },
      },
    ]);
  });
});

describe('HTTP API', () => {
  it('has a route for every entry of ROUTES and $default, each to its function', () => {
    const expected = [...ROUTES.map((r) => [`${r.method} ${r.path}`, r.fn] as const), ['$default', 'fallback'] as const];
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(expected.map(([key]) => key).sort());

    for (const [key, fn] of expected) {
      const route = routes.find((r) => r.Properties.RouteKey === key)!;
      const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref as string;
      expect(resources[integrationId]!.Properties, key).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [id(stack.functions[fn]), 'Arn'] },
      });
    }
  });

  it('lets API Gateway invoke exactly the routed functions', () => {
    const invoked = Object.values(template.findResources('AWS::Lambda::Permission'))
      .filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com')
      .map((p) => p.Properties.FunctionName['Fn::GetAtt'][0] as string);
    const routed = new Set([...ROUTES.map((r) => r.fn), 'fallback'] as BrokerFunctionName[]);
    expect(new Set(invoked)).toEqual(new Set([...routed].map((name) => id(stack.functions[name]))));
  });

  it('answers browser preflights for the storefront paths', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: ['authorization', 'content-type'],
        ExposeHeaders: ['deprecation', 'sunset', 'retry-after'],
      },
    });
  });

  it('has one $default stage, auto-deployed and throttled', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
  });

  it('throttles customer login, the sign-in form and the federated logins on their own, below the stage: 50 per second, burst 50', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    const keys = [
      'POST /customer/{tenant}/login',
      'POST /oauth/authorize',
      'POST /customer/{tenant}/socialLogin',
      'POST /customer/{tenant}/exchangeauthtoken',
    ];
    const signupKeys = ['POST /customer/{tenant}/signup', 'POST /customer/{tenant}/signup/optin/refresh_token'];
    expect(stage.Properties.RouteSettings).toEqual({
      ...Object.fromEntries(keys.map((key) => [key, { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 50 }])),
      // Signup and resend (contract section 11): scrypt and a mail each, their own lower throttle.
      ...Object.fromEntries(signupKeys.map((key) => [key, { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 }])),
    });
    // CloudFormation refuses route settings for a route it has not created yet.
    for (const key of [...keys, ...signupKeys]) {
      const route = Object.entries(template.findResources('AWS::ApiGatewayV2::Route')).find(([, r]) => r.Properties.RouteKey === key)![0];
      expect(stage.DependsOn, key).toContain(route);
    }
  });

  it('takes the login throttle from stack props', () => {
    const other = unbundledStack({ loginRateLimit: 7, loginBurstLimit: 9 });
    Template.fromStack(other).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: {
        'POST /customer/{tenant}/login': { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
        'POST /oauth/authorize': { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
        'POST /customer/{tenant}/socialLogin': { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
        'POST /customer/{tenant}/exchangeauthtoken': { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
      },
    });
  });

  it('has no access log by default (test/cdk/operations.test.ts: the apiAccessLogs prop)', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    expect(stage.Properties.AccessLogSettings).toBeUndefined();
  });

  it('takes its throttling from stack props', () => {
    const other = unbundledStack({ rateLimit: 5, burstLimit: 10 });
    Template.fromStack(other).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });
});

describe('warm-up schedule', () => {
  it('runs the warm-up function every 5 minutes, with retries, and keeps an event it could not deliver', () => {
    const deadLetters = { 'Fn::GetAtt': [id(stack.warmup.deadLetters), 'Arn'] };
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [id(stack.functions.warmup), 'Arn'] },
          Id: 'Target0',
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
          DeadLetterConfig: { Arn: deadLetters },
        },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [id(stack.functions.warmup), 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [id(stack.warmup.rule), 'Arn'] },
    });
  });

  it('retries a run that threw twice, within one interval, then puts it in the same dead-letter queue', () => {
    const deadLetters = { 'Fn::GetAtt': [id(stack.warmup.deadLetters), 'Arn'] };
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(stack.functions.warmup) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: { OnFailure: { Destination: deadLetters } },
    });
    // Only the warm-up may send there: its role (the destination) and the rule (EventBridge's DLQ).
    expect(statementsOf('warmup').filter((s) => actions(s).some((a) => a.startsWith('sqs:')))).toEqual([
      { Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Effect: 'Allow', Resource: deadLetters },
    ]);
    for (const name of (Object.keys(stack.functions) as BrokerFunctionName[]).filter((n) => n !== 'warmup')) {
      expect(
        statementsOf(name)
          .flatMap(actions)
          .filter((a) => a.startsWith('sqs:')),
        name,
      ).toEqual([]);
    }
    const queuePolicy = Object.values(template.findResources('AWS::SQS::QueuePolicy'))[0]!;
    expect(queuePolicy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id(stack.warmup.rule), 'Arn'] } } },
      }),
    );
  });

  it('keeps the dead letters 14 days, encrypted, over TLS only', () => {
    const queue = resources[id(stack.warmup.deadLetters)]!;
    expect(queue.Properties).toMatchObject({ MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
  });
});

describe('outputs', () => {
  it('are exactly the seven the seed CLI and operators read', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual([
      'AlarmTopicArn',
      'ApiUrl',
      'ClientSecretsArn',
      'IdentityProviderSecretsArn',
      'KeysSecretArn',
      'SigningKeysSecretArn',
      'TableName',
    ]);
    expect(outputs.IdentityProviderSecretsArn!.Value).toEqual({ Ref: id(stack.secrets.identityProviderSecrets) });
    expect(outputs.SigningKeysSecretArn!.Value).toEqual({ Ref: id(stack.secrets.signingKeys) });
    expect(outputs.TableName!.Value).toEqual({ Ref: id(stack.table) });
    expect(outputs.ClientSecretsArn!.Value).toEqual({ Ref: id(stack.secrets.clientSecrets) });
    expect(outputs.KeysSecretArn!.Value).toEqual({ Ref: id(stack.secrets.keys) });
    expect(outputs.AlarmTopicArn!.Value).toEqual({ Ref: id(stack.alarmTopic.topic) });
    // The API's own endpoint, without the stage URL's trailing slash.
    expect(outputs.ApiUrl!.Value).toEqual({ 'Fn::GetAtt': [id(stack.api.api), 'ApiEndpoint'] });
  });
});

describe('mail', () => {
  it('is sent by no function while the stack names no SES identity (the default)', () => {
    expect(stack.mailFromIdentity).toBeUndefined();
    expect(JSON.stringify(resources)).not.toContain('ses:');
    expect(template.toJSON().Outputs.MailFromIdentityArn).toBeUndefined();
  });
});

describe('cdk-nag (AwsSolutions and Serverless)', () => {
  const findings = (pack: AwsSolutionsChecks | ServerlessChecks, scope: IConstruct) =>
    pack
      .validateScope(scope)
      .violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.description} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );

  it.each([
    ['AwsSolutions', () => new AwsSolutionsChecks()],
    ['Serverless', () => new ServerlessChecks()],
  ])('%s finds nothing unacknowledged', (_, pack) => {
    expect(findings(pack(), app)).toEqual([]);
  });

  it('both run in the app as validation plugins, so cdk synth fails on a finding of either', () => {
    // The stage's plugin list (its one public reader is the deprecated Beta1 name).
    expect(app.policyValidationBeta1.map((p) => p.name).sort()).toEqual(['AwsSolutions', 'Serverless']);
  });

  it('both stay clean with every optional part on: alarm e-mail, tracing, access log, mail identity', () => {
    const context = {
      ...cdkJson.context,
      [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
      'aws:cdk:bundling-stacks': [],
      alarmEmail: 'ops@acme.example',
      tracing: 'true',
      apiAccessLogs: 'true',
      mailFromIdentity: 'acme.example',
    };
    const { app: other } = buildApp({ context });
    expect(findings(new AwsSolutionsChecks(), other)).toEqual([]);
    expect(findings(new ServerlessChecks(), other)).toEqual([]);
  });

  it('acknowledges only reviewed rules, on the resources they concern', () => {
    const acknowledged = collectAcknowledgements(app);
    expect(new Set(acknowledged.map((a) => a.rule))).toEqual(
      new Set([
        // Secrets rotated by the seed CLI, not a rotation Lambda (lib/constructs/broker-secrets.ts).
        'AwsSolutions-SMG4',
        // OAuth endpoints cannot sit behind an authorizer (lib/constructs/broker-api.ts).
        'AwsSolutions-APIG4',
        // The access log is a stack property, off by default (lib/constructs/broker-api.ts).
        'AwsSolutions-APIG1',
        'Serverless-APIGWAccessLogging',
        // API Gateway invokes synchronously; the warm-up has an on-failure destination (broker-functions.ts, warmup-schedule.ts).
        'Serverless-LambdaDLQ',
        // Tracing is a stack property, off by default (broker-functions.ts).
        'Serverless-LambdaTracing',
        // The warm-up's dead-letter queue is itself the end of the line (warmup-schedule.ts).
        'AwsSolutions-SQS3',
        'Serverless-SQSRedrivePolicy',
      ]),
    );
    // Never on the app or the whole stack, and always with a reason.
    for (const a of acknowledged) {
      expect(a.path.split('/').length, a.path).toBeGreaterThan(2);
      expect(a.reason.length, a.path).toBeGreaterThan(40);
    }
  });
});

// --- helpers ---------------------------------------------------------------------------------

function id(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

/** A stack with other props; bundling skipped, it is only inspected. */
function unbundledStack(props: TokenBrokerStackProps): TokenBrokerStack {
  return new TokenBrokerStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Other', props);
}

function resourceOf(owner: Stack, construct: IConstruct): Json {
  return Template.fromStack(owner).toJSON().Resources[id(construct)];
}

function functionResource(name: BrokerFunctionName): Json {
  return resources[id(stack.functions[name])]!;
}

/** Every statement of every inline policy attached to the function's role. */
function statementsOf(name: BrokerFunctionName): Json[] {
  const roleId = functionResource(name).Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function actions(statement: Json): string[] {
  return [statement.Action].flat();
}

function collectAcknowledgements(root: IConstruct): { path: string; rule: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([rule, reason]) => ({ path: c.node.path, rule: rule.replace(/^annotation::/i, ''), reason })),
  );
}
