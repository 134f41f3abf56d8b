import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Authenticated encryption for values the broker must be able to hand back later but must not
 * keep readable at rest (a cached service token; in a refresh family, the successor tokens).
 *
 * AES-256-GCM with a key derived by HKDF-SHA256 (RFC 5869) from `ikm` and bound to `context`,
 * so a sealed value copied to another record (another client, another family) does not open.
 */

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Keys derived from a long-lived Buffer (the cache key from Secrets Manager) are kept per context:
 * HKDF was the largest cost of a cached service token. A string ikm (a consumed refresh token)
 * is used once and never cached. A reloaded Buffer is a new WeakMap key, so rotation just works.
 */
const derivedKeys = new WeakMap<Buffer, Map<string, KeyObject>>();
const MAX_CONTEXTS_PER_KEY = 10_000;

function deriveKey(ikm: Buffer | string, context: string): KeyObject {
  if (typeof ikm === 'string') return hkdf(ikm, context);
  let keys = derivedKeys.get(ikm);
  if (!keys) {
    keys = new Map();
    derivedKeys.set(ikm, keys);
  }
  let key = keys.get(context);
  if (!key) {
    if (keys.size >= MAX_CONTEXTS_PER_KEY) keys.clear();
    key = hkdf(ikm, context);
    keys.set(context, key);
  }
  return key;
}

function hkdf(ikm: Buffer | string, context: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), `token-broker/${context}`, 32)));
}

export function seal(plaintext: string, ikm: Buffer | string, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(ikm, context), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** What opens a sealed value; adapters may decorate it (adapters/memoised-unseal.ts). */
export type Unseal = (sealed: string, ikm: Buffer | string, context: string) => string | undefined;

/** The plaintext, or undefined if the key or context is wrong or the value was altered. */
export function unseal(sealed: string, ikm: Buffer | string, context: string): string | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(ikm, context), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
