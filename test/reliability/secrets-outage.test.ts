import { GetSecretValueCommand, InternalServiceError, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import { oauthFunctionEnv, tokenRequestEvent } from '../support/lambda-event.js';

/**
 * Issue 4, Secrets Manager outage, on the oauth Lambda entry exactly as CDK bundles it
 * (configuration read at import, DynamoDB on dynalite through AWS_ENDPOINT_URL_DYNAMODB, Secrets
 * Manager mocked). The broker keeps client secrets 300 s and the cache key 3600 s in memory
 * (`systemClock` = Date.now() in seconds); Date alone is faked so those lifetimes can pass.
 *
 *  1. warm: one request succeeds with Secrets Manager up;
 *  2. outage: every GetSecretValue fails; the warm function still issues tokens, cached and newly
 *     minted, after both in-memory lifetimes have passed, and it did try Secrets Manager again;
 *  3. a cold start during the outage answers 503, Retry-After, RFC 6749 `temporarily_unavailable`;
 *  4. Secrets Manager answers again: that same function (no new cold start) issues tokens.
 */

const sm = mockClient(SecretsManagerClient);
let dynamo: EmbeddedDynamoDb;
const savedEnv = { ...process.env };
let logs: string[] = [];
type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const SECRETS = { 'orders-svc': 'orders-secret-0001' };
const CACHE_KEY = 'c'.repeat(64);

function secretsManagerUp() {
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: 'clients', VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify(SECRETS) });
  sm.on(GetSecretValueCommand, { SecretId: 'clients', VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: '{}' });
  sm.on(GetSecretValueCommand, { SecretId: 'keys' }).resolves({ SecretString: JSON.stringify({ cacheKey: CACHE_KEY }) });
}

function secretsManagerDown() {
  sm.reset();
  sm.on(GetSecretValueCommand).rejects(
    new InternalServiceError({ message: 'Secrets Manager is having a bad day', $metadata: { httpStatusCode: 500 } }),
  );
}

async function coldStart(): Promise<Handler> {
  vi.resetModules();
  const { handler } = await import('../../functions/entry-points/oauth.js');
  return handler as Handler;
}

const tokenRequest = (scope?: string) =>
  tokenRequestEvent(
    `grant_type=client_credentials&client_id=orders-svc&client_secret=${SECRETS['orders-svc']}${scope ? `&scope=${encodeURIComponent(scope)}` : ''}`,
  );

function parsed(result: APIGatewayProxyStructuredResultV2) {
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body as string) as Record<string, unknown> };
}

const advance = (seconds: number) => vi.setSystemTime(Date.now() + seconds * 1000);

beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb(undefined);
  await new DynamoDbStore(dynamo.client, dynamo.tableName).putServiceClient({
    clientId: 'orders-svc',
    tenant: 'acme',
    scopes: ['order.order_read', 'order.order_manage'],
    warmup: false,
    profile: 'emporix',
  });
  Object.assign(process.env, oauthFunctionEnv(dynamo));
  // The functions write their lines straight to stdout (functions/log.ts), as Lambda reads them.
  vi.spyOn(process.stdout, 'write').mockImplementation((line: unknown) => {
    logs.push(String(line));
    return true;
  });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
});

afterAll(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  process.env = { ...savedEnv };
  sm.restore();
  vi.resetModules();
  await dynamo.close();
});

describe('a Secrets Manager outage', () => {
  let warm: Handler;
  let cachedToken: string;

  it('warm: the first request loads the secrets and issues a token', async () => {
    secretsManagerUp();
    warm = await coldStart();
    const first = parsed(await warm(tokenRequest('order.order_read')));
    expect(first.status).toBe(200);
    cachedToken = first.body.access_token as string;
    expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(0);
  });

  it('a warm function keeps issuing tokens while every Secrets Manager call fails, past both in-memory lifetimes', async () => {
    secretsManagerDown();
    logs = [];

    // Inside the 300 s secret lifetime: nothing is asked of Secrets Manager.
    const cached = parsed(await warm(tokenRequest('order.order_read')));
    expect(cached).toMatchObject({ status: 200, body: { access_token: cachedToken } });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);

    // Past the client-secret lifetime: the reload fails, the last good secrets keep serving.
    advance(301);
    const afterSecretTtl = parsed(await warm(tokenRequest('order.order_read')));
    expect(afterSecretTtl).toMatchObject({ status: 200, body: { access_token: cachedToken } });
    expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(0);
    expect(logs.some((line) => line.includes('serving cached secret after a failed reload'))).toBe(true);

    // Past the cache key's lifetime too, and a scope never asked for: a new token is minted and
    // sealed into the cache with the last good key.
    advance(3600);
    const minted = parsed(await warm(tokenRequest('order.order_manage')));
    expect(minted.status).toBe(200);
    expect(minted.body).toMatchObject({ token_type: 'Bearer', scope: 'order.order_manage tenant=acme' });
    expect(minted.body.access_token).not.toBe(cachedToken);
    // ... and the cached one is still served from the cache (unsealed with that same key).
    const again = parsed(await warm(tokenRequest('order.order_manage')));
    expect(again).toMatchObject({ status: 200, body: { access_token: minted.body.access_token } });

    // Long after: still serving, still retrying Secrets Manager now and then.
    const callsBefore = sm.commandCalls(GetSecretValueCommand).length;
    advance(7200);
    expect(parsed(await warm(tokenRequest())).status).toBe(200);
    expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(callsBefore);

    // A wrong secret is still refused: serving stale secrets does not mean accepting anything.
    const wrong = parsed(await warm(tokenRequestEvent('grant_type=client_credentials&client_id=orders-svc&client_secret=not-the-secret')));
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  let cold: Handler;

  it('a cold start during the outage answers 503 with Retry-After in the RFC 6749 shape', async () => {
    cold = await coldStart();
    expect(cold).not.toBe(warm);
    const result = parsed(await cold(tokenRequest('order.order_read')));
    expect(result.status).toBe(503);
    expect(result.headers).toMatchObject({ 'Retry-After': expect.stringMatching(/^[1-9][0-9]*$/), 'Content-Type': 'application/json' });
    expect(result.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expect(Object.keys(result.body).sort()).toEqual(['error', 'error_description']);
    expect(logs.some((line) => line.includes('dependency unavailable'))).toBe(true);
  });

  it('recovers once Secrets Manager answers again, without a new cold start', async () => {
    secretsManagerUp();
    const result = parsed(await cold(tokenRequest('order.order_read')));
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ token_type: 'Bearer', scope: 'order.order_read tenant=acme' });
    // And the warm function reloads at its next retry (30 s after the last failed one) and serves.
    const callsBefore = sm.commandCalls(GetSecretValueCommand).length;
    advance(31);
    expect(parsed(await warm(tokenRequest('order.order_read'))).status).toBe(200);
    expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(callsBefore);
  });
});
