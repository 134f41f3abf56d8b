import { DEFAULTS } from '../../functions/config.js';
import type { InitializeMiddleware } from '@smithy/types';
import { createRemoteJWKSet, decodeJwt, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS, testSeed } from '../support/seed.js';

/**
 * JWT access tokens (RFC 9068, contract section 9) for a service client, over HTTP against local
 * mode: a downstream service verifies them with the JWK Set alone, and introspection stays
 * authoritative (a revoked, tampered or forged JWT is inactive there).
 */

const LEDGER = { id: 'ledger-svc', secret: 'ledger-secret-0001', audience: 'https://ledger.internal' };
const insecure = { [oauth.allowInsecureRequests]: true } as const;

let broker: TestBroker;
let jwks: ReturnType<typeof createRemoteJWKSet>;

/** The test seed plus a service client of its own (the other test files keep theirs opaque). */
function seedWithLedger() {
  const seed = testSeed();
  (seed.tenants.acme.serviceClients as Record<string, object>)[LEDGER.id] = {
    secret: LEDGER.secret,
    scopes: ['ledger.read', 'ledger.write'],
    profile: 'oauth2',
    accessTokenFormat: 'jwt',
    audience: LEDGER.audience,
  };
  return seed;
}

beforeAll(async () => {
  broker = await startTestBroker(seedWithLedger());
  jwks = createRemoteJWKSet(new URL(`${broker.issuer}/.well-known/jwks.json`));
});

afterAll(() => broker.stop());

const at = () => new Date(broker.clock.now * 1000);

async function ledgerToken(scope?: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const response = await postForm(
    `${broker.url}/oauth/token`,
    { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
    { authorization: basic(LEDGER.id, LEDGER.secret), ...headers },
  );
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function introspect(token: string, id = 'reports-svc', secret = TEST_SECRETS.reports): Promise<Record<string, unknown>> {
  const response = await postForm(`${broker.url}/oauth/introspect`, { token }, { authorization: basic(id, secret) });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** What a downstream service does without the broker: the JWK Set, the issuer, its audience, the type. */
const verify = (token: string) =>
  jwtVerify(token, jwks, { issuer: broker.issuer, audience: LEDGER.audience, typ: 'at+jwt', algorithms: ['ES256'], currentDate: at() });

describe('a service client with accessTokenFormat jwt', () => {
  it('gets a JWT that jose verifies with the JWKS alone, with the claims of section 9', async () => {
    const body = await ledgerToken('ledger.read');
    // Contract section 9: the body is unchanged but for the token's form (oauth2 profile, section 3).
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'session_idle_time', 'token_type']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 1000, scope: 'ledger.read tenant=acme' });
    const { payload, protectedHeader } = await verify(body.access_token as string);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' });
    expect(payload).toEqual({
      iss: broker.issuer,
      sub: LEDGER.id,
      aud: LEDGER.audience,
      client_id: LEDGER.id,
      scope: 'ledger.read tenant=acme',
      tenant: 'acme',
      iat: broker.clock.now,
      exp: broker.clock.now + 1000,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}$/),
    });
  });

  it('is what a strict RFC 6749 client (oauth4webapi) accepts, and the cache hands the same JWT back', async () => {
    const issuer = new URL(broker.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const client = { client_id: LEDGER.id };
    const request = () =>
      oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost(LEDGER.secret), new URLSearchParams(), insecure);
    const first = await oauth.processClientCredentialsResponse(as, client, await request());
    broker.clock.advance(10);
    const again = await oauth.processClientCredentialsResponse(as, client, await request());
    expect(again.access_token).toBe(first.access_token);
    expect(again.expires_in).toBe((first.expires_in ?? 0) - 10);
    expect(decodeJwt(first.access_token).scope).toBe(first.scope);
  });

  it('has the configured issuer as iss whatever Host says', async () => {
    const body = await ledgerToken('ledger.write', { host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    expect(decodeJwt(body.access_token as string).iss).toBe(broker.issuer);
  });

  it('is active at introspection, with the record’s claims', async () => {
    const token = (await ledgerToken()).access_token as string;
    const { payload } = await verify(token);
    expect(await introspect(token)).toEqual({
      active: true,
      scope: payload.scope,
      client_id: LEDGER.id,
      token_type: 'Bearer',
      exp: payload.exp,
      iat: payload.iat,
      sub: LEDGER.id,
      tenant: 'acme',
    });
  });

  it('revoked: inactive at introspection, though a signature-only verifier still accepts it until exp', async () => {
    const token = (await ledgerToken('ledger.write')).access_token as string;
    expect(await introspect(token)).toMatchObject({ active: true });
    const revoked = await postForm(`${broker.url}/oauth/revoke`, { token }, { authorization: basic(LEDGER.id, LEDGER.secret) });
    expect(revoked.status).toBe(200);
    expect(await introspect(token)).toEqual({ active: false });
    // Why introspection is authoritative (contract section 9): the signature cannot know.
    await expect(verify(token)).resolves.toBeDefined();
    // And the cache no longer hands the revoked JWT out.
    expect((await ledgerToken('ledger.write')).access_token).not.toBe(token);
  });

  it('is inactive to a caller of another tenant', async () => {
    const token = (await ledgerToken()).access_token as string;
    expect(await introspect(token, 'globex-svc', TEST_SECRETS.globex)).toEqual({ active: false });
  });

  it('tampered with (a claim changed, the signature kept): inactive, and refused by the verifier too', async () => {
    const token = (await ledgerToken()).access_token as string;
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'ledger.read ledger.write ledger.admin tenant=acme' })).toString(
      'base64url',
    );
    const tampered = `${header}.${widened}.${signature}`;
    expect(await introspect(tampered)).toEqual({ active: false });
    await expect(verify(tampered)).rejects.toThrow();
    expect(await introspect(token)).toMatchObject({ active: true });
  });

  it('forged with another key around a real jti: inactive, and revoking it leaves the real token alive', async () => {
    const token = (await ledgerToken()).access_token as string;
    const real = decodeJwt(token);
    const attacker = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...real })
      .setProtectedHeader({ alg: 'ES256', kid: 'attacker', typ: 'at+jwt' })
      .sign(attacker.privateKey);
    expect(decodeJwt(forged).jti).toBe(real.jti);
    expect(await introspect(forged)).toEqual({ active: false });
    await postForm(`${broker.url}/oauth/revoke`, { token: forged }, { authorization: basic(LEDGER.id, LEDGER.secret) });
    expect(await introspect(token)).toMatchObject({ active: true });
  });

  it('malformed or over-long JWT-shaped tokens: inactive, never an error', async () => {
    const token = (await ledgerToken()).access_token as string;
    for (const bad of [`${token}.x`, token.replace(/\./g, ''), `${token}${'A'.repeat(5000)}`, `${token.split('.')[0]}..`]) {
      expect(await introspect(bad)).toEqual({ active: false });
    }
  });

  it('costs the same round trips as an opaque token: one read from the cache; a miss adds the record and the entry', async () => {
    let calls: string[] = [];
    const count: InitializeMiddleware<any, any> = (next, context) => (args) => {
      calls.push((context.commandName as string).replace(/Command$/, ''));
      return next(args);
    };
    broker.dynamoClient.middlewareStack.add(count, { step: 'initialize', name: 'countJwtRoundTrips' });
    try {
      await ledgerToken(); // the signing key and the directory are warm, as on a running function
      const roundTrips = async (request: () => Promise<unknown>) => {
        calls = [];
        await request();
        return [...calls].sort();
      };
      // A share near zero: the cached token is past its reuse point, so the request mints. The
      // clock is moved past the near cache's bound first, so the table is asked, as on an
      // instance that did not mint the cached token itself.
      broker.deps.serviceTokenReuseShare = Number.MIN_VALUE;
      broker.clock.advance(DEFAULTS.serviceTokenNearCacheSeconds);
      expect(await roundTrips(() => ledgerToken())).toEqual(['GetItem', 'PutItem', 'PutItem']);
      broker.deps.serviceTokenReuseShare = 0.5;
      expect(await roundTrips(() => ledgerToken())).toEqual([]);
      broker.clock.advance(DEFAULTS.serviceTokenNearCacheSeconds);
      expect(await roundTrips(() => ledgerToken())).toEqual(['GetItem']);
      const token = (await ledgerToken()).access_token as string;
      expect(await roundTrips(() => introspect(token))).toEqual(['GetItem']);
    } finally {
      broker.deps.serviceTokenReuseShare = 0.5;
      broker.dynamoClient.middlewareStack.remove('countJwtRoundTrips');
    }
  });
});
