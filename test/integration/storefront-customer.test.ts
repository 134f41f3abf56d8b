import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSeed } from '../../functions/seed/schema.js';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed, TEST_SECRETS } from '../support/seed.js';
import { EXPIRED_TOKEN, INVALID_REFRESH, INVALID_TOKEN, Storefront } from '../support/storefront.js';

/** Contract section 2: customer tokens, over HTTP against local mode. */

let broker: TestBroker;
let storefront: Storefront;

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
});

afterAll(() => broker.stop());

const WRONG_CREDENTIALS = { status: 401, type: 'unauthorized', message: 'Invalid email or password.', details: [] };

describe('customer login', () => {
  it('carries the anonymous session over and answers with the contract’s fields', async () => {
    const anonymous = (await storefront.anonymousLogin()).body;
    const { status, headers, body } = await storefront.login(anonymous.access_token, 'Ann@Example.com ', 'correct-horse');
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      saas_token: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/),
      token_type: 'Bearer',
      expires_in: 14399,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      refresh_token_expires_in: 86399,
      session_id: anonymous.sessionId,
      initialPassword: false,
    });
  });

  it('signs a saas_token that a downstream service verifies with jose and the JWKS alone', async () => {
    const { anonymous, login } = await storefront.customer();
    const jwks = createRemoteJWKSet(new URL(`${broker.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(login.saas_token, jwks, {
      issuer: broker.url,
      algorithms: ['ES256'],
      currentDate: new Date(broker.clock.now * 1000),
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    expect(payload).toMatchObject({
      iss: broker.url,
      sub: 'C-1001',
      tenant: 'acme',
      email: 'ann@example.com',
      sessionId: anonymous.sessionId,
      iat: broker.clock.now,
      exp: broker.clock.now + 14399,
    });
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    const wrongPassword = await storefront.login(anonymous, 'ann@example.com', 'not-her-password');
    const unknownEmail = await storefront.login(anonymous, 'nobody@example.com', 'correct-horse');
    expect(wrongPassword).toMatchObject({ status: 401, body: WRONG_CREDENTIALS });
    expect(unknownEmail).toMatchObject({ status: 401, body: WRONG_CREDENTIALS });
  });

  it('names the fields of a malformed request', async () => {
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    const short = await storefront.login(anonymous, 'ann@example.com', '12345');
    expect(short.status).toBe(400);
    expect(short.body).toMatchObject({ status: 400, type: 'bad_request', details: [{ field: 'password', type: 'invalid' }] });
    const noEmail = await storefront.login(anonymous, 'not-an-email', 'correct-horse');
    expect(noEmail.body.details).toEqual([{ field: 'email', type: 'invalid', message: 'not an email address' }]);
    const empty = await fetch(`${broker.url}/customer/acme/login`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anonymous}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(((await empty.json()) as { details: { field: string }[] }).details.map((d) => d.field)).toEqual(['email', 'password']);
  });

  it('needs a live anonymous token of the same tenant', async () => {
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    expect(await storefront.login(undefined, 'ann@example.com', 'correct-horse')).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.login('garbage', 'ann@example.com', 'correct-horse')).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.login(anonymous, 'ann@example.com', 'correct-horse', 'globex')).toMatchObject({
      status: 401,
      body: INVALID_TOKEN,
    });
    const customer = (await storefront.customer()).login.access_token;
    expect(await storefront.login(customer, 'ann@example.com', 'correct-horse')).toMatchObject({ status: 401, body: INVALID_TOKEN });
    broker.clock.advance(3600);
    expect(await storefront.login(anonymous, 'ann@example.com', 'correct-horse')).toMatchObject({ status: 401, body: EXPIRED_TOKEN });
  });
});

describe('login abuse', () => {
  async function attempt(email: string, password: string) {
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    return storefront.login(anonymous, email, password);
  }

  it('slows repeated failures, then locks the account for a while, without touching other accounts', async () => {
    for (let i = 0; i < 3; i++) expect((await attempt('bob@example.com', `guess-${i}`)).status).toBe(401);
    const slowed = await attempt('bob@example.com', 'guess-3');
    expect(slowed.status).toBe(429);
    expect(slowed.headers.get('retry-after')).toBe('2');
    expect(slowed.body).toMatchObject({ status: 429, type: 'too_many_requests' });

    broker.clock.advance(2);
    expect((await attempt('bob@example.com', 'guess-4')).status).toBe(401);
    broker.clock.advance(4);
    expect((await attempt('bob@example.com', 'guess-5')).status).toBe(401);
    const locked = await attempt('bob@example.com', 'guess-6');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('900');

    // Another account logs in while bob's is locked.
    expect((await attempt('ann@example.com', 'correct-horse')).status).toBe(200);

    broker.clock.advance(899);
    expect((await attempt('bob@example.com', 'guess-7')).headers.get('retry-after')).toBe('1');
    broker.clock.advance(1);
    expect((await attempt('bob@example.com', 'guess-8')).status).toBe(401);
  });

  it('locks a known account the same way, and the lock ends by itself', async () => {
    const seed = testSeed();
    seed.tenants.acme.customers.push({ email: 'cid@example.com', password: 'cids-password', customerNumber: 'C-2002', legalEntities: [] });
    await broker.reseed(parseSeed(JSON.stringify(seed)));
    for (let i = 0; i < 3; i++) {
      expect((await attempt('cid@example.com', 'wrong-password')).status).toBe(401);
      broker.clock.advance(10);
    }
    for (let i = 0; i < 2; i++) {
      expect((await attempt('cid@example.com', 'wrong-password')).status).toBe(401);
      broker.clock.advance(10);
    }
    // Locked: even the right password waits.
    expect((await attempt('cid@example.com', 'cids-password')).status).toBe(429);
    broker.clock.advance(900);
    expect((await attempt('cid@example.com', 'cids-password')).status).toBe(200);
    // A success clears the count.
    expect((await attempt('cid@example.com', 'wrong-password')).status).toBe(401);
    expect((await attempt('cid@example.com', 'wrong-password')).status).toBe(401);
    expect((await attempt('cid@example.com', 'cids-password')).status).toBe(200);
  });
});

describe('customer refresh, validate and logout', () => {
  it('refreshes with the refresh token as the credential, even with an expired bearer', async () => {
    const { login } = await storefront.customer();
    broker.clock.advance(14400);
    expect((await storefront.validate(login.access_token)).body).toEqual(EXPIRED_TOKEN);
    const { status, body } = await storefront.refresh(login.refresh_token, { bearer: login.access_token });
    expect(status).toBe(200);
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      token_type: 'Bearer',
      expires_in: 14399,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/),
      refresh_token_expires_in: 86399,
      session_id: login.session_id,
    });
    expect((await storefront.validate(body.access_token)).status).toBe(200);
  });

  it('switches to an assigned legal entity, which validate then reports, and refuses others with 403', async () => {
    const { login } = await storefront.customer();
    const refused = await storefront.refresh(login.refresh_token, { legalEntityId: 'LE-9' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ status: 403, type: 'forbidden' });
    const switched = await storefront.refresh(login.refresh_token, { legalEntityId: 'LE-2' });
    expect(switched.status).toBe(200);
    expect((await storefront.validate(switched.body.access_token)).body.legalEntityId).toBe('LE-2');
  });

  it('validates a customer token with the seconds left', async () => {
    const { anonymous, login } = await storefront.customer();
    broker.clock.advance(100);
    const { status, body } = await storefront.validate(login.access_token);
    expect(status).toBe(200);
    expect(body).toEqual({
      token_type: 'Bearer',
      expires_in: 14299,
      scope: 'tenant=acme',
      sessionId: anonymous.sessionId,
      email: 'ann@example.com',
      legalEntityId: null,
    });
  });

  it('refuses unknown, anonymous and foreign-tenant tokens on validate', async () => {
    const { anonymous, login } = await storefront.customer();
    expect(await storefront.validate('A'.repeat(64))).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.validate(anonymous.access_token)).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.validate(login.access_token, 'globex')).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.refresh(login.refresh_token, { tenant: 'globex' })).toMatchObject({ status: 401, body: INVALID_REFRESH });
  });

  it('logs out: the access token fails validation and its refresh token no longer refreshes', async () => {
    const { login } = await storefront.customer();
    const out = await storefront.logout(login.access_token);
    expect(out.status).toBe(204);
    expect(out.body).toBeUndefined();
    expect(await storefront.validate(login.access_token)).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.refresh(login.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect((await storefront.logout(login.access_token)).status).toBe(401);
  });

  it('refuses a logout on another tenant and a logout naming two different tokens', async () => {
    const { login } = await storefront.customer();
    expect((await storefront.logout(login.access_token, 'globex')).status).toBe(401);
    const conflicting = await fetch(`${broker.url}/customer/acme/logout?accessToken=${'A'.repeat(64)}`, {
      headers: { authorization: `Bearer ${login.access_token}` },
    });
    expect(conflicting.status).toBe(400);
    expect((await storefront.validate(login.access_token)).status).toBe(200);
  });
});

describe('downstream services and storefront tokens', () => {
  it('introspect a customer token of their tenant, and see it inactive once revoked through its refresh token', async () => {
    const { anonymous, login } = await storefront.customer();
    const introspect = async (token: string, id = 'reports-svc', secret = TEST_SECRETS.reports) =>
      (await postForm(`${broker.url}/oauth/introspect`, { token }, { authorization: basic(id, secret) })).json();
    expect(await introspect(login.access_token)).toMatchObject({
      active: true,
      scope: 'tenant=acme',
      client_id: 'storefront-web',
      sub: 'C-1001',
      tenant: 'acme',
      session_id: anonymous.sessionId,
      exp: broker.clock.now + 14399,
      iat: broker.clock.now,
    });
    expect(await introspect(login.access_token, 'globex-svc', TEST_SECRETS.globex)).toEqual({ active: false });
    // RFC 7009 section 2.1: the session was not issued to reports-svc, so it needs broker.token_revoke.
    const revoke = () =>
      postForm(`${broker.url}/oauth/revoke`, { token: login.refresh_token }, { authorization: basic('reports-svc', TEST_SECRETS.reports) });
    expect((await revoke()).status).toBe(200);
    expect(await introspect(login.access_token)).toMatchObject({ active: true });
    const entitled = testSeed();
    entitled.tenants.acme.serviceClients['reports-svc'].scopes.push('broker.token_revoke');
    await broker.reseed(parseSeed(JSON.stringify(entitled)));
    try {
      expect((await revoke()).status).toBe(200);
      expect(await introspect(login.access_token)).toEqual({ active: false });
    } finally {
      await broker.reseed(parseSeed(JSON.stringify(testSeed())));
    }
  });
});

describe('the legacy field window', () => {
  it('adds the camelCase copies with Deprecation and Sunset until the tenant’s date, and not after', async () => {
    const until = new Date((broker.clock.now + 2 * 86400) * 1000).toISOString().slice(0, 10);
    const seed = testSeed();
    (seed.tenants.acme.settings as Record<string, unknown>).legacyTokenFieldsUntil = until;
    await broker.reseed(parseSeed(JSON.stringify(seed)));
    broker.clock.advance(61); // past the in-memory tenant settings

    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    const inside = await storefront.login(anonymous, 'ann@example.com', 'correct-horse');
    expect(inside.body).toMatchObject({
      accessToken: inside.body.access_token,
      saasToken: inside.body.saas_token,
      expiresIn: 14399,
      refreshToken: inside.body.refresh_token,
      refreshTokenExpiresIn: 86399,
    });
    expect(inside.headers.get('deprecation')).toBe(`@${Date.UTC(2025, 10, 13) / 1000}`);
    expect(inside.headers.get('sunset')).toBe(new Date(`${until}T00:00:00Z`).toUTCString());
    const refreshed = await storefront.refresh(inside.body.refresh_token);
    expect(refreshed.body.refreshToken).toBe(refreshed.body.refresh_token);

    broker.clock.advance(3 * 86400);
    const after = (await storefront.customer()).login;
    expect(after).not.toHaveProperty('accessToken');
    expect(after).not.toHaveProperty('saasToken');
  });
});
