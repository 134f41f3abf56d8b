import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Customer password hashes: scrypt (RFC 7914) with a random 16-byte salt.
 *
 * Parameters: N = 2^17, r = 8, p = 1 is OWASP's Password Storage Cheat Sheet minimum for scrypt.
 * It uses 128 MiB and about 0.3 s of one core per hash. A stolen table costs an attacker the same
 * per guess, and a 512 MB Lambda can afford it on the only path that needs it (login). The
 * parameters travel with each hash (`scrypt$N$r$p$salt$key`), so they can be raised later without
 * invalidating stored hashes, and lowered where hashing is not what is tested (local mode's
 * `scrypt` option; tests only).
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const SCRYPT_PARAMS: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;

/**
 * What a stored hash may ask for. A value outside is a corrupted or hostile record: it must not
 * throw (a 500 at login) nor claim gigabytes (N and r bound the memory scrypt takes).
 */
function usable({ N, r, p }: ScryptParams): boolean {
  const powerOfTwo = Number.isInteger(N) && N >= 2 ** 10 && N <= 2 ** 20 && (N & (N - 1)) === 0;
  return powerOfTwo && Number.isInteger(r) && r >= 1 && r <= 32 && Number.isInteger(p) && p >= 1 && p <= 16;
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, params = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` matches `stored`; a malformed stored hash never matches and never throws. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6) return false;
  const [scheme, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !key || !usable(params)) return false;
  const expected = Buffer.from(key, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  try {
    const actual = await derive(password, Buffer.from(salt, 'base64url'), params);
    return timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}

/**
 * A hash to verify against when the email is unknown, so an unknown email costs the same time as
 * a wrong password (no user enumeration by timing). Computed once per process and parameters; it
 * must use the parameters the customers' hashes were made with (production's unless configured).
 */
const decoys = new Map<string, Promise<string>>();
export function decoyHash(params = SCRYPT_PARAMS): Promise<string> {
  const key = `${params.N}$${params.r}$${params.p}`;
  let decoy = decoys.get(key);
  if (!decoy) {
    decoy = hashPassword(randomBytes(16).toString('base64url'), params);
    decoys.set(key, decoy);
  }
  return decoy;
}
