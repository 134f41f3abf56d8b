import fc from 'fast-check';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_TYP, signAccessToken, type AccessTokenClaims } from '../../functions/domain/access-token-jwt.js';
import { MAX_LENGTH } from '../../functions/domain/identifiers.js';
import { liveKeys, newSigningKey } from '../../functions/domain/signing-keys.js';
import { hashToken, newSelector, parseToken } from '../../functions/domain/tokens.js';

const NOW = 1_900_000_000;
const { privateKey, published } = await newSigningKey(NOW);
const jwks = createLocalJWKSet({ keys: liveKeys([published], NOW) });

const claims: AccessTokenClaims = {
  issuer: 'https://broker.example',
  subject: 'C-1001',
  audience: 'https://reports.internal',
  clientId: 'partner-portal',
  scope: 'order.order_read tenant=acme',
  tenant: 'acme',
  issuedAt: NOW,
  expiresAt: NOW + 300,
  sessionId: '6a1e2c7d-90b4-4c41-8d5e-2f8f3b7c9a10',
  legalEntityId: 'LE-1',
};

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
/** A token of the broker's shape, unsigned: parseToken must not care, the stored hash decides. */
const shaped = (header: unknown, payload: unknown, signature = 'c2lnbmF0dXJl') => `${b64(header)}.${b64(payload)}.${signature}`;
const HEADER = { alg: 'ES256', kid: 'k', typ: 'at+jwt' };

describe('signAccessToken (RFC 9068)', () => {
  it('signs ES256 with the key’s kid and typ at+jwt, verifiable with the JWK Set alone', async () => {
    const selector = newSelector();
    const { token, hash } = await signAccessToken(claims, selector, privateKey);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: privateKey.kid, typ: 'at+jwt' });
    const { payload } = await jwtVerify(token, jwks, {
      issuer: claims.issuer,
      audience: claims.audience,
      typ: ACCESS_TOKEN_TYP,
      algorithms: ['ES256'],
      currentDate: new Date(NOW * 1000),
    });
    expect(payload).toEqual({
      iss: 'https://broker.example',
      sub: 'C-1001',
      aud: 'https://reports.internal',
      client_id: 'partner-portal',
      scope: 'order.order_read tenant=acme',
      tenant: 'acme',
      iat: NOW,
      exp: NOW + 300,
      jti: expect.stringMatching(new RegExp(`^${selector}\\.[A-Za-z0-9_-]{16}$`)),
      session_id: claims.sessionId,
      legal_entity_id: 'LE-1',
    });
    expect(hash).toBe(hashToken(token));
  });

  it('leaves out session_id and legal_entity_id when not given (a service token)', async () => {
    const { sessionId: _s, legalEntityId: _l, ...service } = claims;
    const { token } = await signAccessToken(service, newSelector(), privateKey);
    const { payload } = await jwtVerify(token, jwks, { currentDate: new Date(NOW * 1000) });
    expect(payload).not.toHaveProperty('session_id');
    expect(payload).not.toHaveProperty('legal_entity_id');
  });

  it('parses back to its selector and hash; two tokens under one selector differ', async () => {
    const selector = newSelector();
    const a = await signAccessToken(claims, selector, privateKey);
    const b = await signAccessToken(claims, selector, privateKey);
    expect(parseToken(a.token)).toEqual({ token: a.token, selector, hash: a.hash, generation: 0 });
    expect(parseToken(b.token)?.selector).toBe(selector);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).not.toBe(b.hash);
  });

  it('refuses a selector that no token could be found by', async () => {
    await expect(signAccessToken(claims, 'not-a-selector', privateKey)).rejects.toThrow(/selector/);
  });

  it('uses the key it is given, not another cached under the same kid', async () => {
    const other = await newSigningKey(NOW);
    const impostor = { ...other.privateKey, kid: privateKey.kid };
    await signAccessToken(claims, newSelector(), privateKey);
    const { token } = await signAccessToken(claims, newSelector(), impostor);
    await expect(jwtVerify(token, jwks, { currentDate: new Date(NOW * 1000) })).rejects.toThrow();
    const otherJwks = createLocalJWKSet({ keys: [{ ...other.published.jwk, kid: privateKey.kid }] });
    await expect(jwtVerify(token, otherJwks, { currentDate: new Date(NOW * 1000) })).resolves.toBeDefined();
  });

  it('stays within MAX_LENGTH.jwtAccessToken with every claim at its bound', async () => {
    const scopes: string[] = [];
    while ([...scopes, 'x'.repeat(MAX_LENGTH.scopeToken)].join(' ').length <= MAX_LENGTH.scope)
      scopes.push('x'.repeat(MAX_LENGTH.scopeToken));
    const scope = `${scopes.join(' ')} ${'y'.repeat(MAX_LENGTH.scope - scopes.join(' ').length - 1)} tenant=${'t'.repeat(MAX_LENGTH.tenant)}`;
    const largest: AccessTokenClaims = {
      issuer: `https://${'i'.repeat(MAX_LENGTH.issuer - 8)}`,
      subject: 's'.repeat(Math.max(MAX_LENGTH.customerNumber, MAX_LENGTH.clientId)),
      audience: 'a'.repeat(MAX_LENGTH.audience),
      clientId: 'c'.repeat(MAX_LENGTH.clientId),
      scope,
      tenant: 't'.repeat(MAX_LENGTH.tenant),
      issuedAt: 9_999_999_999,
      expiresAt: 9_999_999_999,
      sessionId: crypto.randomUUID(),
      legalEntityId: 'l'.repeat(MAX_LENGTH.legalEntityId),
    };
    const { token } = await signAccessToken(largest, newSelector(), privateKey);
    expect(token.length).toBeLessThanOrEqual(MAX_LENGTH.jwtAccessToken);
    expect(parseToken(token)).toBeDefined();
  });
});

describe('signAccessToken with a key that does not import', () => {
  it('fails the signature, and does not keep the failure: the next, good key under that kid signs', async () => {
    const kid = `broken-${newSelector()}`;
    const broken = { ...privateKey, kid, privateJwk: { ...privateKey.privateJwk, kid, d: 'not-a-scalar' } };
    await expect(signAccessToken(claims, newSelector(), broken)).rejects.toThrow();
    const repaired = { ...privateKey, kid, privateJwk: { ...privateKey.privateJwk, kid } };
    const { token } = await signAccessToken(claims, newSelector(), repaired);
    expect(decodeProtectedHeader(token).kid).toBe(kid);
  });
});

describe('parseToken on JWT shapes', () => {
  const selector = newSelector();
  const jti = `${selector}.${'r'.repeat(16)}`;

  it('reads the selector of the broker’s shape, signed or not (the stored hash decides)', () => {
    const token = shaped(HEADER, { jti, sub: 'x' });
    expect(parseToken(token)).toEqual({ token, selector, hash: hashToken(token), generation: 0 });
  });

  it('is not fooled by a JWT of another kind or a malformed one', () => {
    const other = newSelector();
    const bad = [
      shaped({ ...HEADER, typ: 'JWT' }, { jti }), // a saas_token or an ID token
      shaped({ ...HEADER, typ: 'application/at+jwt' }, { jti }),
      shaped({ alg: 'ES256', kid: 'k' }, { jti }),
      shaped({ ...HEADER, alg: 'none' }, { jti }),
      shaped({ ...HEADER, alg: 'HS256' }, { jti }),
      shaped(HEADER, { sub: 'x' }), // no jti
      shaped(HEADER, { jti: 42 }),
      shaped(HEADER, { jti: selector }), // no random part
      shaped(HEADER, { jti: `${selector}.${'r'.repeat(15)}` }),
      shaped(HEADER, { jti: `${selector}x.${'r'.repeat(16)}` }),
      shaped(HEADER, { jti: `${selector.slice(0, 21)}!.${'r'.repeat(16)}` }),
      // 22 characters, but not the one spelling of a 16-byte selector (its last 4 bits set).
      shaped(HEADER, { jti: `${other.slice(0, 21)}${other.endsWith('B') ? 'C' : 'B'}.${'r'.repeat(16)}` }),
      shaped(HEADER, [jti]),
      shaped(HEADER, 'null'),
      shaped(HEADER, 'not json'),
      shaped('[]', { jti }),
      `${b64(HEADER)}.${b64({ jti })}`, // two segments
      `${b64(HEADER)}.${b64({ jti })}.sig.extra`,
      `${b64(HEADER)}..sig`,
      `${b64(HEADER)}.${b64({ jti })}.`,
      `.${b64({ jti })}.sig`,
      `${b64(HEADER)}.${b64({ jti })}.si+g`,
      `${b64(HEADER)}.${b64({ jti })}.sig=`,
      ` ${shaped(HEADER, { jti })}`,
      `${shaped(HEADER, { jti })}\n`,
      shaped(HEADER, { jti, pad: 'p'.repeat(MAX_LENGTH.jwtAccessToken) }), // over-long
    ];
    for (const token of bad) expect(parseToken(token), token.slice(0, 120)).toBeUndefined();
  });

  it('takes a token of exactly the bound, and not one character more', () => {
    const prefix = `${b64(HEADER)}.${b64({ jti })}.`;
    const atBound = prefix + 's'.repeat(MAX_LENGTH.jwtAccessToken - prefix.length);
    expect(parseToken(atBound)?.selector).toBe(selector);
    expect(parseToken(`${atBound}s`)).toBeUndefined();
  });

  it('never throws, whatever the string (fuzzed)', () => {
    const segment = fc.oneof(
      fc.base64String().map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')),
      fc.string(),
      fc.jsonValue().map(b64),
      fc.record({ typ: fc.constantFrom('at+jwt', 'JWT'), alg: fc.constantFrom('ES256', 'none') }).map(b64),
      fc.record({ jti: fc.oneof(fc.string(), fc.constant(jti), fc.jsonValue()) }).map(b64),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        const token = segments.join('.');
        const parsed = parseToken(token);
        // Whatever is accepted names a 22-character selector and hashes the whole token.
        if (parsed) {
          expect(parsed.selector).toMatch(/^[A-Za-z0-9_-]{22}$/);
          expect(parsed.hash).toBe(hashToken(token));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a JWT signed by anyone: a forged one is refused later, by its hash', async () => {
    // The point of the design: parsing is not verification. A token forged with another key,
    // carrying a real selector, parses to that selector and to a hash no record holds.
    const attacker = await generateKeyPair('ES256');
    const forged = await new SignJWT({ jti, client_id: 'partner-portal' })
      .setProtectedHeader({ alg: 'ES256', kid: privateKey.kid, typ: 'at+jwt' })
      .sign(attacker.privateKey);
    const genuine = await signAccessToken(claims, selector, privateKey);
    expect(parseToken(forged)?.selector).toBe(selector);
    expect(parseToken(forged)?.hash).not.toBe(genuine.hash);
    expect(await exportJWK(attacker.publicKey)).not.toMatchObject({ x: published.jwk.x });
  });
});
