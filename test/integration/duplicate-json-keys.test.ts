import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/** A JSON body that names a parameter twice is refused, as a repeated form parameter is (400). */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

afterAll(() => broker.stop());

const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${broker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('a repeated member in a JSON body', () => {
  it('is a 400 invalid_request at the token endpoint, not the last value silently used', async () => {
    const body = `{"grant_type":"client_credentials","client_id":"reports-svc","client_secret":"wrong-secret-0001","client_secret":"${TEST_SECRETS.reports}"}`;
    const response = await postJson('/oauth/token', body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_request', error_description: 'parameter client_secret is repeated' });
  });

  it('is recognised when the repeat is spelt with an escape', async () => {
    const body = `{"grant_type":"client_credentials","client_id":"reports-svc","client_secret":"${TEST_SECRETS.reports}","\\u0063lient_id":"orders-svc"}`;
    const response = await postJson('/oauth/token', body);
    expect(response.status).toBe(400);
  });

  it('is a 400 bad_request at customer login', async () => {
    const anonymous = (await new Storefront(broker.url).anonymousLogin()).body;
    const response = await postJson(
      '/customer/acme/login',
      '{"email":"someone@example.com","email":"ann@example.com","password":"correct-horse"}',
      { authorization: `Bearer ${anonymous.access_token}` },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ status: 400, type: 'bad_request', message: 'parameter email is repeated' });
  });

  it('leaves distinct members alone', async () => {
    const body = JSON.stringify({ grant_type: 'client_credentials', client_id: 'reports-svc', client_secret: TEST_SECRETS.reports });
    expect((await postJson('/oauth/token', body)).status).toBe(200);
  });
});
