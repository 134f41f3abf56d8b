import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';

/** Every way to get a request wrong, answered in RFC 6749 section 5.2 shape and never with a 5xx. */

let broker: TestBroker;
let tokenUrl: string;

beforeAll(async () => {
  broker = await startTestBroker();
  tokenUrl = `${broker.url}/oauth/token`;
});

afterAll(() => broker.stop());

const good = { grant_type: 'client_credentials', client_id: 'reports-svc', client_secret: TEST_SECRETS.reports };

async function expectOAuthError(response: Response, status: number, error: string, description?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(response.headers.get('cache-control')).toBe('no-store');
  const body = (await response.json()) as Record<string, string>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  if (description) expect(body.error_description).toMatch(description);
}

describe('POST /oauth/token refuses', () => {
  it('a request without grant_type', async () => {
    const { grant_type: _, ...rest } = good;
    await expectOAuthError(await postForm(tokenUrl, rest), 400, 'invalid_request', /grant_type/);
  });

  it('a grant type it does not support', async () => {
    await expectOAuthError(await postForm(tokenUrl, { ...good, grant_type: 'password' }), 400, 'unsupported_grant_type');
  });

  it('a wrong secret by client_secret_post, without a Basic challenge', async () => {
    const response = await postForm(tokenUrl, { ...good, client_secret: 'wrong-secret' });
    expect(response.headers.get('www-authenticate')).toBeNull();
    await expectOAuthError(response, 401, 'invalid_client');
  });

  it('an unknown client exactly like a wrong secret', async () => {
    const unknown = await postForm(tokenUrl, { ...good, client_id: 'nobody' });
    const wrong = await postForm(tokenUrl, { ...good, client_secret: 'wrong-secret' });
    expect(await unknown.json()).toEqual(await wrong.json());
    expect(unknown.status).toBe(wrong.status);
  });

  it('a wrong secret by client_secret_basic, with a Basic challenge', async () => {
    const response = await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic('reports-svc', 'wrong') });
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    await expectOAuthError(response, 401, 'invalid_client');
  });

  it('malformed Basic credentials', async () => {
    for (const authorization of ['Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, 'Basic ']) {
      const response = await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization });
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
      await expectOAuthError(response, 401, 'invalid_client');
    }
  });

  it('two client authentication methods at once', async () => {
    const response = await postForm(tokenUrl, good, { authorization: basic('reports-svc', TEST_SECRETS.reports) });
    await expectOAuthError(response, 400, 'invalid_request', /one client authentication method/);
  });

  it('no client authentication at all', async () => {
    await expectOAuthError(await postForm(tokenUrl, { grant_type: 'client_credentials' }), 401, 'invalid_client');
  });

  it('a client secret in the query string', async () => {
    const response = await postForm(`${tokenUrl}?client_secret=${TEST_SECRETS.reports}`, good);
    await expectOAuthError(response, 400, 'invalid_request', /query string/);
  });

  it('a repeated parameter', async () => {
    const body = `${new URLSearchParams(good)}&scope=order.order_read&scope=order.order_read`;
    await expectOAuthError(await postForm(tokenUrl, body), 400, 'invalid_request', /scope is repeated/);
  });

  it('a scope outside the client’s, and a malformed one', async () => {
    await expectOAuthError(await postForm(tokenUrl, { ...good, scope: 'order.order_manage' }), 400, 'invalid_scope');
    await expectOAuthError(await postForm(tokenUrl, { ...good, scope: 'bad"scope' }), 400, 'invalid_scope');
  });

  it('an unsupported content type', async () => {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'grant_type=client_credentials',
    });
    await expectOAuthError(response, 400, 'invalid_request', /content type/);
  });

  it('malformed JSON, a JSON array and a JSON non-string value', async () => {
    for (const body of ['{"grant_type":', '["client_credentials"]', '{"grant_type":"client_credentials","client_id":42}']) {
      const response = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await expectOAuthError(response, 400, 'invalid_request');
    }
  });

  it('an oversized body, with 413', async () => {
    const response = await postForm(tokenUrl, { ...good, padding: 'x'.repeat(20_000) });
    await expectOAuthError(response, 413, 'invalid_request', /exceeds/);
  });

  it('a malformed tenant before touching storage, and a tenant the client does not belong to', async () => {
    await expectOAuthError(await postForm(`${tokenUrl}?tenant=Not_A_Tenant`, good), 400, 'invalid_request', /tenant/);
    await expectOAuthError(await postForm(`${tokenUrl}?tenant=globex`, good), 401, 'invalid_client');
  });

  it('accepts the client’s own tenant in the query', async () => {
    expect((await postForm(`${tokenUrl}?tenant=acme`, good)).status).toBe(200);
  });
});

describe('introspection and revocation refuse', () => {
  it('a request without a token', async () => {
    for (const path of ['/oauth/introspect', '/oauth/revoke']) {
      const response = await postForm(`${broker.url}${path}`, {}, { authorization: basic('reports-svc', TEST_SECRETS.reports) });
      await expectOAuthError(response, 400, 'invalid_request', /token is required/);
    }
  });

  it('an unauthenticated revocation', async () => {
    await expectOAuthError(await postForm(`${broker.url}/oauth/revoke`, { token: 'x' }), 401, 'invalid_client');
  });
});

describe('routing', () => {
  it('answers an unknown path with a JSON 404', async () => {
    const response = await fetch(`${broker.url}/no/such/path`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ status: 404, type: 'not_found', message: 'No route for GET /no/such/path', details: [] });
  });

  it('answers a known path with the wrong method with a JSON 405 and Allow', async () => {
    const response = await fetch(`${broker.url}/oauth/token`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    await expectOAuthError(response, 405, 'invalid_request', /DELETE is not allowed/);
  });

  it('frames each answer with Content-Length, as API Gateway does, not with chunks', async () => {
    const response = await postForm(tokenUrl, good);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toBeNull();
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
  });

  it('reads a body that arrives in several pieces', async () => {
    const body = new URLSearchParams(good).toString();
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(
        tokenUrl,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('error', reject);
      request.flushHeaders();
      // The second half goes out only after the broker has seen the first.
      request.write(body.slice(0, 20), () => setTimeout(() => request.end(body.slice(20)), 50));
    });
    expect(status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ token_type: 'Bearer' });
  });

  it('answers /health once the broker serves', async () => {
    const response = await fetch(`${broker.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('CORS, as the HTTP API answers it', () => {
  it('answers a browser preflight for a storefront path', async () => {
    const response = await fetch(`${broker.url}/customer/acme/login`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
  });

  it('lets the page read the answer and its Retry-After', async () => {
    const response = await fetch(`${broker.url}/no/such/path`, { headers: { origin: 'https://shop.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('retry-after');
  });
});
