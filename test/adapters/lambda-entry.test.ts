import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { ConfigError } from '../../functions/config.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import { oauthFunctionEnv, tokenRequestEvent } from '../support/lambda-event.js';

/**
 * The Lambda entries exactly as CDK bundles them: configuration read at cold start, DynamoDB reached
 * through the SDK's endpoint variable (dynalite here), Secrets Manager mocked (only AWS has it).
 */

const sm = mockClient(SecretsManagerClient);
let dynamo: EmbeddedDynamoDb;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb(undefined);
  await new DynamoDbStore(dynamo.client, dynamo.tableName).putServiceClient({
    clientId: 'orders-svc',
    tenant: 'acme',
    scopes: ['order.order_read'],
    warmup: false,
    profile: 'emporix',
  });
});

afterAll(() => dynamo.close());

afterEach(() => {
  process.env = { ...savedEnv };
  sm.reset();
  vi.resetModules();
});

describe('the Lambda entries (oauth, storefront, discovery)', () => {
  it('fails its cold start loudly when a variable is missing', async () => {
    delete process.env.TABLE_NAME;
    await expect(import('../../functions/entry-points/oauth.js')).rejects.toThrow(ConfigError);
  });

  it('fails the storefront function’s cold start without its signing-key secret', async () => {
    process.env.TABLE_NAME = 'table';
    delete process.env.SIGNING_KEYS_SECRET_ID;
    await expect(import('../../functions/entry-points/storefront.js')).rejects.toThrow(/SIGNING_KEYS_SECRET_ID is required/);
  });

  it.each(['oauth', 'warmup'] as const)(
    'fails the %s cold start without the signing key or ISSUER (it signs JWT access tokens)',
    async (name) => {
      const entry = () =>
        name === 'oauth' ? import('../../functions/entry-points/oauth.js') : import('../../functions/entry-points/warmup.js');
      Object.assign(process.env, oauthFunctionEnv(dynamo));
      delete process.env.SIGNING_KEYS_SECRET_ID;
      await expect(entry()).rejects.toThrow(/SIGNING_KEYS_SECRET_ID is required/);
      vi.resetModules();
      Object.assign(process.env, oauthFunctionEnv(dynamo));
      delete process.env.ISSUER;
      await expect(entry()).rejects.toThrow(/ISSUER is required/);
    },
  );

  it('fails the discovery and storefront cold starts without a valid ISSUER', async () => {
    Object.assign(process.env, { TABLE_NAME: 'table', SIGNING_KEYS_SECRET_ID: 'signing' });
    delete process.env.ISSUER;
    await expect(import('../../functions/entry-points/discovery.js')).rejects.toThrow(/ISSUER is required/);
    vi.resetModules();
    await expect(import('../../functions/entry-points/storefront.js')).rejects.toThrow(/ISSUER is required/);
    vi.resetModules();
    process.env.ISSUER = 'https://login.example.com/';
    await expect(import('../../functions/entry-points/discovery.js')).rejects.toThrow(/ISSUER must not end with a slash/);
  });

  it('answers discovery with the configured issuer, whatever Host and X-Forwarded-Proto say', async () => {
    Object.assign(process.env, oauthFunctionEnv(dynamo), { ISSUER: 'https://login.example.com' });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../functions/entry-points/discovery.js');
    const event = tokenRequestEvent('');
    Object.assign(event, {
      routeKey: 'GET /.well-known/oauth-authorization-server',
      rawPath: '/.well-known/oauth-authorization-server',
      body: undefined,
    });
    event.requestContext.http.method = 'GET';
    event.headers = { host: 'evil.example', 'x-forwarded-proto': 'http' };
    event.requestContext.domainName = 'evil.example';
    const result = await handler(event);
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body as string);
    expect(body.issuer).toBe('https://login.example.com');
    expect(body.token_endpoint).toBe('https://login.example.com/oauth/token');
  });

  it('issues a service token from DynamoDB and Secrets Manager as configured', async () => {
    Object.assign(process.env, oauthFunctionEnv(dynamo));
    sm.on(GetSecretValueCommand, { SecretId: 'clients', VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: JSON.stringify({ 'orders-svc': 'orders-secret-0001' }),
    });
    sm.on(GetSecretValueCommand, { SecretId: 'clients', VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: '{}' });
    sm.on(GetSecretValueCommand, { SecretId: 'keys' }).resolves({ SecretString: JSON.stringify({ cacheKey: 'c'.repeat(64) }) });
    // The functions write their lines straight to stdout (functions/log.ts), as Lambda reads them.
    const logs = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    const { handler } = await import('../../functions/entry-points/oauth.js');
    const result = await handler(tokenRequestEvent('grant_type=client_credentials&client_id=orders-svc&client_secret=orders-secret-0001'));

    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache', 'Content-Type': 'application/json' });
    const body = JSON.parse(result.body as string);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 14399, scope: 'order.order_read tenant=acme' });
    const logged = logs.mock.calls.map((call) => String(call[0])).join('\n');
    expect(logged).toContain('"status":200');
    expect(logged).not.toContain(body.access_token);
    expect(logged).not.toContain('orders-secret-0001');
  });
});
