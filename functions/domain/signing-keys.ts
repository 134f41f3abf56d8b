import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { ServiceUnavailable } from './errors.js';

/**
 * ES256 keys for the customer `saas_token` (contract section 2).
 *
 * The private keys live only in Secrets Manager (the secrets file locally); the public keys are
 * published as a JWK Set that a downstream service verifies against with nothing else. Every copy
 * of either is cached somewhere, so a rotation is timed against the caches below: a new key is
 * published `PUBLICATION_LEAD_SECONDS` before anything is signed with it, and the key it replaces
 * stays published until every token it signed has expired, plus those caches.
 */

/** `Cache-Control: max-age` of `/.well-known/jwks.json`: a verifier or proxy may hold the JWK Set this long. */
export const JWKS_MAX_AGE_SECONDS = 300;
/** The discovery function's in-memory copy of the published keys. */
export const DISCOVERY_KEYS_CACHE_SECONDS = 60;
/** A signer's in-memory copy of the private keys (the storefront function; local mode alike). */
export const SIGNING_KEYS_CACHE_SECONDS = 300;
/** Every cache a key passes through, from the seed's write to a verifier's check. */
export const KEY_CACHES_SECONDS = JWKS_MAX_AGE_SECONDS + DISCOVERY_KEYS_CACHE_SECONDS + SIGNING_KEYS_CACHE_SECONDS;
/**
 * From publishing a rotated key to signing with it: by then every cached JWK Set has been
 * refetched and holds the new key, and every signer has reread the private keys.
 */
export const PUBLICATION_LEAD_SECONDS = KEY_CACHES_SECONDS;

export interface PrivateSigningKey {
  kid: string;
  privateJwk: JWK;
  createdAt: number;
  /**
   * When signing with it may start (epoch seconds). Absent in keys stored before rotations were
   * timed: such a key is active.
   */
  activatesAt?: number;
}

export interface PublishedKey {
  jwk: JWK;
  /** Absent for the key in use (or about to be); for a retired key, when it stops being served. */
  notAfter?: number;
}

export async function newSigningKey(now: number): Promise<{ privateKey: PrivateSigningKey; published: PublishedKey }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // RFC 7638 thumbprint as kid: stable, and derived from the key itself.
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    privateKey: { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' }, createdAt: now },
    published: { jwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' } },
  };
}

const activation = (key: PrivateSigningKey) => key.activatesAt ?? Number.NEGATIVE_INFINITY;
/** Latest activation first; keys without one keep their stored order (a stable sort). */
const latestFirst = (a: PrivateSigningKey, b: PrivateSigningKey) => Math.sign(activation(b) - activation(a)) || 0;

/**
 * The key to sign with at `now`: the newest whose activation has come. A list stored before
 * activation times existed (newest first) yields its first key. Should every key still be pending
 * (a signer whose clock runs behind the seed's), the first to activate: it is already published.
 */
export function signingKeyAt(keys: PrivateSigningKey[], now: number): PrivateSigningKey {
  let inUse: PrivateSigningKey | undefined;
  for (const key of keys) {
    if (activation(key) <= now && (!inUse || activation(key) > activation(inUse))) inUse = key;
  }
  const chosen = inUse ?? [...keys].sort(latestFirst).at(-1);
  if (!chosen) throw new ServiceUnavailable('signing keys', new Error('no signing key: apply a seed first'));
  return chosen;
}

export interface SigningKeys {
  /** Private keys, newest first: those pending activation and the one in use. */
  privateKeys: PrivateSigningKey[];
  /** The JWK Set as stored; `liveKeys` picks what is served. */
  published: PublishedKey[];
}

/**
 * A rotation: the new key is published at once and activates `PUBLICATION_LEAD_SECONDS` later;
 * until then the current key keeps signing. The very first key activates at once (nothing can
 * have cached a key set that lacks it while no token exists).
 */
export function rotateSigningKeys(
  current: SigningKeys,
  added: { privateKey: PrivateSigningKey; published: PublishedKey },
  now: number,
  longestTokenLifetime: number,
): SigningKeys {
  const activatesAt = current.privateKeys.length > 0 ? now + PUBLICATION_LEAD_SECONDS : now;
  const privateKey = { ...added.privateKey, activatesAt };
  const published = [added.published, ...current.published.filter((key) => key.jwk.kid !== privateKey.kid)];
  return retireSigningKeys({ privateKeys: [privateKey, ...current.privateKeys], published }, now, longestTokenLifetime);
}

/**
 * The keys as they must be stored at `now` (applied by every seed, so retired keys are pruned):
 *  - a private key superseded by a newer active one signs nothing more and is dropped;
 *  - a kept private key is published; while a newer key is waiting, with notAfter = that key's
 *    activation + the longest token lifetime + every cache. (Every signer's copy of the keys is
 *    read after the rotation, the lead time being longer than that cache, so the old key signs
 *    nothing after the activation; the caches on top are the margin for clocks that disagree and
 *    for a signer serving a stale copy through a failed reload);
 *  - a published key whose private half is gone keeps its notAfter, or gets one counted from now (a
 *    seed that stopped between its two writes leaves a published key that never signed);
 *  - a published key past its notAfter is dropped.
 * Applied to its own result, it changes nothing.
 */
export function retireSigningKeys(current: SigningKeys, now: number, longestTokenLifetime: number): SigningKeys {
  const inUse = current.privateKeys.length > 0 ? signingKeyAt(current.privateKeys, now) : undefined;
  const privateKeys = current.privateKeys.filter((key) => key === inUse || activation(key) > now).sort(latestFirst);
  const lastUse = (successor: PrivateSigningKey | undefined, from: number) =>
    (successor ? activation(successor) : from) + longestTokenLifetime + KEY_CACHES_SECONDS;

  const published: PublishedKey[] = current.published.map((key) => {
    const index = privateKeys.findIndex((candidate) => candidate.kid === key.jwk.kid);
    if (index < 0) return key.notAfter === undefined ? { ...key, notAfter: lastUse(undefined, now) } : key;
    const successor = privateKeys[index - 1];
    if (!successor) return { jwk: key.jwk };
    // Never earlier than already promised: a token signed under a longer lifetime may be out there.
    return { ...key, notAfter: Math.max(key.notAfter ?? 0, lastUse(successor, now)) };
  });
  // A kept private key whose public half is missing (the table's item lost or replaced): publish it again.
  for (const [index, key] of privateKeys.entries()) {
    if (published.some((entry) => entry.jwk.kid === key.kid)) continue;
    const successor = privateKeys[index - 1];
    published.unshift({ jwk: publicJwkOf(key), ...(successor ? { notAfter: lastUse(successor, now) } : {}) });
  }
  return { privateKeys, published: published.filter((key) => key.notAfter === undefined || key.notAfter > now) };
}

function publicJwkOf(key: PrivateSigningKey): JWK {
  const { kty, crv, x, y } = key.privateJwk;
  return { kty, crv, x, y, kid: key.kid, alg: 'ES256', use: 'sig' };
}

/** The public keys to serve now. */
export function liveKeys(published: PublishedKey[], now: number): JWK[] {
  return published.filter((key) => key.notAfter === undefined || key.notAfter > now).map((key) => key.jwk);
}

export interface SaasClaims {
  issuer: string;
  customerNumber: string;
  tenant: string;
  email: string;
  sessionId: string;
  legalEntityId?: string;
  issuedAt: number;
  expiresAt: number;
}

export async function signSaasToken(claims: SaasClaims, key: PrivateSigningKey): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, 'ES256');
  const payload: Record<string, unknown> = { tenant: claims.tenant, email: claims.email, sessionId: claims.sessionId };
  if (claims.legalEntityId) payload.legalEntityId = claims.legalEntityId;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.issuer)
    .setSubject(claims.customerNumber)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt)
    .sign(privateKey);
}
