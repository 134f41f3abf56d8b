import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ServiceUnavailable } from '../../functions/domain/errors.js';
import {
  DISCOVERY_KEYS_CACHE_SECONDS,
  JWKS_MAX_AGE_SECONDS,
  KEY_CACHES_SECONDS,
  liveKeys,
  newSigningKey,
  PUBLICATION_LEAD_SECONDS,
  retireSigningKeys,
  rotateSigningKeys,
  SIGNING_KEYS_CACHE_SECONDS,
  signingKeyAt,
  signSaasToken,
  type PrivateSigningKey,
  type PublishedKey,
  type SaasClaims,
  type SigningKeys,
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

describe('liveKeys', () => {
  const key = (kid: string, notAfter?: number): PublishedKey => ({ jwk: { kty: 'EC', kid }, notAfter });

  it('serves the active key always and a retired key until its notAfter', () => {
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

/** A key pair that is only a name: the rotation rule never looks inside the JWKs. */
const fake = (kid: string) => ({
  privateKey: { kid, privateJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, d: `d-${kid}`, kid }, createdAt: NOW },
  published: { jwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, kid, alg: 'ES256', use: 'sig' } },
});
const EMPTY: SigningKeys = { privateKeys: [], published: [] };
const kids = (keys: { kid?: string }[]) => keys.map((key) => key.kid);
const served = (state: SigningKeys, at: number) => kids(liveKeys(state.published, at));

describe('the cache times a rotation waits out', () => {
  it('publish a new key at least the JWKS max-age, the discovery cache and the private-key cache before it signs', () => {
    expect(PUBLICATION_LEAD_SECONDS).toBeGreaterThanOrEqual(
      JWKS_MAX_AGE_SECONDS + DISCOVERY_KEYS_CACHE_SECONDS + SIGNING_KEYS_CACHE_SECONDS,
    );
    expect(KEY_CACHES_SECONDS).toBe(JWKS_MAX_AGE_SECONDS + DISCOVERY_KEYS_CACHE_SECONDS + SIGNING_KEYS_CACHE_SECONDS);
    const first = rotateSigningKeys(EMPTY, fake('old'), NOW, LIFETIME);
    const rotated = rotateSigningKeys(first, fake('new'), NOW + 10, LIFETIME);
    expect(rotated.privateKeys[0]).toMatchObject({ kid: 'new', activatesAt: NOW + 10 + PUBLICATION_LEAD_SECONDS });
  });
});

describe('signingKeyAt', () => {
  const stored = (kid: string, activatesAt?: number): PrivateSigningKey => ({ ...fake(kid).privateKey, activatesAt });

  it('signs with the newest key whose activation has come, from its very second', () => {
    const keys = [stored('pending', NOW + 660), stored('current', NOW - 100), stored('older', NOW - 9000)];
    expect(signingKeyAt(keys, NOW).kid).toBe('current');
    expect(signingKeyAt(keys, NOW + 659).kid).toBe('current');
    expect(signingKeyAt(keys, NOW + 660).kid).toBe('pending');
    // Whatever the stored order.
    expect(signingKeyAt([...keys].reverse(), NOW).kid).toBe('current');
  });

  it('reads keys stored before activation times existed as active, the first (newest) in use', () => {
    expect(signingKeyAt([stored('legacy-newest'), stored('legacy-older')], NOW).kid).toBe('legacy-newest');
    expect(signingKeyAt([stored('pending', NOW + 660), stored('legacy')], NOW).kid).toBe('legacy');
    expect(signingKeyAt([stored('pending', NOW + 660), stored('legacy')], NOW + 660).kid).toBe('pending');
  });

  it('falls back to the first key to activate when none has yet (a signer whose clock runs behind)', () => {
    expect(signingKeyAt([stored('later', NOW + 700), stored('sooner', NOW + 5)], NOW).kid).toBe('sooner');
  });

  it('is a 503 without any key', () => {
    expect(() => signingKeyAt([], NOW)).toThrow(ServiceUnavailable);
  });
});

describe('rotateSigningKeys and retireSigningKeys', () => {
  it('publishes the first key alone, active at once', () => {
    const first = rotateSigningKeys(EMPTY, fake('first'), NOW, LIFETIME);
    expect(first.privateKeys).toEqual([{ ...fake('first').privateKey, activatesAt: NOW }]);
    expect(first.published).toEqual([fake('first').published]);
    expect(signingKeyAt(first.privateKeys, NOW).kid).toBe('first');
  });

  it('publishes the new key at once, keeps signing with the old one until the lead time is over, and keeps the old one published until its tokens and every cache have expired', () => {
    const first = rotateSigningKeys(EMPTY, fake('old'), NOW, LIFETIME);
    const rotatedAt = NOW + 1000;
    const rotated = rotateSigningKeys(first, fake('new'), rotatedAt, LIFETIME);
    const activatesAt = rotatedAt + PUBLICATION_LEAD_SECONDS;
    const notAfter = activatesAt + LIFETIME + KEY_CACHES_SECONDS;
    expect(kids(rotated.privateKeys)).toEqual(['new', 'old']);
    expect(rotated.published).toEqual([fake('new').published, { ...fake('old').published, notAfter }]);

    expect(served(rotated, rotatedAt)).toEqual(['new', 'old']);
    expect(signingKeyAt(rotated.privateKeys, rotatedAt).kid).toBe('old');
    expect(signingKeyAt(rotated.privateKeys, activatesAt - 1).kid).toBe('old');
    expect(signingKeyAt(rotated.privateKeys, activatesAt).kid).toBe('new');
    expect(served(rotated, notAfter - 1)).toEqual(['new', 'old']);
    expect(served(rotated, notAfter)).toEqual(['new']);

    // A seed after the activation drops the old private key; one after notAfter, its public key.
    const later = retireSigningKeys(rotated, activatesAt, LIFETIME);
    expect(kids(later.privateKeys)).toEqual(['new']);
    expect(later.published).toEqual(rotated.published);
    const pruned = retireSigningKeys(later, notAfter, LIFETIME);
    expect(pruned).toEqual({ privateKeys: later.privateKeys, published: [fake('new').published] });
  });

  it('changes nothing when a seed is applied again', () => {
    const first = rotateSigningKeys(EMPTY, fake('old'), NOW, LIFETIME);
    const rotated = rotateSigningKeys(first, fake('new'), NOW + 10, LIFETIME);
    expect(retireSigningKeys(first, NOW + 10, LIFETIME)).toEqual(first);
    expect(retireSigningKeys(rotated, NOW + 10, LIFETIME)).toEqual(rotated);
    expect(retireSigningKeys(rotated, NOW + 20, LIFETIME)).toEqual(rotated);
  });

  it('retires each key after its own successor when rotations follow one another within the lead time', () => {
    const first = rotateSigningKeys(EMPTY, fake('a'), NOW, LIFETIME);
    const second = rotateSigningKeys(first, fake('b'), NOW + 100, LIFETIME);
    const third = rotateSigningKeys(second, fake('c'), NOW + 200, LIFETIME);
    expect(kids(third.privateKeys)).toEqual(['c', 'b', 'a']);
    const notAfter = (kid: string) => third.published.find((key) => key.jwk.kid === kid)?.notAfter;
    expect(notAfter('c')).toBeUndefined();
    expect(notAfter('b')).toBe(NOW + 200 + PUBLICATION_LEAD_SECONDS + LIFETIME + KEY_CACHES_SECONDS);
    expect(notAfter('a')).toBe(NOW + 100 + PUBLICATION_LEAD_SECONDS + LIFETIME + KEY_CACHES_SECONDS);
    expect(signingKeyAt(third.privateKeys, NOW + 100 + PUBLICATION_LEAD_SECONDS).kid).toBe('b');
    expect(signingKeyAt(third.privateKeys, NOW + 200 + PUBLICATION_LEAD_SECONDS).kid).toBe('c');
  });

  it('rotates a key stored before activation times existed, which stays in use until the new one activates', () => {
    const legacy: SigningKeys = { privateKeys: [fake('legacy').privateKey], published: [fake('legacy').published] };
    const rotated = rotateSigningKeys(legacy, fake('new'), NOW, LIFETIME);
    expect(signingKeyAt(rotated.privateKeys, NOW + PUBLICATION_LEAD_SECONDS - 1).kid).toBe('legacy');
    expect(signingKeyAt(rotated.privateKeys, NOW + PUBLICATION_LEAD_SECONDS).kid).toBe('new');
    expect(rotated.published[1]).toEqual({
      ...fake('legacy').published,
      notAfter: NOW + PUBLICATION_LEAD_SECONDS + LIFETIME + KEY_CACHES_SECONDS,
    });
  });

  it('never serves a retired key shorter than promised, and drops keys whose time is over', () => {
    const first = rotateSigningKeys(EMPTY, fake('old'), NOW, LIFETIME);
    const rotated = rotateSigningKeys(first, fake('new'), NOW, LIFETIME);
    // A later seed with shorter customer tokens keeps the promise made under the longer ones.
    expect(retireSigningKeys(rotated, NOW + 1, 60)).toEqual(rotated);
    const withGone: SigningKeys = {
      ...rotated,
      published: [...rotated.published, { jwk: { kid: 'retiring' }, notAfter: NOW + 100 }, { jwk: { kid: 'gone' }, notAfter: NOW + 1 }],
    };
    expect(served(retireSigningKeys(withGone, NOW + 1, LIFETIME), NOW + 1)).toEqual(['new', 'old', 'retiring']);
  });

  it('repairs a partial write: a published key without its private half is retired from now; a private key without its public half is published', () => {
    const first = rotateSigningKeys(EMPTY, fake('old'), NOW, LIFETIME);
    // The seed published 'orphan' and then stopped before writing the private keys.
    const orphaned: SigningKeys = { privateKeys: first.privateKeys, published: [fake('orphan').published, ...first.published] };
    const repaired = retireSigningKeys(orphaned, NOW + 50, LIFETIME);
    expect(repaired.published).toEqual([
      { ...fake('orphan').published, notAfter: NOW + 50 + LIFETIME + KEY_CACHES_SECONDS },
      fake('old').published,
    ]);

    const lost = retireSigningKeys({ privateKeys: first.privateKeys, published: [] }, NOW + 50, LIFETIME);
    expect(lost.published).toEqual([fake('old').published]);
  });

  it('lets every token verify against any JWK Set a verifier may hold, through a rotation and the seeds after it (moved clock)', () => {
    const createdAt = NOW;
    const rotatedAt = NOW + 5000;
    const activatesAt = rotatedAt + PUBLICATION_LEAD_SECONDS;
    const oldGoneAt = activatesAt + LIFETIME + KEY_CACHES_SECONDS;
    // What the seeds wrote, and when: the first key, the rotation, and pruning seeds after it.
    const writes: [number, SigningKeys][] = [[createdAt, rotateSigningKeys(EMPTY, fake('old'), createdAt, LIFETIME)]];
    writes.push([rotatedAt, rotateSigningKeys(writes[0]![1], fake('new'), rotatedAt, LIFETIME)]);
    for (const at of [activatesAt, activatesAt + 1, oldGoneAt - 1, oldGoneAt, oldGoneAt + 1]) {
      writes.push([at, retireSigningKeys(writes.at(-1)![1], at, LIFETIME)]);
    }
    const storedAt = (t: number) => writes.filter(([at]) => at <= t).at(-1)![1];

    let checks = 0;
    for (let signedAt = rotatedAt - 20; signedAt <= activatesAt + SIGNING_KEYS_CACHE_SECONDS + 20; signedAt += 5) {
      // The signer's copy of the private keys was read at most its cache time ago.
      for (const readAt of [signedAt - SIGNING_KEYS_CACHE_SECONDS, signedAt - 1, signedAt]) {
        const kid = signingKeyAt(storedAt(readAt).privateKeys, signedAt).kid;
        for (const verifiedAt of [signedAt, signedAt + LIFETIME - 1]) {
          // The verifier's JWK Set was served up to max-age ago, from a discovery copy up to its cache time older.
          for (const servedAt of [verifiedAt - JWKS_MAX_AGE_SECONDS, verifiedAt]) {
            for (const loadedAt of [servedAt - DISCOVERY_KEYS_CACHE_SECONDS, servedAt]) {
              const jwks = liveKeys(storedAt(loadedAt).published, servedAt);
              expect(kids(jwks), `signed ${signedAt} with ${kid}, verified ${verifiedAt}, JWKS of ${servedAt}/${loadedAt}`).toContain(kid);
              checks++;
            }
          }
        }
      }
    }
    expect(checks).toBeGreaterThan(1000);
    // And no longer than that: from oldGoneAt the old key is neither stored nor served.
    expect(served(storedAt(oldGoneAt - 1), oldGoneAt - 1)).toEqual(['new', 'old']);
    expect(served(storedAt(oldGoneAt), oldGoneAt)).toEqual(['new']);
    expect(storedAt(oldGoneAt).published).toEqual([fake('new').published]);
    expect(kids(storedAt(oldGoneAt).privateKeys)).toEqual(['new']);
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
    const rotatedAt = NOW + 1000;
    const keys = rotateSigningKeys(rotateSigningKeys(EMPTY, first, NOW, LIFETIME), await newSigningKey(rotatedAt), rotatedAt, LIFETIME);
    const [second] = keys.privateKeys as [PrivateSigningKey];
    const activatesAt = rotatedAt + PUBLICATION_LEAD_SECONDS;
    // Signed with the old key at the last second before the new one activates (by a signer's cached copy, later still).
    const signedAt = activatesAt - 1 + SIGNING_KEYS_CACHE_SECONDS;
    const oldToken = await signSaasToken(claims(signedAt), signingKeyAt(keys.privateKeys, activatesAt - 1));
    expect(decodeProtectedHeader(oldToken).kid).toBe(first.privateKey.kid);
    const notAfter = keys.published.find((key) => key.jwk.kid === first.privateKey.kid)!.notAfter!;
    expect(notAfter).toBe(activatesAt + LIFETIME + KEY_CACHES_SECONDS);

    // Until the old token's own expiry, against a JWK Set served as late as then, it still verifies.
    await expect(verifyAt(oldToken, keys.published, rotatedAt, signedAt)).resolves.toMatchObject({ payload: { sub: 'C-1001' } });
    await expect(verifyAt(oldToken, keys.published, signedAt + LIFETIME - 1)).resolves.toMatchObject({
      protectedHeader: { kid: first.privateKey.kid },
    });
    // From notAfter the old key is no longer served, so nothing it signed verifies any more...
    await expect(verifyAt(oldToken, keys.published, notAfter, signedAt)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    // ...while a token of the new key does.
    const newToken = await signSaasToken(claims(notAfter - 10), signingKeyAt(keys.privateKeys, notAfter - 10));
    await expect(verifyAt(newToken, keys.published, notAfter)).resolves.toMatchObject({ protectedHeader: { kid: second.kid } });
  });
});
