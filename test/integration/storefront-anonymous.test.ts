import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { INVALID_REFRESH, selectorOf, Storefront } from '../support/storefront.js';

/** Contract section 1: anonymous tokens for storefronts, over HTTP against local mode. */

let broker: TestBroker;
let storefront: Storefront;

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
});

afterAll(() => broker.stop());

describe('anonymous login', () => {
  it('creates a session and answers with the contract’s fields and values', async () => {
    const { status, headers, body } = await storefront.anonymousLogin({ currency: 'EUR', siteCode: 'main', language: 'de' });
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('pragma')).toBe('no-cache');
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      token_type: 'Bearer',
      expires_in: 3599,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      refresh_token_expires_in: 86399,
      sessionId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      scope: 'tenant=acme',
    });
    expect(body.refresh_token).not.toBe(body.access_token);
  });

  it('keeps the session’s currency, site and language', async () => {
    const { body } = await storefront.anonymousLogin({ currency: 'CHF', siteCode: 'ch', language: 'fr', targetLocation: 'CH' });
    const selector = selectorOf(body.access_token);
    const session = await broker.storefront.sessions.findSession(selector);
    expect(session?.context).toEqual({ currency: 'CHF', siteCode: 'ch', language: 'fr', targetLocation: 'CH' });
  });

  it('refuses a client not registered for the tenant, including another tenant’s client', async () => {
    for (const client of [new Storefront(broker.url, 'acme', 'unknown-web'), new Storefront(broker.url, 'acme', 'globex-web')]) {
      const { status, body } = await client.anonymousLogin();
      expect(status).toBe(401);
      expect(body).toEqual({ fault: { faultstring: 'Invalid ApiKey', detail: { errorcode: 'oauth.v2.InvalidApiKey' } } });
    }
  });

  it('refuses a malformed or missing tenant and a missing client_id with 400 and the field', async () => {
    const badTenant = await new Storefront(broker.url, 'ACME!').anonymousLogin();
    expect(badTenant.status).toBe(400);
    expect(badTenant.body).toMatchObject({ status: 400, type: 'bad_request', details: [{ field: 'tenant', type: 'invalid' }] });
    const noClient = await fetch(`${broker.url}/customerlogin/auth/anonymous/login?tenant=acme`);
    expect(noClient.status).toBe(400);
    expect(await noClient.json()).toMatchObject({ details: [{ field: 'client_id', type: 'required' }] });
  });
});

describe('anonymous refresh', () => {
  it('keeps the sessionId and rotates both tokens', async () => {
    const first = (await storefront.anonymousLogin()).body;
    broker.clock.advance(60);
    const { status, body } = await storefront.anonymousRefresh({ refresh_token: first.refresh_token });
    expect(status).toBe(200);
    expect(body).toMatchObject({ sessionId: first.sessionId, expires_in: 3599, refresh_token_expires_in: 86399, scope: 'tenant=acme' });
    expect(body.access_token).not.toBe(first.access_token);
    expect(body.refresh_token).not.toBe(first.refresh_token);
  });

  it('refuses a refresh token of another storefront client or another tenant', async () => {
    const first = (await storefront.anonymousLogin()).body;
    const otherClient = await new Storefront(broker.url, 'acme', 'other-web').anonymousRefresh({ refresh_token: first.refresh_token });
    expect(otherClient).toMatchObject({ status: 401, body: INVALID_REFRESH });
    const otherTenant = await new Storefront(broker.url, 'globex', 'storefront-web').anonymousRefresh({
      refresh_token: first.refresh_token,
    });
    expect(otherTenant).toMatchObject({ status: 401, body: INVALID_REFRESH });
    // Neither refused attempt consumed it.
    expect((await storefront.anonymousRefresh({ refresh_token: first.refresh_token })).status).toBe(200);
  });

  it('refuses garbage and a missing refresh token', async () => {
    expect(await storefront.anonymousRefresh({ refresh_token: 'garbage' })).toMatchObject({ status: 401, body: INVALID_REFRESH });
    const missing = await storefront.anonymousRefresh({});
    expect(missing.status).toBe(400);
    expect(missing.body.details).toEqual([{ field: 'refresh_token', type: 'required', message: 'refresh_token is required' }]);
  });

  it('accepts the deprecated anonymous_token form with a Deprecation header and no refresh fields', async () => {
    const first = (await storefront.anonymousLogin()).body;
    const { status, headers, body } = await storefront.anonymousRefresh({ anonymous_token: first.access_token });
    expect(status).toBe(200);
    expect(headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      token_type: 'Bearer',
      expires_in: 3599,
      sessionId: first.sessionId,
      scope: 'tenant=acme',
    });
    // The refresh token was left untouched and still works.
    expect((await storefront.anonymousRefresh({ refresh_token: first.refresh_token })).body.sessionId).toBe(first.sessionId);
  });

  it('refuses the anonymous_token form for an unknown token', async () => {
    const { status } = await storefront.anonymousRefresh({ anonymous_token: 'A'.repeat(64) });
    expect(status).toBe(401);
  });
});

/**
 * Contract section 1: Emporix's own storefronts send the tenant as `hybris-tenant` (the B2B
 * showcase's very first call), on both anonymous routes.
 */
describe('hybris-tenant on the anonymous routes', () => {
  const login = (query: Record<string, string> | string) =>
    fetch(`${broker.url}/customerlogin/auth/anonymous/login?${new URLSearchParams(query)}`).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, any>,
    }));
  const refresh = (query: Record<string, string> | string) =>
    fetch(`${broker.url}/customerlogin/auth/anonymous/refresh?${new URLSearchParams(query)}`).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, any>,
    }));

  it('starts a session of the tenant named only by hybris-tenant', async () => {
    const { status, body } = await login({ client_id: 'storefront-web', 'hybris-tenant': 'acme' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, scope: 'tenant=acme' });
    // The session is acme's: a customer login on acme carries it over.
    const customer = await storefront.login(body.access_token, 'ann@example.com', 'correct-horse');
    expect(customer.status).toBe(200);
    expect(customer.body.session_id).toBe(body.sessionId);
  });

  it('accepts tenant and hybris-tenant together when they agree', async () => {
    const { status, body } = await login({ tenant: 'acme', client_id: 'storefront-web', 'hybris-tenant': 'acme' });
    expect(status).toBe(200);
    expect(body.scope).toBe('tenant=acme');
  });

  it('checks the storefront client against the hybris-tenant', async () => {
    expect((await login({ client_id: 'globex-web', 'hybris-tenant': 'globex' })).body.scope).toBe('tenant=globex');
    const foreign = await login({ client_id: 'globex-web', 'hybris-tenant': 'acme' });
    expect(foreign.status).toBe(401);
  });

  it('refuses tenant and hybris-tenant naming different tenants, naming the field', async () => {
    for (const send of [login, refresh]) {
      const { status, body } = await send({ tenant: 'acme', client_id: 'storefront-web', 'hybris-tenant': 'globex', refresh_token: 'x' });
      expect(status).toBe(400);
      expect(body).toMatchObject({ status: 400, type: 'bad_request', details: [{ field: 'hybris-tenant', type: 'conflict' }] });
    }
  });

  it('refuses a malformed, over-long or repeated hybris-tenant with 400 naming it', async () => {
    for (const send of [login, refresh]) {
      for (const bad of ['ACME!', 'ab', `a${'b'.repeat(5000)}`, 'acme\u0000']) {
        const { status, body } = await send({ client_id: 'storefront-web', 'hybris-tenant': bad, refresh_token: 'x' });
        expect(status).toBe(400);
        expect(body).toMatchObject({ status: 400, type: 'bad_request', details: [{ field: 'hybris-tenant', type: 'invalid' }] });
      }
      const repeated = await send('client_id=storefront-web&hybris-tenant=acme&hybris-tenant=acme&refresh_token=x');
      expect(repeated.status).toBe(400);
      expect(repeated.body).toMatchObject({ status: 400, type: 'bad_request' });
    }
  });

  it('refreshes with hybris-tenant, keeping the session, in both refresh forms', async () => {
    const first = (await storefront.anonymousLogin()).body;
    const rotated = await refresh({ client_id: 'storefront-web', 'hybris-tenant': 'acme', refresh_token: first.refresh_token });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ sessionId: first.sessionId, scope: 'tenant=acme' });
    const renewed = await refresh({ client_id: 'storefront-web', 'hybris-tenant': 'acme', anonymous_token: rotated.body.access_token });
    expect(renewed.status).toBe(200);
    expect(renewed.body.sessionId).toBe(first.sessionId);
  });

  it('does not let hybris-tenant carry a refresh token to another tenant', async () => {
    const first = (await storefront.anonymousLogin()).body;
    const foreign = await refresh({ client_id: 'globex-web', 'hybris-tenant': 'globex', refresh_token: first.refresh_token });
    expect(foreign).toMatchObject({ status: 401, body: INVALID_REFRESH });
  });
});
