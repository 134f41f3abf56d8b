import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppClient } from '../../functions/domain/tenant.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import { ANN, APP_CLIENTS, APP_SECRETS, codeThroughSignIn, grantSeed, putStaleMobileSecret } from '../support/authorization.js';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';
import { selectorOf } from '../support/storefront.js';

/**
 * The authorization_code and refresh_token grants (contract sections 5, 6 and 8), driven over
 * HTTP against local mode on dynalite by oauth4webapi, a strict RFC 6749 / 7636 / 9207 client,
 * for a public client (auth method `none`, PKCE its only proof) and a confidential one (Basic).
 * The error paths use raw requests, as a misbehaving client would send them.
 */

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const { mobile, spa, partner, globex } = APP_CLIENTS;

let broker: TestBroker;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  broker = await startTestBroker(grantSeed());
  await putStaleMobileSecret(new LocalSecretsFile(join(broker.dataDir, 'secrets.json')));
  const issuer = new URL(broker.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
});

afterAll(() => broker.stop());

const clientOf = (app: AppClient): oauth.Client => ({ client_id: app.clientId });
const authOf = (app: AppClient): oauth.ClientAuth => (app.type === 'public' ? oauth.None() : oauth.ClientSecretBasic(APP_SECRETS.partner));

interface Flow {
  app: AppClient;
  params: URLSearchParams;
  code: string;
  verifier: string;
  redirectUri: string;
}

/** The customer signs in for `app`; the callback is validated as the client would (state, RFC 9207 iss). */
async function signIn(app: AppClient, options: { redirectUri?: string; scopes?: string[] } = {}): Promise<Flow> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const redirectUri = options.redirectUri ?? app.redirectUris[0]!;
  const callback = await codeThroughSignIn(broker, {
    client: app,
    redirectUri,
    codeChallenge: await oauth.calculatePKCECodeChallenge(verifier),
    state,
    ...(options.scopes ? { scopes: options.scopes } : {}),
  });
  const params = oauth.validateAuthResponse(as, clientOf(app), callback, state);
  return { app, params, code: params.get('code')!, verifier, redirectUri };
}

/** The code exchange as oauth4webapi sends it. */
async function redeem(flow: Flow): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    clientOf(flow.app),
    authOf(flow.app),
    flow.params,
    flow.redirectUri,
    flow.verifier,
    insecure,
  );
  return oauth.processAuthorizationCodeResponse(as, clientOf(flow.app), response);
}

async function refresh(app: AppClient, refreshToken: string, scope?: string): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.refreshTokenGrantRequest(as, clientOf(app), authOf(app), refreshToken, {
    ...insecure,
    ...(scope ? { additionalParameters: { scope } } : {}),
  });
  return oauth.processRefreshTokenResponse(as, clientOf(app), response);
}

interface Raw {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

/** A raw token request: a public client's form carries its client_id. */
async function token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Raw> {
  const response = await postForm(`${broker.url}/oauth/token`, form, headers);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

function codeForm(flow: Flow, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const form: Record<string, string | undefined> = {
    grant_type: 'authorization_code',
    client_id: flow.app.clientId,
    code: flow.code,
    redirect_uri: flow.redirectUri,
    code_verifier: flow.verifier,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(form).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function refreshForm(app: AppClient, refreshToken: string, extra: Record<string, string> = {}): Record<string, string> {
  return { grant_type: 'refresh_token', client_id: app.clientId, refresh_token: refreshToken, ...extra };
}

/** Introspection by a service client of acme (contract section 4). */
async function introspect(accessToken: string, caller: [string, string] = ['reports-svc', TEST_SECRETS.reports]) {
  const response = await postForm(`${broker.url}/oauth/introspect`, { token: accessToken }, { authorization: basic(...caller) });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

function expectError(answer: Raw, status: number, error: string): void {
  expect({ status: answer.status, error: answer.body.error }).toEqual({ status, error });
}

describe('a public client (auth method none, PKCE) through oauth4webapi', () => {
  it('signs the customer in, exchanges the code, introspects and refreshes', async () => {
    const flow = await signIn(mobile);
    const tokens = await redeem(flow);
    expect(tokens).toMatchObject({
      token_type: 'bearer', // oauth4webapi lower-cases it
      expires_in: 300,
      scope: 'order.read profile tenant=acme',
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.refresh_token_expires_in).toBe(2592000);
    expect(tokens.access_token).not.toBe(tokens.refresh_token);

    const now = broker.clock.now;
    expect(await introspect(tokens.access_token)).toEqual({
      active: true,
      scope: 'order.read profile tenant=acme',
      client_id: 'mobile-app',
      token_type: 'Bearer',
      exp: now + 300,
      iat: now,
      sub: ANN.customerNumber,
      tenant: 'acme',
      session_id: expect.any(String),
    });

    broker.clock.advance(100);
    const next = await refresh(mobile, tokens.refresh_token!);
    expect(next).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'order.read profile tenant=acme' });
    // The family's absolute end is counted from the redemption: a refresh never extends it.
    expect(next.refresh_token_expires_in).toBe(2592000 - 100);
    expect(selectorOf(next.refresh_token!)).toBe(selectorOf(tokens.refresh_token!));
    const introspected = await introspect(next.access_token);
    expect(introspected).toMatchObject({ active: true, client_id: 'mobile-app', sub: ANN.customerNumber });
    expect(introspected.session_id).toBe((await introspect(tokens.access_token)).session_id);
  });

  it('accepts a loopback redirect URI on any port (RFC 8252 section 7.3), exactly as the request sent it', async () => {
    const flow = await signIn(mobile, { redirectUri: 'http://127.0.0.1:53682/callback' });
    expect((await redeem(flow)).scope).toBe('order.read profile tenant=acme');
  });

  it('grants the authorization’s scopes, which may be fewer than the client’s', async () => {
    const tokens = await redeem(await signIn(mobile, { scopes: ['profile'] }));
    expect(tokens.scope).toBe('profile tenant=acme');
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, scope: 'profile tenant=acme' });
  });

  it('revokes its own tokens with its client_id alone (RFC 7009 section 2.1), not another client’s', async () => {
    const own = await redeem(await signIn(mobile));
    const other = await redeem(await signIn(spa));
    const revoke = (tokenValue: string) => oauth.revocationRequest(as, clientOf(mobile), oauth.None(), tokenValue, insecure);
    expect((await revoke(other.access_token)).status).toBe(200);
    expect(await introspect(other.access_token)).toMatchObject({ active: true });
    expect((await revoke(own.refresh_token!)).status).toBe(200);
    expect(await introspect(own.access_token)).toEqual({ active: false });
    expectError(await token(refreshForm(mobile, own.refresh_token!)), 400, 'invalid_grant');
  });
});

describe('an app client with accessTokenFormat jwt (contract section 9)', () => {
  const app = APP_CLIENTS.jwt;
  /** What the downstream API does without the broker: the JWK Set, the issuer, its audience, the type. */
  const verify = (accessToken: string) =>
    jwtVerify(accessToken, createRemoteJWKSet(new URL(`${broker.issuer}/.well-known/jwks.json`)), {
      issuer: broker.issuer,
      audience: app.audience!,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(broker.clock.now * 1000),
    });

  it('gets RFC 9068 JWTs at the redemption and each refresh, verifiable with the JWKS alone; introspection stays authoritative', async () => {
    const tokens = await redeem(await signIn(app));
    const now = broker.clock.now;
    const { payload, protectedHeader } = await verify(tokens.access_token);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' });
    const introspected = await introspect(tokens.access_token);
    expect(payload).toEqual({
      iss: broker.issuer,
      sub: ANN.customerNumber,
      aud: app.audience,
      client_id: app.clientId,
      scope: 'order.read profile tenant=acme',
      tenant: 'acme',
      session_id: introspected.session_id,
      iat: now,
      exp: now + 300,
      jti: expect.stringMatching(new RegExp(`^${selectorOf(tokens.refresh_token!)}\\.[A-Za-z0-9_-]{16}$`)),
    });
    expect(introspected).toMatchObject({ active: true, client_id: app.clientId, scope: 'order.read profile tenant=acme' });

    broker.clock.advance(5);
    const next = await refresh(app, tokens.refresh_token!, 'profile');
    const refreshed = (await verify(next.access_token)).payload;
    expect(refreshed).toMatchObject({ sub: ANN.customerNumber, scope: 'profile tenant=acme', iat: now + 5, exp: now + 305 });
    expect(refreshed.session_id).toBe(payload.session_id);
    expect(await introspect(next.access_token)).toMatchObject({ active: true, scope: 'profile tenant=acme' });

    // Revoked: the signature still verifies, introspection says inactive.
    expect((await oauth.revocationRequest(as, clientOf(app), oauth.None(), next.refresh_token!, insecure)).status).toBe(200);
    expect(await introspect(next.access_token)).toEqual({ active: false });
    await expect(verify(next.access_token)).resolves.toBeDefined();
  });

  it('a tampered JWT is inactive at introspection', async () => {
    const tokens = await redeem(await signIn(app));
    const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin tenant=acme' })).toString('base64url')}.${signature}`;
    expect(await introspect(forged)).toEqual({ active: false });
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true });
  });
});

describe('a confidential client (client_secret_basic) through oauth4webapi', () => {
  it('exchanges the code and refreshes, authenticated by its secret', async () => {
    const tokens = await redeem(await signIn(partner));
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'order.read profile tenant=acme' });
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, client_id: 'partner-web', sub: ANN.customerNumber });
    const next = await refresh(partner, tokens.refresh_token!);
    expect(next.access_token).not.toBe(tokens.access_token);
  });

  it('is invalid_client without its secret, or with a wrong one', async () => {
    const flow = await signIn(partner);
    const withoutSecret = await token(codeForm(flow));
    expectError(withoutSecret, 401, 'invalid_client');
    const wrong = await token(codeForm(flow, { client_id: undefined }), { authorization: basic('partner-web', 'wrong-secret-0001') });
    expectError(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    // Neither attempt touched the code.
    expect((await redeem(flow)).scope).toBe('order.read profile tenant=acme');
  });
});

describe('authorization_code: error paths', () => {
  it('a wrong code_verifier is invalid_grant, and leaves the code to its client', async () => {
    const flow = await signIn(mobile);
    expectError(await token(codeForm(flow, { code_verifier: oauth.generateRandomCodeVerifier() })), 400, 'invalid_grant');
    expect((await redeem(flow)).expires_in).toBe(300);
  });

  it('a missing or malformed code_verifier is invalid_request', async () => {
    const flow = await signIn(mobile);
    expectError(await token(codeForm(flow, { code_verifier: undefined })), 400, 'invalid_request');
    expectError(await token(codeForm(flow, { code_verifier: 'short' })), 400, 'invalid_request');
    expectError(await token(codeForm(flow, { code_verifier: 'x'.repeat(129) })), 400, 'invalid_request');
    expectError(await token(codeForm(flow, { code_verifier: `${'a'.repeat(42)}!` })), 400, 'invalid_request');
  });

  it('a missing code or redirect_uri is invalid_request; an over-long one is refused before storage', async () => {
    const flow = await signIn(mobile);
    expectError(await token(codeForm(flow, { code: undefined })), 400, 'invalid_request');
    expectError(await token(codeForm(flow, { redirect_uri: undefined })), 400, 'invalid_request');
    expectError(await token(codeForm(flow, { redirect_uri: `https://shop.example/${'a'.repeat(2000)}` })), 400, 'invalid_request');
    expectError(await token(codeForm(flow, { code: 'x'.repeat(5000) })), 400, 'invalid_grant');
    expect((await redeem(flow)).expires_in).toBe(300);
  });

  it('a redirect_uri other than the request’s is invalid_grant (RFC 6749 section 4.1.3), a loopback port included', async () => {
    const flow = await signIn(mobile);
    expectError(await token(codeForm(flow, { redirect_uri: 'http://127.0.0.1/callback' })), 400, 'invalid_grant');
    const loopback = await signIn(mobile, { redirectUri: 'http://127.0.0.1:50000/callback' });
    expectError(await token(codeForm(loopback, { redirect_uri: 'http://127.0.0.1:50001/callback' })), 400, 'invalid_grant');
  });

  it('a code of another client is invalid_grant, and stays its own client’s', async () => {
    const flow = await signIn(mobile);
    expectError(await token(codeForm(flow, { client_id: spa.clientId })), 400, 'invalid_grant');
    expectError(await token(codeForm(flow, { client_id: globex.clientId })), 400, 'invalid_grant');
    expect((await redeem(flow)).expires_in).toBe(300);
  });

  it('an expired code is invalid_grant (60 s)', async () => {
    const flow = await signIn(mobile);
    broker.clock.advance(60);
    expectError(await token(codeForm(flow)), 400, 'invalid_grant');
  });

  it('a code redeemed twice: the second is invalid_grant and the first redemption’s tokens die (RFC 6749 section 4.1.2)', async () => {
    const flow = await signIn(mobile);
    const first = await redeem(flow);
    expect(await introspect(first.access_token)).toMatchObject({ active: true });
    const audits = broker.logLines.length;

    expectError(await token(codeForm(flow)), 400, 'invalid_grant');
    expect(await introspect(first.access_token)).toEqual({ active: false });
    expectError(await token(refreshForm(mobile, first.refresh_token!)), 400, 'invalid_grant');
    const events = broker.logLines.slice(audits).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toContainEqual(expect.objectContaining({ event: 'code_replayed', tenant: 'acme', clientId: 'mobile-app' }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'family_revoked', reason: 'code_replayed' }));
    // Nothing of the code, verifier or tokens is logged.
    const logged = broker.logLines.slice(audits).join('\n');
    for (const secret of [flow.code, flow.verifier, first.access_token, first.refresh_token!]) expect(logged).not.toContain(secret);
  });

  it('a replay by another client, or with a wrong verifier, still revokes the code’s tokens', async () => {
    for (const replay of [{ client_id: spa.clientId }, { code_verifier: oauth.generateRandomCodeVerifier() }]) {
      const flow = await signIn(mobile);
      const first = await redeem(flow);
      expectError(await token(codeForm(flow, replay)), 400, 'invalid_grant');
      expect(await introspect(first.access_token)).toEqual({ active: false });
    }
  });
});

describe('refresh_token: error paths and the one-time rule', () => {
  it('another client’s refresh token is invalid_grant, and does not consume it', async () => {
    const tokens = await redeem(await signIn(mobile));
    expectError(await token(refreshForm(spa, tokens.refresh_token!)), 400, 'invalid_grant');
    expectError(
      await token(
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
        { authorization: basic('partner-web', APP_SECRETS.partner) },
      ),
      400,
      'invalid_grant',
    );
    expect((await refresh(mobile, tokens.refresh_token!)).expires_in).toBe(300);
  });

  it('a storefront refresh token is no grant (another kind of family)', async () => {
    const login = await fetch(`${broker.url}/customerlogin/auth/anonymous/login?tenant=acme&client_id=storefront-web`);
    const anonymous = (await login.json()) as { refresh_token: string };
    expectError(await token(refreshForm(mobile, anonymous.refresh_token)), 400, 'invalid_grant');
  });

  it('a retry inside the grace window gets the same successor', async () => {
    const tokens = await redeem(await signIn(mobile));
    const first = await token(refreshForm(mobile, tokens.refresh_token!));
    broker.clock.advance(10);
    const retry = await token(refreshForm(mobile, tokens.refresh_token!));
    expect(first.status).toBe(200);
    // The same tokens, their lifetimes reported as what is left of them.
    expect(retry.body).toEqual({ ...first.body, expires_in: 290, refresh_token_expires_in: 2592000 - 10 });
  });

  it('reuse after the grace window revokes the family: its current refresh and access tokens too', async () => {
    const tokens = await redeem(await signIn(mobile));
    const next = await refresh(mobile, tokens.refresh_token!);
    broker.clock.advance(11);
    expectError(await token(refreshForm(mobile, tokens.refresh_token!)), 400, 'invalid_grant');
    expectError(await token(refreshForm(mobile, next.refresh_token!)), 400, 'invalid_grant');
    expect(await introspect(next.access_token)).toEqual({ active: false });
  });

  it('a narrower scope is granted and introspected; a wider one is invalid_scope and consumes nothing', async () => {
    const tokens = await redeem(await signIn(mobile, { scopes: ['profile'] }));
    // order.read is the client's, but this grant's authorization did not include it.
    const wider = await token(refreshForm(mobile, tokens.refresh_token!, { scope: 'order.read' }));
    expectError(wider, 400, 'invalid_scope');
    expectError(await token(refreshForm(mobile, tokens.refresh_token!, { scope: 'order.manage' })), 400, 'invalid_scope');

    const all = await redeem(await signIn(mobile));
    const narrowed = await refresh(mobile, all.refresh_token!, 'profile');
    expect(narrowed.scope).toBe('profile tenant=acme');
    expect(await introspect(narrowed.access_token)).toMatchObject({ active: true, scope: 'profile tenant=acme' });
    // The next refresh without scope gets the grant's whole scope back (RFC 6749 section 6).
    const whole = await refresh(mobile, narrowed.refresh_token!);
    expect(whole.scope).toBe('order.read profile tenant=acme');
    expect((await refresh(mobile, tokens.refresh_token!)).scope).toBe('profile tenant=acme');
  });

  it('the family ends 30 days after the redemption, whatever the refreshes', async () => {
    const tokens = await redeem(await signIn(mobile));
    broker.clock.advance(2592000 - 50);
    const late = await refresh(mobile, tokens.refresh_token!);
    expect(late.expires_in).toBe(50);
    expect(late.refresh_token_expires_in).toBe(50);
    broker.clock.advance(50);
    expectError(await token(refreshForm(mobile, late.refresh_token!)), 400, 'invalid_grant');
  });
});

describe('client registration and authentication at the token endpoint', () => {
  it('unauthorized_client for a grant the client is not registered for, both ways', async () => {
    expectError(await token({ grant_type: 'client_credentials', client_id: mobile.clientId }), 400, 'unauthorized_client');
    expectError(
      await token({ grant_type: 'client_credentials' }, { authorization: basic('partner-web', APP_SECRETS.partner) }),
      400,
      'unauthorized_client',
    );
    const flow = await signIn(mobile);
    const asService = await token(codeForm(flow, { client_id: undefined }), { authorization: basic('orders-svc', TEST_SECRETS.orders) });
    expectError(asService, 400, 'unauthorized_client');
    expectError(
      await token({ grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('orders-svc', TEST_SECRETS.orders) }),
      400,
      'unauthorized_client',
    );
  });

  it('a public client that sends a secret is invalid_client, in the body or by Basic', async () => {
    const flow = await signIn(mobile);
    expectError(await token(codeForm(flow, { client_secret: 'anything-at-all' })), 401, 'invalid_client');
    const viaBasic = await token(codeForm(flow, { client_id: undefined }), { authorization: basic('mobile-app', 'anything-at-all') });
    expectError(viaBasic, 401, 'invalid_client');
    expect(viaBasic.headers.get('www-authenticate')).toMatch(/^Basic /);
    // Even the secret the document still holds for it: a public client has none (RFC 6749 section 2.1).
    expectError(await token(codeForm(flow, { client_secret: APP_SECRETS.staleMobile })), 401, 'invalid_client');
    expect((await redeem(flow)).expires_in).toBe(300);
  });

  it('an unknown client_id is invalid_client; an unknown grant type unsupported_grant_type', async () => {
    expectError(await token({ grant_type: 'refresh_token', client_id: 'nobody', refresh_token: 'x' }), 401, 'invalid_client');
    expectError(await token({ grant_type: 'password', client_id: mobile.clientId }), 400, 'unsupported_grant_type');
    expectError(await token({ grant_type: 'authorization_code' }), 401, 'invalid_client');
  });

  it('another tenant’s client named by the tenant parameter is invalid_client', async () => {
    const flow = await signIn(mobile);
    const response = await postForm(`${broker.url}/oauth/token?tenant=globex`, codeForm(flow));
    expect(response.status).toBe(401);
  });

  it('a grant’s access token is no storefront customer token (validateauthtoken refuses it)', async () => {
    const tokens = await redeem(await signIn(mobile));
    const response = await fetch(`${broker.url}/customer/acme/validateauthtoken`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(response.status).toBe(401);
  });

  it('a grant is inactive to another tenant’s service client', async () => {
    const tokens = await redeem(await signIn(mobile));
    expect(await introspect(tokens.access_token, ['globex-svc', TEST_SECRETS.globex])).toEqual({ active: false });
  });

  it('an app client cannot introspect', async () => {
    const tokens = await redeem(await signIn(partner));
    const response = await postForm(
      `${broker.url}/oauth/introspect`,
      { token: tokens.access_token },
      { authorization: basic('partner-web', APP_SECRETS.partner) },
    );
    expect(response.status).toBe(401);
  });
});

describe('incident response for app clients', () => {
  it('revoking the client’s tokens ends its grants: refresh refused, introspection inactive; later grants work', async () => {
    const app = { ...APP_CLIENTS.spa, clientId: 'revoked-spa' };
    await broker.deps.directory.putAppClient(app);
    const before = await redeem(await signIn(app));
    const code = await signIn(app);
    await broker.deps.directory.revokeAppClientTokens(app.clientId, broker.clock.now);
    expect(await introspect(before.access_token)).toEqual({ active: false });
    expectError(await token(refreshForm(app, before.refresh_token!)), 400, 'invalid_grant');
    // A code issued before the revocation yields no tokens either.
    expectError(await token(codeForm(code)), 400, 'invalid_grant');
    broker.clock.advance(1);
    expect(await introspect((await redeem(await signIn(app))).access_token)).toMatchObject({ active: true });
  });

  it('removing the client: its tokens are inactive and it can no longer refresh', async () => {
    const app = { ...APP_CLIENTS.spa, clientId: 'removed-spa' };
    await broker.deps.directory.putAppClient(app);
    const tokens = await redeem(await signIn(app));
    await broker.deps.directory.deleteAppClient(app.clientId);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expectError(await token(refreshForm(app, tokens.refresh_token!)), 401, 'invalid_client');
  });

  it('a password change ends the customer’s grants too (they are in the customer’s session index)', async () => {
    const tokens = await redeem(await signIn(mobile));
    const selectors = await broker.deps.sessions.listCustomerSessions('acme', ANN.email);
    expect(selectors).toContain(selectorOf(tokens.access_token));
  });
});

describe('concurrency', () => {
  it('50 concurrent redemptions of one code: exactly one 200, 49 invalid_grant, no 5xx; the replays revoke the winner’s tokens', async () => {
    const flow = await signIn(mobile);
    const answers = await Promise.all(Array.from({ length: 50 }, () => token(codeForm(flow))));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    const losers = answers.filter((a) => a.status !== 200);
    expect(losers.map((a) => `${a.status} ${a.body.error}`)).toEqual(Array(49).fill('400 invalid_grant'));
    // RFC 6749 section 4.1.2: every loser presented a redeemed code, so the code's tokens are revoked.
    const winner = answers.find((a) => a.status === 200)!.body;
    expect(await introspect(winner.access_token)).toEqual({ active: false });
    expectError(await token(refreshForm(mobile, winner.refresh_token)), 400, 'invalid_grant');
  });

  it('20 concurrent refreshes of one grant refresh token: one rotation, everyone the same successor or invalid_grant', async () => {
    const tokens = await redeem(await signIn(mobile));
    const answers = await Promise.all(Array.from({ length: 20 }, () => token(refreshForm(mobile, tokens.refresh_token!))));
    expect(answers.filter((a) => a.status !== 200 && !(a.status === 400 && a.body.error === 'invalid_grant'))).toEqual([]);
    const successors = new Set(answers.filter((a) => a.status === 200).map((a) => a.body.refresh_token as string));
    expect(successors.size).toBe(1);
    const family = await broker.deps.sessions.findSession(selectorOf(tokens.refresh_token!));
    expect(family?.consumedHashes).toHaveLength(1);
    expect((await refresh(mobile, [...successors][0]!)).expires_in).toBe(300);
  });
});
