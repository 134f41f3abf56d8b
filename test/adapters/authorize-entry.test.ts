import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { resolveSettings } from '../../functions/domain/tenant.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import { CHALLENGE, SHOP_APP, withShopApp } from '../support/authorize.js';
import { httpEvent } from '../support/lambda-event.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed } from '../support/seed.js';

/**
 * The sign-in page as API Gateway gets it from the authorize Lambda entry (the bundle's handler,
 * configuration read at cold start, DynamoDB on dynalite), against the page local mode serves:
 * the same security headers in AWS as in local mode (contract section 8), and the CSRF cookie in
 * payload 2.0's `cookies` list, with `Secure` under the https issuer a stack has.
 */

const SECURITY_HEADERS = ['content-security-policy', 'x-frame-options', 'referrer-policy', 'x-content-type-options', 'cache-control'];
const query = new URLSearchParams({
  response_type: 'code',
  client_id: SHOP_APP.clientId,
  redirect_uri: 'http://127.0.0.1:45678/callback',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
  state: 'xyz',
});

let dynamo: EmbeddedDynamoDb;
let broker: TestBroker;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb(undefined);
  const store = new DynamoDbStore(dynamo.client, dynamo.tableName);
  await store.putTenant({ tenant: 'acme', settings: resolveSettings(undefined), storefrontClients: [] });
  await store.putAppClient(SHOP_APP);
  broker = await startTestBroker(withShopApp(testSeed()));
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await broker.stop();
  await dynamo.close();
});

describe('the sign-in page from the authorize Lambda entry', () => {
  it('carries the same security headers as local mode, and its cookie in payload 2.0’s cookies', async () => {
    Object.assign(process.env, {
      TABLE_NAME: dynamo.tableName,
      ISSUER: 'https://broker.example',
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    });
    vi.resetModules();
    const { handler } = await import('../../functions/entry-points/authorize.js');
    const lambda = await handler(httpEvent('GET', `/oauth/authorize?${query}`));
    const local = await fetch(`${broker.url}/oauth/authorize?${query}`);

    expect(lambda.statusCode).toBe(200);
    expect(local.status).toBe(200);
    const lambdaHeaders = Object.fromEntries(
      Object.entries(lambda.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
    );
    for (const name of SECURITY_HEADERS) expect([name, lambdaHeaders[name]]).toEqual([name, local.headers.get(name)]);
    expect(lambdaHeaders['content-type']).toMatch(/^text\/html/);
    expect(lambdaHeaders['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(lambdaHeaders['content-security-policy']).not.toContain('unsafe-inline');
    expect(lambdaHeaders['cache-control']).toBe('no-store');

    // A header map holds one Set-Cookie; payload 2.0 sends each of `cookies` as its own.
    expect(lambdaHeaders['set-cookie']).toBeUndefined();
    expect(lambda.cookies).toHaveLength(1);
    expect(lambda.cookies![0]).toMatch(
      /^tb_csrf=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/oauth\/authorize; HttpOnly; SameSite=Strict; Secure$/,
    );
    expect(local.headers.getSetCookie()[0]).toMatch(
      /^tb_csrf=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/oauth\/authorize; HttpOnly; SameSite=Strict$/,
    );
  });
});
