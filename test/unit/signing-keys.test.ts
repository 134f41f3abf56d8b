import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  liveKeys,
  newSigningKey,
  rotatePublished,
  signSaasToken,
  type PublishedKey,
  type SaasClaims,
} from '../../functions/domain/signing-keys.js';

const NOW = 1_750_000_000;
const LIFETIME = 14_399;

const claims = (issuedAt: number): SaasClaims => ({
  issuer: 'https://broker.example.com',
  customerNumber: 'C-1001',
  tenant: 'acme',
  email: 'ada@example.com',
  sessionId: '6a1e2c7d-90b4-4c41-8d5e-2f8f3b7c9a10',
  issuedAt,
  expiresAt: issuedAt + LIFETIME,
});

/** Verifies as a downstream service would: against the JWK Set served at `servedAt`, at `at`. */
function verifyAt(token: string, published: PublishedKey[], servedAt: number, at = servedAt) {
  return jwtVerify(token, createLocalJWKSet({ keys: liveKeys(published, servedAt) }), {
    algorithms: ['ES256'],
    currentDate: new Date(at * 1000),
  });
}

describe('newSigningKey', () => {
  it('names the key by its RFC 7638 thumbprint and publishes only its public half', async () => {
    const { privateKey, published } = await newSigningKey(NOW);
    expect(privateKey.kid).toBe(await calculateJwkThumbprint(published.jwk));
    expect(privateKey.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(published.jwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: privateKey.kid, alg: 'ES256', use: 'sig' });
    expect(published.jwk).not.toHaveProperty('d');
    expect(published.notAfter).toBeUndefined();
  });

  it('keeps the private JWK, with d, alg ES256 and the same kid, for the secret store', async () => {
    const { privateKey, published } = await newSigningKey(NOW);
    expect(privateKey.createdAt).toBe(NOW);
    expect(privateKey.privateJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: privateKey.kid });
    expect(typeof privateKey.privateJwk.d).toBe('string');
    // The private JWK belongs to the published public key.
    expect(privateKey.privateJwk.x).toBe(published.jwk.x);
    expect(privateKey.privateJwk.y).toBe(published.jwk.y);
    expect(await calculateJwkThumbprint(privateKey.privateJwk)).toBe(privateKey.kid);
  });

  it('makes a different key every time', async () => {
    const [a, b] = await Promise.all([newSigningKey(NOW), newSigningKey(NOW)]);
    expect(a.privateKey.kid).not.toBe(b.privateKey.kid);
    expect(a.privateKey.privateJwk.d).not.toBe(b.privateKey.privateJwk.d);
  });
});

describe('rotatePublished and liveKeys', () => {
  const key = (kid: string, notAfter?: number): PublishedKey => ({ jwk: { kty: 'EC', kid }, notAfter });

  it('puts the new key first and retires the active one when its longest-lived token expires', () => {
    const rotated = rotatePublished([key('old')], key('new'), NOW, LIFETIME);
    expect(rotated).toEqual([key('new'), key('old', NOW + LIFETIME)]);
  });

  it('keeps retired keys still needed, unchanged, and drops those whose tokens have all expired', () => {
    const current = [key('active'), key('retiring', NOW + 100), key('just-expired', NOW), key('long-gone', NOW - 5000)];
    expect(rotatePublished(current, key('new'), NOW, LIFETIME)).toEqual([
      key('new'),
      key('active', NOW + LIFETIME),
      key('retiring', NOW + 100),
    ]);
  });

  it('publishes the first key alone', () => {
    expect(rotatePublished([], key('first'), NOW, LIFETIME)).toEqual([key('first')]);
  });

  it('serves the active key always and a retired key until the second its last token expires', () => {
    const published = [key('new'), key('old', NOW + 100)];
    expect(liveKeys(published, NOW).map((jwk) => jwk.kid)).toEqual(['new', 'old']);
    expect(liveKeys(published, NOW + 99).map((jwk) => jwk.kid)).toEqual(['new', 'old']);
    expect(liveKeys(published, NOW + 100).map((jwk) => jwk.kid)).toEqual(['new']);
    expect(liveKeys(published, NOW + 10 ** 9).map((jwk) => jwk.kid)).toEqual(['new']);
  });

  it('serves public JWKs only, exactly as published', async () => {
    const { published } = await newSigningKey(NOW);
    expect(liveKeys([published], NOW)).toEqual([published.jwk]);
  });
});

describe('signSaasToken', () => {
  it('signs an ES256 JWT with the key’s kid that verifies against the published keys, with the contract’s claims', async () => {
    const { privateKey, published } = await newSigningKey(NOW);
    const token = await signSaasToken(claims(NOW), privateKey);

    const { payload, protectedHeader } = await verifyAt(token, [published], NOW);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: privateKey.kid, typ: 'JWT' });
    expect(payload).toEqual({
      iss: 'https://broker.example.com',
      sub: 'C-1001',
      tenant: 'acme',
      email: 'ada@example.com',
      sessionId: '6a1e2c7d-90b4-4c41-8d5e-2f8f3b7c9a10',
      iat: NOW,
      exp: NOW + LIFETIME,
    });
  });

  it('carries the legal entity when the customer acts for one', async () => {
    const { privateKey, published } = await newSigningKey(NOW);
    const token = await signSaasToken({ ...claims(NOW), legalEntityId: 'LE-42' }, privateKey);
    const { payload } = await verifyAt(token, [published], NOW);
    expect(payload.legalEntityId).toBe('LE-42');
    expect(payload.sub).toBe('C-1001');
  });

  it('is refused once expired, and when tampered with', async () => {
    const { privateKey, published } = await newSigningKey(NOW);
    const token = await signSaasToken(claims(NOW), privateKey);
    await expect(verifyAt(token, [published], NOW + LIFETIME - 1)).resolves.toBeDefined();
    await expect(verifyAt(token, [published], NOW + LIFETIME)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });

    const [header, body, signature] = token.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    forged.tenant = 'globex';
    const tampered = [header, Buffer.from(JSON.stringify(forged)).toString('base64url'), signature].join('.');
    await expect(verifyAt(tampered, [published], NOW)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('is refused when its key was never published', async () => {
    const published = (await newSigningKey(NOW)).published;
    const stranger = (await newSigningKey(NOW)).privateKey;
    const token = await signSaasToken(claims(NOW), stranger);
    await expect(verifyAt(token, [published], NOW)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('keeps verifying after a rotation while the old key is live, and not after its notAfter', async () => {
    const first = await newSigningKey(NOW);
    // Signed just before the rotation, so it outlives the rotation by almost a full lifetime.
    const signedAt = NOW + 1000;
    const oldToken = await signSaasToken(claims(signedAt), first.privateKey);
    expect(decodeProtectedHeader(oldToken).kid).toBe(first.privateKey.kid);

    const rotatedAt = signedAt + 5;
    const second = await newSigningKey(rotatedAt);
    const published = rotatePublished([first.published], second.published, rotatedAt, LIFETIME);
    const notAfter = rotatedAt + LIFETIME;
    expect(published.map((k) => k.jwk.kid)).toEqual([second.privateKey.kid, first.privateKey.kid]);

    // After the rotation, until the old token's own expiry, it still verifies.
    await expect(verifyAt(oldToken, published, rotatedAt)).resolves.toMatchObject({ payload: { sub: 'C-1001' } });
    await expect(verifyAt(oldToken, published, signedAt + LIFETIME - 1)).resolves.toMatchObject({
      protectedHeader: { kid: first.privateKey.kid },
    });
    // From notAfter the old key is no longer served, so nothing it signed verifies any more...
    await expect(verifyAt(oldToken, published, notAfter)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    // ...while a token of the new key does.
    const newToken = await signSaasToken(claims(notAfter - 10), second.privateKey);
    await expect(verifyAt(newToken, published, notAfter)).resolves.toMatchObject({
      protectedHeader: { kid: second.privateKey.kid },
    });
  });
});
