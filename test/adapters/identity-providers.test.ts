import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { identityProviderClient } from '../../functions/adapters/identity-providers.js';
import { ExternalTokenRejected, ServiceUnavailable } from '../../functions/domain/errors.js';
import type { IdentityProvider } from '../../functions/domain/federation.js';
import { newEcKey, type OidcProviderFixture, startOidcProvider } from '../support/oidc-provider.js';

/**
 * The identity-provider adapter against a real oidc-provider on loopback (contract section 10,
 * issue 11 items 1, 2, 3, 5): code exchange, ID-token and access-token checks, the JWKS refetch,
 * the discovery rules, and the 5 s budget. No part of the provider is mocked; a "broken" provider
 * is the real one with an answer rewritten (fixture `rewrite`).
 */

let idp: OidcProviderFixture;
let provider: IdentityProvider;
const secrets = async (tenant: string, name: string) => (tenant === 'acme' && name === 'default' ? idp.clientSecret : undefined);

beforeAll(async () => {
  idp = await startOidcProvider();
  provider = {
    name: 'default',
    issuer: idp.issuer,
    clientId: idp.clientId,
    redirectUri: idp.redirectUri,
    customerIdentifier: 'EMAIL',
    autoProvision: false,
    validation: 'jwks',
  };
});
afterAll(() => idp.stop());
afterEach(() => {
  idp.setSlow(0);
  idp.setDiscovery(undefined);
  idp.rewrite('/token', undefined);
});

/** The error a promise rejects with; fails the test when it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Neither the message nor the cause of an error repeats a secret, a code or a token. */
function expectNothingSecret(error: Error, ...secretsSeen: string[]) {
  const text = `${error.message} ${String((error as { cause?: unknown }).cause)} ${JSON.stringify(error)}`;
  for (const secret of [idp.clientSecret, ...secretsSeen]) expect(text).not.toContain(secret);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('exchangeCode', () => {
  const client = identityProviderClient(secrets);

  it('exchanges a good code: the identity (email trimmed, lower-cased, verified) and the provider tokens', async () => {
    const code = await idp.getCode({ login: 'ann' });
    const tokens = await client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri });
    expect(tokens.identity).toEqual({ issuer: idp.issuer, subject: 'ann', email: 'ann@example.com', emailVerified: true });
    expect(claimsOf(tokens.idToken).aud).toBe(idp.clientId);
    expect(tokens.accessToken.length).toBeGreaterThan(20);
  });

  it('an unverified email is kept but not verified; a user without an email has none', async () => {
    const bob = await client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'bob' }), redirectUri: idp.redirectUri });
    expect(bob.identity).toEqual({ issuer: idp.issuer, subject: 'bob', email: 'bob@example.com', emailVerified: false });
    const nomail = await client.exchangeCode('acme', provider, {
      code: await idp.getCode({ login: 'nomail' }),
      redirectUri: idp.redirectUri,
    });
    expect(nomail.identity).toEqual({ issuer: idp.issuer, subject: 'nomail', emailVerified: false });
  });

  it('a used code is refused (the provider answers invalid_grant): ExternalTokenRejected', async () => {
    const code = await idp.getCode({ login: 'ann' });
    await client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri });
    const error = await failure(client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri }));
    expect(error).toBeInstanceOf(ExternalTokenRejected);
    expect(error.message).toContain('invalid_grant');
    expectNothingSecret(error, code);
  });

  it('a made-up code and a redirect_uri other than the one of the authorization are refused', async () => {
    expect(await failure(client.exchangeCode('acme', provider, { code: 'not-a-code', redirectUri: idp.redirectUri }))).toBeInstanceOf(
      ExternalTokenRejected,
    );
    const code = await idp.getCode({ login: 'ann' });
    const error = await failure(client.exchangeCode('acme', provider, { code, redirectUri: 'https://other.example/cb' }));
    expect(error).toBeInstanceOf(ExternalTokenRejected);
    expectNothingSecret(error, code);
  });

  it('checks the nonce when one is given', async () => {
    const code = await idp.getCode({ login: 'ann', nonce: 'nonce-one' });
    const error = await failure(client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri, nonce: 'nonce-two' }));
    expect(error).toBeInstanceOf(ExternalTokenRejected);
    expect(error.message).toContain('nonce');
    const good = await idp.getCode({ login: 'ann', nonce: 'nonce-one' });
    const tokens = await client.exchangeCode('acme', provider, { code: good, redirectUri: idp.redirectUri, nonce: 'nonce-one' });
    expect(tokens.identity.subject).toBe('ann');
  });

  it('passes the PKCE verifier through: the right one works, a wrong one is refused by the provider', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const codeChallenge = createHash('sha256').update(verifier).digest('base64url');
    const code = await idp.getCode({ login: 'ann', codeChallenge });
    const tokens = await client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri, codeVerifier: verifier });
    expect(tokens.identity.subject).toBe('ann');
    const other = await idp.getCode({ login: 'ann', codeChallenge });
    const error = await failure(
      client.exchangeCode('acme', provider, {
        code: other,
        redirectUri: idp.redirectUri,
        codeVerifier: randomBytes(32).toString('base64url'),
      }),
    );
    expect(error).toBeInstanceOf(ExternalTokenRejected);
  });

  it('refuses an ID token with alg none, with HS256 (keyed with the client secret), or from a foreign signer', async () => {
    const foreign = await newEcKey(idp.privateJwk.kid);
    const forgeries: Record<string, (idToken: string) => Promise<string>> = {
      none: async (idToken) => `${b64({ alg: 'none' })}.${idToken.split('.')[1]}.`,
      HS256: async (idToken) => {
        const input = `${b64({ alg: 'HS256', kid: idp.privateJwk.kid })}.${idToken.split('.')[1]}`;
        return `${input}.${createHmac('sha256', idp.clientSecret).update(input).digest('base64url')}`;
      },
      'foreign ES256 with the provider kid': (idToken) => idp.signAccessToken(claimsOf(idToken), { privateJwk: foreign }),
    };
    for (const [name, forge] of Object.entries(forgeries)) {
      idp.rewrite('/token', async (body) => ({ body: { ...body, id_token: await forge(String(body.id_token)) } }));
      const code = await idp.getCode({ login: 'ann' });
      const error = await failure(client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri }));
      expect(error, name).toBeInstanceOf(ExternalTokenRejected);
    }
  });

  it('refuses an ID token for another audience or from another issuer, and a token answer without an ID token', async () => {
    const cases: Array<(claims: Record<string, unknown>) => Record<string, unknown>> = [
      (claims) => ({ ...claims, aud: 'someone-else' }),
      (claims) => ({ ...claims, iss: 'https://evil.example' }),
      (claims) => ({ ...claims, exp: nowSeconds() - 3600 }),
    ];
    for (const change of cases) {
      idp.rewrite('/token', async (body) => ({
        body: { ...body, id_token: await idp.signAccessToken(change(claimsOf(String(body.id_token)))) },
      }));
      const error = await failure(
        client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri }),
      );
      expect(error).toBeInstanceOf(ExternalTokenRejected);
    }
    idp.rewrite('/token', async (body) => ({ body: { ...body, id_token: undefined } }));
    const error = await failure(
      client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri }),
    );
    expect(error).toBeInstanceOf(ExternalTokenRejected);
  });

  it('a 5xx from the token endpoint is ServiceUnavailable with Retry-After', async () => {
    idp.rewrite('/token', () => ({ status: 502, body: { error: 'bad_gateway' } }));
    const error = await failure(
      client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri }),
    );
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect((error as ServiceUnavailable).retryAfter).toBeGreaterThan(0);
  });

  it('a wrong client secret (the provider answers invalid_client) is a configuration fault: ServiceUnavailable, not 401', async () => {
    const wrong = identityProviderClient(async () => 'not-the-secret-0000');
    const error = await failure(
      wrong.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri }),
    );
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(String((error as ServiceUnavailable).cause)).toContain('invalid_client');
    expectNothingSecret(error, 'not-the-secret-0000');
  });

  it('a redirect from the token endpoint is not followed (no URL but the configured ones is fetched): ServiceUnavailable', async () => {
    const before = idp.hits.get('/jwks') ?? 0;
    idp.rewrite('/token', () => ({ status: 307, body: '', headers: { location: `${idp.issuer}/jwks` } }));
    const error = await failure(
      client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri }),
    );
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(idp.hits.get('/jwks') ?? 0).toBe(before);
  });

  it('an answer larger than 256 KB is not read to the end: ServiceUnavailable', async () => {
    idp.rewrite('/token', (body) => ({ body: { ...body, padding: 'x'.repeat(300 * 1024) } }));
    const error = await failure(
      client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri }),
    );
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(String((error as ServiceUnavailable).cause)).toContain('more than');
  });

  it('a provider without a configured secret is unavailable (a configuration fault), before any token call', async () => {
    const before = idp.hits.get('/token') ?? 0;
    const error = await failure(
      client.exchangeCode(
        'acme',
        { ...provider, name: 'other' },
        { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri },
      ),
    );
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(idp.hits.get('/token') ?? 0).toBe(before);
  });
});

describe('discovery rules', () => {
  it('a discovery document naming another issuer: ServiceUnavailable, not cached, nothing else fetched', async () => {
    const client = identityProviderClient(secrets);
    idp.setDiscovery((document) => ({ ...document, issuer: 'https://evil.example' }));
    const tokenHits = idp.hits.get('/token') ?? 0;
    const code = await idp.getCode({ login: 'ann' });
    const error = await failure(client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri }));
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(idp.hits.get('/token') ?? 0).toBe(tokenHits);
    // The failure is not cached: the provider fixed, the next request works.
    idp.setDiscovery(undefined);
    expect((await client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri })).identity.subject).toBe('ann');
  });

  it('an endpoint over plain http to a non-loopback host is refused without calling it', async () => {
    const client = identityProviderClient(secrets);
    idp.setDiscovery((document) => ({ ...document, token_endpoint: 'http://example.com/token' }));
    const error = await failure(client.exchangeCode('acme', provider, { code: 'any-code', redirectUri: idp.redirectUri }));
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(String((error as ServiceUnavailable).cause)).toContain('token_endpoint');
  });

  it('the discovery document is fetched once and reused', async () => {
    const client = identityProviderClient(secrets);
    const before = idp.hits.get('/.well-known/openid-configuration') ?? 0;
    for (const login of ['ann', 'cid']) {
      await client.exchangeCode('acme', provider, { code: await idp.getCode({ login }), redirectUri: idp.redirectUri });
    }
    expect(idp.hits.get('/.well-known/openid-configuration')).toBe(before + 1);
  });
});

describe('verifyAccessToken (jwks)', () => {
  const client = identityProviderClient(secrets);
  const configured = () => ({ ...provider, audience: 'https://api.acme.example', authorizedParty: 'acme-shop' });
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: idp.issuer,
    sub: 'user-42',
    aud: 'https://api.acme.example',
    azp: 'acme-shop',
    exp: nowSeconds() + 600,
    iat: nowSeconds(),
    email: 'Cid@Example.com ',
    email_verified: true,
    ...extra,
  });

  it('accepts a token signed by the provider with the configured aud and azp', async () => {
    const identity = await client.verifyAccessToken('acme', configured(), await idp.signAccessToken(claims()));
    expect(identity).toEqual({ issuer: idp.issuer, subject: 'user-42', email: 'cid@example.com', emailVerified: true });
  });

  it('email_verified must be literally true', async () => {
    const identity = await client.verifyAccessToken('acme', configured(), await idp.signAccessToken(claims({ email_verified: 'true' })));
    expect(identity.emailVerified).toBe(false);
  });

  it('refuses wrong aud, wrong azp, expired, another iss, no sub, a foreign signer, alg none and HS256', async () => {
    const foreign = await newEcKey(idp.privateJwk.kid);
    const unsigned = `${b64({ alg: 'none' })}.${b64(claims())}.`;
    const hmacInput = `${b64({ alg: 'HS256', kid: idp.privateJwk.kid })}.${b64(claims())}`;
    const tokens: Record<string, string> = {
      'wrong aud': await idp.signAccessToken(claims({ aud: 'https://other.example' })),
      'wrong azp': await idp.signAccessToken(claims({ azp: 'other-app' })),
      'no azp': await idp.signAccessToken(claims({ azp: undefined })),
      expired: await idp.signAccessToken(claims({ exp: nowSeconds() - 120 })),
      'other iss': await idp.signAccessToken(claims({ iss: 'https://evil.example' })),
      'no sub': await idp.signAccessToken(claims({ sub: undefined })),
      'foreign signer': await idp.signAccessToken(claims(), { privateJwk: foreign }),
      'alg none': unsigned,
      HS256: `${hmacInput}.${createHmac('sha256', idp.clientSecret).update(hmacInput).digest('base64url')}`,
      garbage: 'not.a.jwt',
    };
    for (const [name, token] of Object.entries(tokens)) {
      const error = await failure(client.verifyAccessToken('acme', configured(), token));
      expect(error, name).toBeInstanceOf(ExternalTokenRejected);
      expectNothingSecret(error, token);
    }
  });

  it('without aud / azp configured, any audience of this issuer passes', async () => {
    const identity = await client.verifyAccessToken(
      'acme',
      provider,
      await idp.signAccessToken(claims({ aud: 'anything', azp: undefined })),
    );
    expect(identity.subject).toBe('user-42');
  });
});

describe('verifyAccessToken (introspection)', () => {
  const client = identityProviderClient(secrets);
  const introspecting = () => ({ ...provider, validation: 'introspection' as const });

  it('accepts the provider access token by its introspection endpoint, with azp = the client it was issued to', async () => {
    const tokens = await client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'ann' }), redirectUri: idp.redirectUri });
    const identity = await client.verifyAccessToken('acme', { ...introspecting(), authorizedParty: idp.clientId }, tokens.accessToken);
    expect(identity).toEqual({ issuer: idp.issuer, subject: 'ann', email: 'ann@example.com', emailVerified: true });
    const error = await failure(client.verifyAccessToken('acme', { ...introspecting(), authorizedParty: 'other-app' }, tokens.accessToken));
    expect(error).toBeInstanceOf(ExternalTokenRejected);
  });

  it('an unknown token is inactive: ExternalTokenRejected', async () => {
    const token = randomBytes(32).toString('base64url');
    const error = await failure(client.verifyAccessToken('acme', introspecting(), token));
    expect(error).toBeInstanceOf(ExternalTokenRejected);
    expectNothingSecret(error, token);
  });
});

describe('keys: an unknown kid is refetched, at most once per cooldown', () => {
  it('with the cooldown over, a new provider key is picked up; within it, the token is refused', async () => {
    const eager = identityProviderClient(secrets, { jwksCooldownMs: 0 });
    const patient = identityProviderClient(secrets);
    const claims = () => ({ iss: idp.issuer, sub: 'user-7', exp: nowSeconds() + 600 });
    await eager.verifyAccessToken('acme', provider, await idp.signAccessToken(claims()));
    await patient.verifyAccessToken('acme', provider, await idp.signAccessToken(claims()));

    await idp.restart({ newKey: true });
    const jwksBefore = idp.hits.get('/jwks') ?? 0;
    const token = await idp.signAccessToken(claims());
    expect((await eager.verifyAccessToken('acme', provider, token)).subject).toBe('user-7');
    const error = await failure(patient.verifyAccessToken('acme', provider, token));
    expect(error).toBeInstanceOf(ExternalTokenRejected);
    expect(error.message).toContain('ERR_JWKS_NO_MATCHING_KEY');
    // One refetch (the eager client's); the patient one did not fetch within its cooldown.
    expect(idp.hits.get('/jwks')).toBe(jwksBefore + 1);
  });
});

describe('bounded calls', () => {
  it('the provider stopped: ServiceUnavailable with Retry-After (cached discovery or not)', async () => {
    const warm = identityProviderClient(secrets);
    await warm.verifyAccessToken('acme', provider, await idp.signAccessToken({ iss: idp.issuer, sub: 'x', exp: nowSeconds() + 60 }));
    await idp.stop();
    try {
      for (const client of [warm, identityProviderClient(secrets)]) {
        const error = await failure(client.exchangeCode('acme', provider, { code: 'some-code', redirectUri: idp.redirectUri }));
        expect(error).toBeInstanceOf(ServiceUnavailable);
        expect((error as ServiceUnavailable).retryAfter).toBeGreaterThan(0);
        // A fresh connection is refused; a kept-alive one finds its socket closed.
        expect(String((error as ServiceUnavailable).cause)).toMatch(/ECONNREFUSED|UND_ERR_SOCKET/);
      }
    } finally {
      await idp.restart();
    }
  });

  it('a provider slower than the budget: ServiceUnavailable well before 8 s, one budget across discovery and token calls', async () => {
    const client = identityProviderClient(secrets);
    const code = await idp.getCode({ login: 'ann' });
    // Discovery answers after 3 s, the token endpoint after 3 s more: each alone is in time, together not.
    idp.setSlow(3000, ['/.well-known', '/token']);
    const started = performance.now();
    const error = await failure(client.exchangeCode('acme', provider, { code, redirectUri: idp.redirectUri }));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(String((error as ServiceUnavailable).cause)).toContain('budget');
    expect(elapsed).toBeLessThan(8000);
  }, 20_000);

  it('a secrets source that does not answer in time: ServiceUnavailable within the budget', async () => {
    const stuck = identityProviderClient(() => new Promise<string>(() => {}), { budgetMs: 300 });
    const error = await failure(stuck.exchangeCode('acme', provider, { code: 'any-code', redirectUri: idp.redirectUri }));
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(String((error as ServiceUnavailable).cause)).toContain('budget');
  });

  it('a JWKS that does not answer in time: ServiceUnavailable within the budget', async () => {
    const client = identityProviderClient(secrets);
    idp.setSlow(9000, ['/jwks']);
    const started = performance.now();
    const error = await failure(
      client.verifyAccessToken('acme', provider, await idp.signAccessToken({ iss: idp.issuer, sub: 'x', exp: nowSeconds() + 60 })),
    );
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect(performance.now() - started).toBeLessThan(8000);
  }, 20_000);
});
