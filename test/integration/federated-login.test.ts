import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEcKey, PROVIDER_USERS, startOidcProvider, type OidcProviderFixture } from '../support/oidc-provider.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { endCustomerSessions } from '../../functions/use-cases/customer-sessions.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed } from '../support/seed.js';
import { INVALID_TOKEN, Storefront, type Answer } from '../support/storefront.js';

/**
 * Contract section 10 end to end: `npm start`'s broker (dynalite, HTTP) and a real OpenID Connect
 * provider (oidc-provider on loopback, test/support/oidc-provider.ts) whose login is driven over
 * HTTP for real codes and whose key signs "external" access tokens. Nothing is faked between the
 * storefront's request and the provider's answer.
 */

const AUDIENCE = 'https://api.acme.example';

let idp: OidcProviderFixture;
let broker: TestBroker;
let shop: Storefront;
let seed: ReturnType<typeof testSeed>;

beforeAll(async () => {
  idp = await startOidcProvider();
  // More users of the provider, by login (= subject): a verified email for a pending signup, and
  // users of the SUBJECT and exchange tests.
  Object.assign(PROVIDER_USERS, {
    dan: { email: 'dan@example.com', email_verified: true },
    fay: { email: 'fay@example.com', email_verified: true },
  });
  seed = testSeed();
  const provider = idp.seedEntry({ audience: AUDIENCE, authorizedParty: idp.clientId, validation: 'jwks' });
  Object.assign(seed.tenants.acme, {
    identityProviders: {
      default: provider,
      closed: { ...provider, autoProvision: false },
      subject: { ...provider, customerIdentifier: 'SUBJECT' },
      introspect: { ...provider, validation: 'introspection', audience: undefined },
    },
  });
  seed.tenants.acme.customers.push({ email: 'bob@example.com', password: 'bobs-password', customerNumber: 'C-1002', legalEntities: [] });
  broker = await startTestBroker(seed);
  shop = new Storefront(broker.url);
});

afterAll(async () => {
  await broker?.stop();
  await idp?.stop();
});

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function anonymous(): Promise<{ token: string; sessionId: string }> {
  const { body } = await shop.anonymousLogin();
  return { token: body.access_token, sessionId: body.sessionId };
}

function post(path: string, query: Record<string, string>, bearer?: string): Promise<Answer> {
  return fetch(`${broker.url}/customer/acme/${path}?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
  }).then(answer);
}

const socialLogin = (query: Record<string, string>, bearer?: string) => post('socialLogin', query, bearer);
const exchange = (query: Record<string, string>, bearer?: string) => post('exchangeauthtoken', query, bearer);

/** An "external" access token as the provider would issue it for the broker's API. */
function accessToken(claims: Record<string, unknown> = {}, options: Parameters<OidcProviderFixture['signAccessToken']>[1] = {}) {
  const now = Math.floor(Date.now() / 1000);
  return idp.signAccessToken(
    { iss: idp.issuer, sub: 'fay', aud: AUDIENCE, azp: idp.clientId, iat: now, exp: now + 300, ...claims },
    options,
  );
}

const SOCIAL_FIELDS = [
  'access_token',
  'saas_token',
  'token_type',
  'expires_in',
  'refresh_token',
  'refresh_token_expires_in',
  'session_idle_time',
  'scope',
  'session_id',
  'social_access_token',
  'social_id_token',
];
const EXCHANGE_FIELDS = [
  'subject_access_token',
  'access_token',
  'saas_token',
  'refresh_token',
  'refresh_token_expires_in',
  'session_idle_time',
  'token_type',
  'expires_in',
  'scope',
  'session_id',
];

describe('socialLogin with a real provider', () => {
  it('provisions a new customer, carries the session over, answers the Emporix fields; the second login finds the same customer', async () => {
    const session = await anonymous();
    const first = await socialLogin({ code: await idp.getCode({ login: 'cid' }) }, session.token);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(Object.keys(first.body)).toEqual(SOCIAL_FIELDS);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toMatchObject({ token_type: 'Bearer', expires_in: 14399, scope: 'tenant=acme', session_id: session.sessionId });
    expect(decodeJwt(first.body.social_id_token)).toMatchObject({ iss: idp.issuer, sub: 'cid', email: 'cid@example.com' });
    const saas = decodeJwt(first.body.saas_token);
    expect(saas).toMatchObject({ iss: broker.issuer, tenant: 'acme', email: 'cid@example.com', sessionId: session.sessionId });
    const customer = await broker.deps.customers.getCustomer('acme', 'cid@example.com');
    expect(customer).toEqual({
      tenant: 'acme',
      email: 'cid@example.com',
      customerNumber: saas.sub,
      legalEntities: [],
      initialPassword: false,
    });

    // Refresh and validate, as any customer session.
    const validated = await shop.validate(first.body.access_token);
    expect(validated.body).toMatchObject({ sessionId: session.sessionId, email: 'cid@example.com' });
    const refreshed = await shop.refresh(first.body.refresh_token);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.session_id).toBe(session.sessionId);
    expect((await shop.refresh(first.body.refresh_token)).status).toBe(200); // the grace window's retry

    const second = await socialLogin({ code: await idp.getCode({ login: 'cid' }) }, (await anonymous()).token);
    expect(second.status).toBe(200);
    expect(decodeJwt(second.body.saas_token).sub).toBe(saas.sub);
  });

  it('refuses a replayed code with the Emporix 401, and leaves the first session alone', async () => {
    const code = await idp.getCode({ login: 'cid' });
    const first = await socialLogin({ code }, (await anonymous()).token);
    expect(first.status).toBe(200);
    const replay = await socialLogin({ code }, (await anonymous()).token);
    expect(replay.status).toBe(401);
    expect(replay.body).toEqual(INVALID_TOKEN);
    expect((await shop.validate(first.body.access_token)).status).toBe(200);
  });

  it("serves Emporix's own storefront request: code and anonymous_token in the query, no redirect_uri, no Authorization header", async () => {
    const session = await anonymous();
    const result = await socialLogin({ code: await idp.getCode({ login: 'cid' }), anonymous_token: session.token });
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body.session_id).toBe(session.sessionId);
  });

  it('refuses without an anonymous session, before spending the code', async () => {
    const code = await idp.getCode({ login: 'cid' });
    const refused = await socialLogin({ code });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID_TOKEN);
    // The code is still good.
    expect((await socialLogin({ code }, (await anonymous()).token)).status).toBe(200);
  });

  it('checks the nonce when the storefront sends one', async () => {
    const code = await idp.getCode({ login: 'cid', nonce: 'n-0123456789' });
    expect((await socialLogin({ code, nonce: 'another-nonce' }, (await anonymous()).token)).status).toBe(401);
    const good = await idp.getCode({ login: 'cid', nonce: 'n-0123456789' });
    expect((await socialLogin({ code: good, nonce: 'n-0123456789' }, (await anonymous()).token)).status).toBe(200);
  });

  it('links a seeded customer by the provider-verified email; the password still works', async () => {
    // ann's email at the provider is ' Ann@Example.com', verified.
    const result = await socialLogin({ code: await idp.getCode({ login: 'ann' }) }, (await anonymous()).token);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(decodeJwt(result.body.saas_token)).toMatchObject({ sub: 'C-1001', email: 'ann@example.com' });
    expect((await shop.customer('ann@example.com', 'correct-horse')).login.saas_token).toBeDefined();
  });

  it('never links by an unverified email: 401, and the seeded customer is untouched', async () => {
    const before = await broker.deps.customers.getCustomer('acme', 'bob@example.com');
    const result = await socialLogin({ code: await idp.getCode({ login: 'bob' }) }, (await anonymous()).token);
    expect(result.status).toBe(401);
    expect(result.body).toEqual(INVALID_TOKEN);
    expect(await broker.deps.customers.getCustomer('acme', 'bob@example.com')).toEqual(before);
    expect((await shop.customer('bob@example.com', 'bobs-password')).login.saas_token).toBeDefined();
  });

  it("answers a federated-only customer's password login like a wrong password", async () => {
    expect((await socialLogin({ code: await idp.getCode({ login: 'cid' }) }, (await anonymous()).token)).status).toBe(200);
    const federated = await shop.login((await anonymous()).token, 'cid@example.com', 'whatever-password');
    const wrong = await shop.login((await anonymous()).token, 'ann@example.com', 'wrong-password');
    expect(federated.status).toBe(401);
    expect(federated.body).toEqual(wrong.body);
  });

  it('discards a pending signup under the email, with its password, and never activates it', async () => {
    await broker.deps.customers.putCustomer({
      tenant: 'acme',
      email: 'dan@example.com',
      passwordHash: 'scrypt$attacker',
      customerNumber: 'P-1',
      legalEntities: [],
      initialPassword: false,
      pending: true,
    });
    const result = await socialLogin({ code: await idp.getCode({ login: 'dan' }) }, (await anonymous()).token);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    const customer = await broker.deps.customers.getCustomer('acme', 'dan@example.com');
    expect(customer?.customerNumber).not.toBe('P-1');
    expect(customer?.customerNumber).toBe(decodeJwt(result.body.saas_token).sub);
    expect(customer?.passwordHash).toBeUndefined();
    expect(customer?.pending).toBeUndefined();
  });

  it('answers 404 for an unknown user when the provider does not provision', async () => {
    const result = await socialLogin({ code: await idp.getCode({ login: 'zed-unknown' }), config: 'closed' }, (await anonymous()).token);
    expect(result.status).toBe(404);
    expect(result.body).toMatchObject({ status: 404, type: 'not_found' });
  });

  it('refuses a redirect_uri the provider did not register for the code (401), and malformed parameters (400)', async () => {
    const code = await idp.getCode({ login: 'cid' });
    const token = (await anonymous()).token;
    expect((await socialLogin({ code, redirect_uri: 'https://other.example/cb' }, token)).status).toBe(401);
    const malformed: Record<string, string>[] = [
      { code: 'x'.repeat(2049) },
      { code: 'has space' },
      { code: 'c', redirect_uri: 'not a url' },
      { code: 'c', redirect_uri: 'javascript:alert(1)' },
      { code: 'c', redirect_uri: `https://shop.example/${'a'.repeat(600)}` },
      { code: 'c', code_verifier: 'short' },
      { code: 'c', config: '../etc' },
      { code: 'c', config: 'x'.repeat(65) },
      { code: 'c', nonce: 'n'.repeat(513) },
      {},
    ];
    for (const query of malformed) {
      const result = await socialLogin(query, token);
      expect(result.status, JSON.stringify(query)).toBe(400);
      expect(result.body).toMatchObject({ status: 400, type: 'bad_request' });
    }
    const unknown = await socialLogin({ code: 'c', config: 'nope' }, token);
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toEqual([expect.objectContaining({ field: 'config' })]);
  });
});

describe('a federated session ends like any customer session', () => {
  it('logs out, ends with incident response, and ends when the seed changes a linked customer’s password', async () => {
    const login = async (user: string) => {
      const result = await socialLogin({ code: await idp.getCode({ login: user }) }, (await anonymous()).token);
      expect(result.status).toBe(200);
      return result.body;
    };
    const loggedOut = await login('cid');
    expect((await shop.logout(loggedOut.access_token)).status).toBe(204);
    expect((await shop.validate(loggedOut.access_token)).status).toBe(401);
    expect((await shop.refresh(loggedOut.refresh_token)).status).toBe(401);

    const incident = await login('cid');
    expect(await endCustomerSessions(broker.deps, 'acme', 'cid@example.com')).toBeGreaterThan(0);
    expect((await shop.validate(incident.access_token)).status).toBe(401);
    expect((await shop.refresh(incident.refresh_token)).status).toBe(401);

    // ann is linked by email to the seeded customer: a password change by the seed ends her
    // federated sessions too.
    const ann = await login('ann');
    expect((await shop.validate(ann.access_token)).status).toBe(200);
    const changed = structuredClone(seed);
    changed.tenants.acme.customers[0]!.password = 'a-brand-new-password';
    await broker.reseed(parseSeed(JSON.stringify(changed)));
    expect((await shop.validate(ann.access_token)).status).toBe(401);
    expect((await shop.refresh(ann.refresh_token)).status).toBe(401);
    // Still linked: the provider login goes on working, the old password does not.
    expect(decodeJwt((await login('ann')).saas_token).sub).toBe('C-1001');
    expect((await shop.login((await anonymous()).token, 'ann@example.com', 'correct-horse')).status).toBe(401);
    await broker.reseed(parseSeed(JSON.stringify(seed)));
  });
});

describe('exchangeauthtoken with tokens signed by the provider', () => {
  it('accepts a token of the provider for the configured audience and party, with the Emporix fields', async () => {
    const session = await anonymous();
    const token = await accessToken({ sub: 'fay', email: 'fay@example.com', email_verified: true });
    const result = await exchange({ subjectAccessToken: token }, session.token);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(Object.keys(result.body)).toEqual(EXCHANGE_FIELDS);
    expect(result.body).toMatchObject({
      subject_access_token: token,
      session_id: session.sessionId,
      token_type: 'Bearer',
      scope: 'tenant=acme',
    });
    expect(decodeJwt(result.body.saas_token)).toMatchObject({ email: 'fay@example.com' });
    expect((await shop.validate(result.body.access_token)).status).toBe(200);
  });

  it('refuses a wrong aud, a wrong azp, a foreign signer, an expired token, a wrong issuer (401), an unknown config (400)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'fay', email: 'fay@example.com', email_verified: true };
    const cases: [string, string][] = [
      ['wrong aud', await accessToken({ ...claims, aud: 'https://other.example' })],
      ['wrong azp', await accessToken({ ...claims, azp: 'another-client' })],
      ['foreign signer', await accessToken(claims, { privateJwk: await newEcKey(idp.privateJwk.kid) })],
      ['expired', await accessToken({ ...claims, iat: now - 7200, exp: now - 3600 })],
      ['wrong issuer', await accessToken({ ...claims, iss: 'https://evil.example' })],
      ['not a JWT', 'opaque-token-value'],
    ];
    for (const [name, token] of cases) {
      const result = await exchange({ subjectAccessToken: token }, (await anonymous()).token);
      expect(result.status, name).toBe(401);
      expect(result.body, name).toEqual(INVALID_TOKEN);
    }
    const unknown = await exchange({ subjectAccessToken: await accessToken(claims), config: 'nope' }, (await anonymous()).token);
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toEqual([expect.objectContaining({ field: 'config' })]);
    const tooLong = await exchange({ subjectAccessToken: 'x'.repeat(8193) }, (await anonymous()).token);
    expect(tooLong.status).toBe(400);
    expect((await exchange({}, (await anonymous()).token)).status).toBe(400);
  });

  it('validates by the provider’s introspection endpoint when so configured: the provider’s own opaque access token', async () => {
    const social = await socialLogin({ code: await idp.getCode({ login: 'cid' }) }, (await anonymous()).token);
    expect(social.status).toBe(200);
    const opaque = social.body.social_access_token as string;
    expect(opaque.split('.')).toHaveLength(1);
    const session = await anonymous();
    const result = await exchange({ subjectAccessToken: opaque, config: 'introspect' }, session.token);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body.session_id).toBe(session.sessionId);
    expect(decodeJwt(result.body.saas_token).sub).toBe(decodeJwt(social.body.saas_token).sub);
    // An opaque token the provider does not know is inactive there: 401.
    const unknown = await exchange({ subjectAccessToken: 'not-a-token-of-the-provider', config: 'introspect' }, (await anonymous()).token);
    expect(unknown.status).toBe(401);
  });

  it('answers 404 with provisioning off', async () => {
    const token = await accessToken({ sub: 'gus', email: 'gus@example.com', email_verified: true });
    const result = await exchange({ subjectAccessToken: token, config: 'closed' }, (await anonymous()).token);
    expect(result.status).toBe(404);
    expect(await broker.deps.customers.getCustomer('acme', 'gus@example.com')).toBeUndefined();
  });

  it('SUBJECT identification: the subject finds its customer whatever the email says next', async () => {
    const first = await exchange(
      { subjectAccessToken: await accessToken({ sub: 'sam', email: 'sam@example.com', email_verified: true }), config: 'subject' },
      (await anonymous()).token,
    );
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const second = await exchange(
      { subjectAccessToken: await accessToken({ sub: 'sam', email: 'sam.new@example.com', email_verified: true }), config: 'subject' },
      (await anonymous()).token,
    );
    expect(second.status).toBe(200);
    expect(decodeJwt(second.body.saas_token).sub).toBe(decodeJwt(first.body.saas_token).sub);
    // A verified email of a seeded customer does not find them by SUBJECT.
    const ann = await exchange(
      { subjectAccessToken: await accessToken({ sub: 'ann-other', email: 'ann@example.com', email_verified: true }), config: 'subject' },
      (await anonymous()).token,
    );
    expect(ann.status).toBe(401);
  });
});

describe('a provider that is down or slow', () => {
  it('answers 503 with Retry-After when the provider is stopped, and works again once it is back', async () => {
    const code = await idp.getCode({ login: 'cid' });
    await idp.stop();
    try {
      const result = await socialLogin({ code }, (await anonymous()).token);
      expect(result.status).toBe(503);
      expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(result.body).toMatchObject({ status: 503, type: 'service_unavailable' });
    } finally {
      await idp.restart();
    }
    expect((await socialLogin({ code: await idp.getCode({ login: 'cid' }) }, (await anonymous()).token)).status).toBe(200);
  });

  it('answers 503 within the budget when the provider is slower than it', async () => {
    const code = await idp.getCode({ login: 'cid' });
    const token = (await anonymous()).token;
    idp.setSlow(9000, ['/token']);
    try {
      const started = Date.now();
      const result = await socialLogin({ code }, token);
      expect(result.status).toBe(503);
      expect(result.headers.get('retry-after')).not.toBeNull();
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      idp.setSlow(0);
    }
  }, 20_000);
});

describe('store trouble', () => {
  it.each(['BatchGetItem', 'PutItem'])(
    'answers 503 with Retry-After when %s fails, never a 500, and hands out no token',
    async (command) => {
      const code = await idp.getCode({ login: 'cid' });
      const token = (await anonymous()).token;
      let armed = true;
      const name = `federationFault${command}`;
      broker.dynamoClient.middlewareStack.add(
        (next, context) => async (args) => {
          if (!armed || context.commandName !== `${command}Command`) return next(args);
          armed = false;
          throw Object.assign(new Error('Connection timed out after 1500 ms'), { name: 'TimeoutError' });
        },
        { step: 'initialize', name },
      );
      try {
        const result = await socialLogin({ code }, token);
        expect(result.status).toBe(503);
        expect(result.headers.get('retry-after')).not.toBeNull();
        expect(result.body.access_token).toBeUndefined();
      } finally {
        broker.dynamoClient.middlewareStack.remove(name);
      }
    },
  );
});

describe('logs', () => {
  it('hold no provider code, token or secret, and one federated_login audit event per login', async () => {
    const code = await idp.getCode({ login: 'cid' });
    const from = broker.logLines.length;
    const result = await socialLogin({ code }, (await anonymous()).token);
    expect(result.status).toBe(200);
    const external = await accessToken({ sub: 'fay', email: 'fay@example.com', email_verified: true });
    expect((await exchange({ subjectAccessToken: external }, (await anonymous()).token)).status).toBe(200);
    const logs = broker.logLines.join('\n');
    for (const secret of [code, result.body.social_access_token, result.body.social_id_token, external, idp.clientSecret]) {
      expect(logs).not.toContain(secret);
    }
    const events = broker.logLines
      .slice(from)
      .map((line) => JSON.parse(line))
      .filter((line) => line.event === 'federated_login');
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ tenant: 'acme', provider: 'default', customerNumber: decodeJwt(result.body.saas_token).sub });
  });
});
