import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decoyHash, hashPassword, verifyPassword } from '../../functions/domain/passwords.js';

/** Cheap parameters: the rules under test do not depend on the cost. */
const FAST = { N: 2 ** 10, r: 8, p: 1 } as const;
const PASSWORD = 'correct horse battery staple';

describe('hashPassword / verifyPassword', () => {
  it('matches the right password and refuses a wrong one', async () => {
    const stored = await hashPassword(PASSWORD, FAST);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('Correct horse battery staple', stored)).toBe(false);
    expect(await verifyPassword(`${PASSWORD} `, stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('stores neither the password nor the same hash twice (random salt)', async () => {
    const a = await hashPassword(PASSWORD, FAST);
    const b = await hashPassword(PASSWORD, FAST);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(a).not.toContain(PASSWORD);
    expect(await verifyPassword(PASSWORD, a)).toBe(true);
    expect(await verifyPassword(PASSWORD, b)).toBe(true);
  });

  it('stores its parameters with the hash', async () => {
    expect(await hashPassword(PASSWORD, FAST)).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await hashPassword(PASSWORD, { N: 2 ** 11, r: 8, p: 1 })).toMatch(/^scrypt\$2048\$8\$1\$/);
  });

  it('verifies with the parameters stored in the hash, so hashes made with other parameters keep working', async () => {
    const salt = randomBytes(16);
    const key = scryptSync(PASSWORD, salt, 32, { N: 2 ** 11, r: 4, p: 2 });
    const stored = ['scrypt', 2 ** 11, 4, 2, salt.toString('base64url'), key.toString('base64url')].join('$');
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    expect(await verifyPassword('not the password', stored)).toBe(false);
  });

  it('normalises to NFKC: a ligature, full-width letters or a decomposed accent equal their plain forms', async () => {
    expect(await verifyPassword('fish-and-chips', await hashPassword('ﬁsh-and-chips', FAST))).toBe(true);
    expect(await verifyPassword('ﬁsh-and-chips', await hashPassword('fish-and-chips', FAST))).toBe(true);
    expect(await verifyPassword('password1', await hashPassword('ｐａｓｓｗｏｒｄ１', FAST))).toBe(true);
    expect(await verifyPassword('caf\u0065\u0301-secret', await hashPassword('caf\u00e9-secret', FAST))).toBe(true);
    // Normalisation does not merge passwords that really differ.
    expect(await verifyPassword('fisk-and-chips', await hashPassword('ﬁsh-and-chips', FAST))).toBe(false);
    expect(await verifyPassword('cafe-secret', await hashPassword('caf\u00e9-secret', FAST))).toBe(false);
  });

  it('never matches a malformed stored hash, even with the right password', async () => {
    const stored = await hashPassword(PASSWORD, FAST);
    const [, n, r, p, salt, key] = stored.split('$') as [string, string, string, string, string, string];
    const other = (await hashPassword('another password', FAST)).split('$');
    const malformed = [
      '',
      'scrypt',
      PASSWORD,
      `scrypt$${n}$${r}$${p}`,
      `scrypt$${n}$${r}$${p}$${salt}`,
      `scrypt$${n}$${r}$${p}$$${key}`,
      `scrypt$${n}$${r}$${p}$${salt}$`,
      `bcrypt$${n}$${r}$${p}$${salt}$${key}`,
      `SCRYPT$${n}$${r}$${p}$${salt}$${key}`,
      `scrypt$abc$${r}$${p}$${salt}$${key}`,
      `scrypt$1024.5$${r}$${p}$${salt}$${key}`,
      `scrypt$${n}$${r}$${p}$${salt}$${key.slice(0, -2)}`,
      `scrypt$${n}$${r}$${p}$${other[4]}$${key}`,
      `scrypt$${n}$${r}$${p}$${salt}$${other[5]}`,
      // Extra fields, and a zero that Node would silently replace by its default.
      `${stored}$extra`,
      `scrypt$${n}$0$${p}$${salt}$${key}`,
      `scrypt$${n}$${r}$0$${salt}$${key}`,
      // A corrupted cost that would claim gigabytes.
      `scrypt$${2 ** 24}$${r}$${p}$${salt}$${key}`,
    ];
    for (const bad of malformed) {
      await expect(verifyPassword(PASSWORD, bad), bad).resolves.toBe(false);
    }
  });

  it('does not throw for stored parameters scrypt cannot use: it just does not match', async () => {
    const [, , r, p, salt, key] = (await hashPassword(PASSWORD, FAST)).split('$');
    // A corrupted record must give "wrong email or password", not an unexpected error at login.
    const outcomes: Record<string, string> = {};
    for (const n of ['1000', '3', '1', '-1024']) {
      outcomes[n] = await verifyPassword(PASSWORD, `scrypt$${n}$${r}$${p}$${salt}$${key}`).then(
        (matched) => `resolved ${matched}`,
        (error: unknown) => `threw ${String((error as { code?: unknown }).code ?? error)}`,
      );
    }
    expect(outcomes).toEqual({ '1000': 'resolved false', '3': 'resolved false', '1': 'resolved false', '-1024': 'resolved false' });
  });

  it('uses OWASP’s scrypt parameters by default, stored as scrypt$131072$8$1$<salt>$<key>', async () => {
    const stored = await hashPassword(PASSWORD);
    // 16-byte salt and 32-byte key, base64url without padding.
    expect(stored).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
  });
});

describe('decoyHash', () => {
  it('is computed once per process, in the stored format, and matches no common password', async () => {
    const [first, second] = await Promise.all([decoyHash(), decoyHash()]);
    expect(second).toBe(first);
    expect(await decoyHash()).toBe(first);
    expect(first).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    // An unknown email verifies against the decoy: it must never let a login through.
    const guesses = ['', 'password', '123456', 'undefined'];
    const results = await Promise.all(guesses.map((guess) => verifyPassword(guess, first)));
    expect(results).toEqual(guesses.map(() => false));
  });
});
