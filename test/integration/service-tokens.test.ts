import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmUp } from '../../functions/use-cases/service-tokens.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';

/**
 * Service tokens and their validation, driven over HTTP against local mode by oauth4webapi, a
 * strict RFC 6749 / 7662 / 7009 / 8414 client.
 */

let broker: TestBroker;
let as: oauth.AuthorizationServer;
const insecure = { [oauth.allowInsecureRequests]: true } as const;

const reports: oauth.Client = { client_id: 'reports-svc' };
const globex: oauth.Client = { client_id: 'globex-svc' };

beforeAll(async () => {
  broker = await startTestBroker();
  const issuer = new URL(broker.url);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
});

afterAll(() => broker.stop());

async function serviceToken(client: oauth.Client, secret: string, scope?: string, auth = oauth.ClientSecretPost) {
  const params = new URLSearchParams(scope ? { scope } : {});
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth(secret), params, insecure);
  return oauth.processClientCredentialsResponse(as, client, response);
}

async function introspectAs(client: oauth.Client, secret: string, token: string) {
  const response = await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(secret), token, insecure);
  return oauth.processIntrospectionResponse(as, client, response);
}

describe('discovery (RFC 8414)', () => {
  it('lists the endpoints, the grants and the client authentication methods that work', () => {
    expect(as.issuer).toBe(broker.url);
    expect(as.authorization_endpoint).toBe(`${broker.url}/oauth/authorize`);
    expect(as.token_endpoint).toBe(`${broker.url}/oauth/token`);
    expect(as.introspection_endpoint).toBe(`${broker.url}/oauth/introspect`);
    expect(as.revocation_endpoint).toBe(`${broker.url}/oauth/revoke`);
    expect(as.jwks_uri).toBe(`${broker.url}/.well-known/jwks.json`);
    expect(as.grant_types_supported).toEqual(['client_credentials', 'authorization_code', 'refresh_token']);
    expect(as.response_types_supported).toEqual(['code']);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    // `none` for public app clients at the token endpoint only; introspection and revocation take a secret.
    expect(as.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
    expect(as.introspection_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(as.revocation_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
  });

  it('serves the public half of the signing key, and never its private part', async () => {
    const response = await fetch(`${broker.url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    const { keys } = (await response.json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    expect(keys[0]).not.toHaveProperty('d');
  });
});

describe('client_credentials with a strict client (oauth2 profile)', () => {
  it('issues a token for all of the client’s scopes plus the tenant, by client_secret_post', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports);
    expect(token.token_type).toBe('bearer'); // oauth4webapi lower-cases it
    expect(token.access_token).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(token.scope).toBe('order.order_read tenant=acme');
    expect(token.expires_in).toBeGreaterThan(0);
    expect(token.expires_in).toBeLessThanOrEqual(1000);
    expect(token.refresh_token).toBeUndefined();
  });

  it('authenticates by client_secret_basic as well', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports, 'order.order_read', oauth.ClientSecretBasic);
    expect(token.scope).toBe('order.order_read tenant=acme');
  });

  it('answers a wrong secret with invalid_client, which the client surfaces as an error', async () => {
    await expect(serviceToken(reports, 'not-the-secret')).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
  });

  it('refuses scopes outside the client’s with invalid_scope', async () => {
    await expect(serviceToken(reports, TEST_SECRETS.reports, 'order.order_manage')).rejects.toMatchObject({
      error: 'invalid_scope',
      status: 400,
    });
  });
});

describe('the emporix profile (the default)', () => {
  it('answers with the Emporix fields and values of contract section 3', async () => {
    const response = await fetch(`${broker.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'orders-svc',
        client_secret: TEST_SECRETS.orders,
        scope: 'order.order_read',
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    const body = await response.json();
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      token_type: 'Bearer',
      expires_in: 1000,
      refresh_token: '',
      refresh_token_expires_in: 0,
      session_idle_time: 120,
      scope: 'order.order_read tenant=acme',
    });
  });

  it('is what strict clients reject, which is why the oauth2 profile exists', async () => {
    const orders: oauth.Client = { client_id: 'orders-svc' };
    await expect(serviceToken(orders, TEST_SECRETS.orders)).rejects.toBeInstanceOf(oauth.OperationProcessingError);
  });
});

describe('the service-token cache', () => {
  it('hands the same client the same token for the same scopes, with the true remaining lifetime', async () => {
    const first = await serviceToken(reports, TEST_SECRETS.reports, 'order.order_read');
    broker.clock.advance(100);
    const second = await serviceToken(reports, TEST_SECRETS.reports, 'order.order_read');
    expect(second.access_token).toBe(first.access_token);
    expect(second.expires_in).toBe((first.expires_in as number) - 100);
  });

  it('mints a new token once the cached one has used half its life', async () => {
    const first = await serviceToken(reports, TEST_SECRETS.reports);
    broker.clock.advance(Math.ceil((first.expires_in as number) / 2) + 1);
    const second = await serviceToken(reports, TEST_SECRETS.reports);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.expires_in).toBe(1000);
  });

  it('is renewed ahead of time by the warm-up for clients marked warmup', async () => {
    const token = async () => {
      const response = await fetch(`${broker.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`orders-svc:${TEST_SECRETS.orders}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      return (await response.json()) as { access_token: string; expires_in: number };
    };
    const before = await token();
    // Still fresh now, but it would be past half its life before the next run in 300 s.
    broker.clock.advance(before.expires_in - 600);
    const report = await warmUp(broker.deps, 300);
    expect(report.refreshed).toEqual(['orders-svc']);
    const after = await token();
    expect(after.access_token).not.toBe(before.access_token);
    expect(after.expires_in).toBe(1000);
  });
});

describe('introspection (RFC 7662)', () => {
  it('describes a live token of the caller’s tenant', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports);
    const claims = await introspectAs(reports, TEST_SECRETS.reports, token.access_token);
    expect(claims).toMatchObject({
      active: true,
      scope: 'order.order_read tenant=acme',
      client_id: 'reports-svc',
      token_type: 'Bearer',
      sub: 'reports-svc',
      tenant: 'acme',
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(1000);
  });

  it('reports a token of another tenant as inactive and nothing else', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports);
    expect(await introspectAs(globex, TEST_SECRETS.globex, token.access_token)).toEqual({ active: false });
  });

  it('reports unknown, malformed and expired tokens as inactive', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports);
    expect(await introspectAs(reports, TEST_SECRETS.reports, 'x'.repeat(64))).toEqual({ active: false });
    expect(await introspectAs(reports, TEST_SECRETS.reports, 'not a token')).toEqual({ active: false });
    // Same selector, forged verifier: found by key, refused by hash.
    const forged = token.access_token.slice(0, 40) + 'A'.repeat(24);
    expect(await introspectAs(reports, TEST_SECRETS.reports, forged)).toEqual({ active: false });
    broker.clock.advance(1001);
    expect(await introspectAs(reports, TEST_SECRETS.reports, token.access_token)).toEqual({ active: false });
  });

  it('requires an authenticated caller', async () => {
    const response = await fetch(`${broker.url}/oauth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=abc',
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication required' });
  });
});

describe('revocation (RFC 7009)', () => {
  it('ends a token and takes it out of the cache', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, reports, oauth.ClientSecretPost(TEST_SECRETS.reports), token.access_token, insecure),
    );
    expect(await introspectAs(reports, TEST_SECRETS.reports, token.access_token)).toEqual({ active: false });
    const next = await serviceToken(reports, TEST_SECRETS.reports);
    expect(next.access_token).not.toBe(token.access_token);
  });

  it('answers 200 for an unknown token, and leaves another tenant’s token alone', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports);
    for (const candidate of ['unknown-token', token.access_token]) {
      const response = await oauth.revocationRequest(as, globex, oauth.ClientSecretPost(TEST_SECRETS.globex), candidate, insecure);
      expect(response.status).toBe(200);
    }
    expect(await introspectAs(reports, TEST_SECRETS.reports, token.access_token)).toMatchObject({ active: true });
  });
});

describe('logs', () => {
  it('never contain an issued token or a seeded secret', async () => {
    const token = await serviceToken(reports, TEST_SECRETS.reports);
    await introspectAs(reports, TEST_SECRETS.reports, token.access_token);
    expect(broker.logLines.length).toBeGreaterThan(10);
    const everything = broker.logLines.join('\n');
    for (const secret of [token.access_token, ...Object.values(TEST_SECRETS)]) {
      expect(everything).not.toContain(secret);
    }
  });
});
