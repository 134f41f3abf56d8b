import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { Storefront } from '../support/storefront.js';
import { size } from '../support/reliability-util.js';

/**
 * Issue 8, item 1: the login lockout holds under concurrency. RACERS wrong passwords for one
 * account, sent at once over HTTP against local mode, then the right password. Contract section
 * 2: attempts are counted atomically before the password is checked, so no more than the allowed
 * number of passwords (five per account and window) is ever verified, whatever the concurrency,
 * and the account is locked afterwards, the right password included. Unknown emails alike.
 *
 * The scrypt verifications are counted directly: the password module is wrapped (the broker runs
 * in this process), so "bounded" is a count, not an inference from status codes.
 */

const verifications = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../functions/domain/passwords.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../functions/domain/passwords.js')>();
  return {
    ...original,
    verifyPassword: (password: string, stored: string) => {
      verifications.count++;
      return original.verifyPassword(password, stored);
    },
  };
});

const RACERS = size(100, 20);
const LOCK_AFTER = 5;

let broker: TestBroker;
let storefront: Storefront;

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
});

afterAll(() => broker.stop());

/** RACERS wrong guesses at once, each with its own anonymous session (logged in beforehand). */
async function race(email: string) {
  const bearers = await Promise.all(
    Array.from({ length: RACERS }, async () => (await storefront.anonymousLogin()).body.access_token as string),
  );
  const before = verifications.count;
  const answers = await Promise.all(bearers.map((bearer, i) => storefront.login(bearer, email, `wrong-guess-${i}`)));
  return { answers, verified: verifications.count - before };
}

describe(`${RACERS} concurrent wrong passwords for one account`, () => {
  for (const [label, email, password] of [
    ['a known account', 'ann@example.com', 'correct-horse'],
    ['an unknown email', 'nobody@example.com', 'whatever-it-is'],
  ] as const) {
    it(`${label}: at most ${LOCK_AFTER} passwords verified, the rest 429, then the right password is refused too`, async () => {
      const { answers, verified } = await race(email);
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
      const unauthorized = statuses.filter((s) => s === 401).length;
      expect(unauthorized).toBeGreaterThanOrEqual(1);
      expect(unauthorized).toBeLessThanOrEqual(LOCK_AFTER);
      expect(verified).toBe(unauthorized);
      console.log(
        `${label}: ${RACERS} parallel guesses → ${unauthorized}× 401, ${RACERS - unauthorized}× 429; ${verified} scrypt verifications`,
      );
      for (const refused of answers.filter((a) => a.status === 429)) {
        expect(refused.body).toMatchObject({ status: 429, type: 'too_many_requests' });
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      }

      const before = verifications.count;
      const right = await storefront.login((await storefront.anonymousLogin()).body.access_token, email, password);
      expect(right.status).toBe(429);
      expect(verifications.count).toBe(before);
    });
  }

  it('the lock ends by itself: after the window the right password logs in', async () => {
    broker.clock.advance(15 * 60);
    const { login } = await storefront.customer('ann@example.com', 'correct-horse');
    expect(login.access_token).toBeDefined();
  });

  it('audits each failed and each refused attempt, and logs no password', () => {
    const events = broker.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.message === 'audit');
    const of = (event: string, email: string) => events.filter((e) => e.event === event && e.email === email);
    for (const email of ['ann@example.com', 'nobody@example.com']) {
      expect(of('login_failed', email).length).toBeGreaterThanOrEqual(1);
      expect(of('login_failed', email).length).toBeLessThanOrEqual(LOCK_AFTER);
      expect(of('login_locked', email).length).toBeGreaterThanOrEqual(RACERS - LOCK_AFTER + 1);
      expect(of('login_locked', email)[0]).toMatchObject({ tenant: 'acme', clientId: 'storefront-web', sourceIp: '127.0.0.1' });
    }
    const log = broker.logLines.join('\n');
    expect(log).not.toContain('wrong-guess-');
    expect(log).not.toContain('correct-horse');
    expect(log).not.toContain('scrypt$');
  });
});
