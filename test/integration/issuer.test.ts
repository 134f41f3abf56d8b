import { request as httpRequest } from 'node:http';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/**
 * Contract, conventions: the issuer comes from configuration, never from the request's Host or
 * X-Forwarded-* headers. Discovery is publicly cacheable, so a Host-derived issuer would let one
 * forged request poison what every client reads for five minutes.
 */

const FORGED = { host: 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };

/** node:http, because fetch will not send a Host header of the caller's choosing. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: any }>((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function forgedLogin(broker: TestBroker) {
  const anonymous = (await new Storefront(broker.url).anonymousLogin()).body;
  const login = await send(`${broker.url}/customer/acme/login`, {
    method: 'POST',
    headers: { ...FORGED, 'content-type': 'application/json', authorization: `Bearer ${anonymous.access_token}` },
    body: JSON.stringify({ email: 'ann@example.com', password: 'correct-horse' }),
  });
  expect(login.status).toBe(200);
  return decodeJwt(login.body.saas_token);
}

function expectMetadataOf(body: Record<string, unknown>, issuer: string) {
  expect(body).toMatchObject({
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
  });
  expect(JSON.stringify(body)).not.toContain('evil.example');
}

describe('local mode’s default issuer, http://HOST:PORT', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.stop());

  it('is the bound address, port included', () => {
    expect(broker.issuer).toBe(broker.url);
    expect(broker.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('is in the metadata whatever Host and X-Forwarded-Proto say', async () => {
    const metadata = await send(`${broker.url}/.well-known/oauth-authorization-server`, { headers: FORGED });
    expect(metadata.status).toBe(200);
    expectMetadataOf(metadata.body, broker.url);
  });

  it('is the saas_token’s iss whatever Host says', async () => {
    expect((await forgedLogin(broker)).iss).toBe(broker.url);
  });
});

describe('a configured issuer', () => {
  const issuer = 'https://login.acme.example';
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(testSeed(), { issuer });
  });
  afterAll(() => broker.stop());

  it('is in the metadata and the saas_token, not the address the broker listens on', async () => {
    const metadata = await send(`${broker.url}/.well-known/oauth-authorization-server`, { headers: FORGED });
    expectMetadataOf(metadata.body, issuer);
    expect((await forgedLogin(broker)).iss).toBe(issuer);
  });
});

describe('a malformed issuer', () => {
  it.each([
    'login.acme.example',
    'https://login.acme.example/',
    'ftp://login.acme.example',
    'https://LOGIN.acme.example',
    'https://x.example?a=1',
    // It goes into every JWT access token, whose length is bounded.
    `https://login.acme.example/${'a'.repeat(240)}`,
  ])('%s stops the start', async (issuer) => {
    await expect(startTestBroker(testSeed(), { issuer })).rejects.toThrow(/ISSUER/);
  });
});
