import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { verifyPassword } from '../../functions/domain/passwords.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import { applySeed, hashConcurrency, type PasswordHashing } from '../../functions/seed/apply.js';
import { formatDuration, formatProgress, isInteractive, progressReporter, snapshot } from '../../functions/seed/progress.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { seedTarget, storesOf } from '../../functions/wiring.js';

/** Issue 14, item 9: a long seed shows its progress and hashes its customers in parallel. */

describe('seed progress arithmetic', () => {
  it('rate is customers per second since the start; time left is what remains at that rate', () => {
    expect(snapshot(8, 16, 4000)).toEqual({ done: 8, total: 16, elapsedSeconds: 4, perSecond: 2, secondsLeft: 4 });
    expect(snapshot(1, 100, 400)).toMatchObject({ perSecond: 2.5, secondsLeft: 39.6 });
    expect(snapshot(16, 16, 8000)).toMatchObject({ perSecond: 2, secondsLeft: 0 });
  });

  it('knows no rate (and no time left) before the first customer or before any time passed', () => {
    expect(snapshot(0, 16, 5000)).toMatchObject({ perSecond: undefined, secondsLeft: undefined });
    expect(snapshot(3, 16, 0)).toMatchObject({ perSecond: undefined, secondsLeft: undefined });
    expect(snapshot(0, 0, 0)).toMatchObject({ secondsLeft: 0 });
  });

  it('prints durations in whole seconds, rounded up, then minutes and hours', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(0.2)).toBe('1 s');
    expect(formatDuration(59.5)).toBe('1 min');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(3600 + 5 * 60 + 1)).toBe('1 h 05 min');
  });

  it('formats a line with count, share, rate and time left; the last one with the total time', () => {
    expect(formatProgress(snapshot(0, 16, 100))).toBe('customers 0/16 (0%)');
    expect(formatProgress(snapshot(5, 16, 2000))).toBe('customers 5/16 (31%), 2.5/s, about 5 s left');
    expect(formatProgress(snapshot(500, 10000, 20_000))).toBe('customers 500/10000 (5%), 25/s, about 6 min 20 s left');
    expect(formatProgress(snapshot(16, 16, 6400))).toBe('customers 16/16 in 6.4 s (2.5/s)');
  });
});

/** A clock the test moves: the reporter reads it, never the real time. */
function manualClock(start = 1000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('seed progress output', () => {
  it('not a terminal: a plain line every 10 % of the customers, and the final line', () => {
    const clock = manualClock();
    const out: string[] = [];
    const reporter = progressReporter(20, { write: (text) => out.push(text), interactive: false }, { now: clock.now, prefix: 'seed: ' });
    for (let done = 1; done <= 20; done++) {
      clock.advance(500);
      reporter.update(done);
    }
    reporter.finish();
    const lines = out.join('').split('\n').filter(Boolean);
    expect(out.every((text) => text.endsWith('\n') && !text.includes('\r'))).toBe(true);
    expect(lines[0]).toBe('seed: customers 2/20 (10%), 2.0/s, about 9 s left');
    expect(lines.map((line) => line.match(/customers (\d+)\//)![1])).toEqual(['2', '4', '6', '8', '10', '12', '14', '16', '18', '20']);
    expect(lines.at(-1)).toBe('seed: customers 20/20 in 10.0 s (2.0/s)');
  });

  it('not a terminal: also a line when the interval passed, however few customers finished', () => {
    const clock = manualClock();
    const out: string[] = [];
    const reporter = progressReporter(
      1000,
      { write: (text) => out.push(text), interactive: false },
      { now: clock.now, lineEveryMs: 15_000 },
    );
    clock.advance(14_000);
    reporter.update(1);
    expect(out).toEqual([]);
    clock.advance(1000);
    reporter.update(2);
    expect(out).toEqual(['customers 2/1000 (0%), 0.1/s, about 2 h 04 min left\n']);
  });

  it('a terminal: one line redrawn in place, at most every 200 ms, ended by the final state', () => {
    const clock = manualClock();
    const out: string[] = [];
    const reporter = progressReporter(4, { write: (text) => out.push(text), interactive: true }, { now: clock.now });
    clock.advance(100);
    reporter.update(1);
    clock.advance(100);
    reporter.update(2); // 100 ms after the last draw: not redrawn
    clock.advance(150);
    reporter.update(3);
    clock.advance(50);
    reporter.update(4);
    reporter.finish();
    expect(out).toEqual([
      '\rcustomers 1/4 (25%), 10/s, about 1 s left\x1b[K',
      '\rcustomers 3/4 (75%), 8.6/s, about 1 s left\x1b[K',
      '\rcustomers 4/4 in 0.4 s (10/s)\x1b[K\n',
    ]);
  });

  it('a terminal: another line (an audit event) clears the progress line, then it is drawn again', () => {
    const clock = manualClock();
    const out: string[] = [];
    const reporter = progressReporter(4, { write: (text) => out.push(text), interactive: true }, { now: clock.now });
    clock.advance(1000);
    reporter.update(1);
    reporter.print('{"event":"customer_sessions_ended"}');
    expect(out.slice(1)).toEqual(['\r\x1b[K{"event":"customer_sessions_ended"}\n', '\rcustomers 1/4 (25%), 1.0/s, about 3 s left\x1b[K']);
  });

  it('after a failure the last line says where it stopped; no customers, no output', () => {
    const clock = manualClock();
    const out: string[] = [];
    const reporter = progressReporter(10, { write: (text) => out.push(text), interactive: false }, { now: clock.now });
    clock.advance(2500);
    reporter.update(3);
    out.length = 0;
    reporter.finish();
    expect(out).toEqual(['customers 3/10, stopped after 2.5 s\n']);
    const none: string[] = [];
    const empty = progressReporter(0, { write: (text) => none.push(text), interactive: false }, { now: clock.now });
    empty.update(0);
    empty.finish();
    expect(none).toEqual([]);
  });

  it('redraws in place only on a terminal outside CI that is not dumb', () => {
    expect(isInteractive({ isTTY: true }, {})).toBe(true);
    expect(isInteractive({ isTTY: false }, {})).toBe(false);
    expect(isInteractive({}, {})).toBe(false);
    expect(isInteractive({ isTTY: true }, { CI: 'true' })).toBe(false);
    expect(isInteractive({ isTTY: true }, { CI: 'false' })).toBe(true);
    expect(isInteractive({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
});

describe('parallel hashing in applySeed', () => {
  it('hashes one customer per core, at most as many as libuv’s thread pool runs (UV_THREADPOOL_SIZE, 4 by default)', () => {
    expect(hashConcurrency(2, {})).toBe(2);
    expect(hashConcurrency(16, {})).toBe(4);
    expect(hashConcurrency(16, { UV_THREADPOOL_SIZE: '12' })).toBe(12);
    expect(hashConcurrency(8, { UV_THREADPOOL_SIZE: '64' })).toBe(8);
    expect(hashConcurrency(8, { UV_THREADPOOL_SIZE: 'many' })).toBe(4);
    expect(hashConcurrency(1, { UV_THREADPOOL_SIZE: '0' })).toBe(1);
  });

  const EMAILS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => `${name}@example.com`);
  function seedWith(suffix: string) {
    const customer = (email: string) => ({
      email,
      password: `pw-${email}-${suffix}`,
      customerNumber: `C-${email[0]}`,
      legalEntities: ['LE-1'],
    });
    return parseSeed(
      JSON.stringify({
        tenants: { acme: { customers: EMAILS.slice(0, 4).map(customer) }, globex: { customers: EMAILS.slice(4).map(customer) } },
      }),
    );
  }

  /** A hash that takes a few event-loop turns and counts how many run at once. */
  function countingHashing() {
    const counts = { inFlight: 0, maxInFlight: 0, hashed: 0, verified: 0 };
    const turn = () => new Promise((resolve) => setTimeout(resolve, 5));
    const hashing: PasswordHashing = {
      async hash(password) {
        counts.maxInFlight = Math.max(counts.maxInFlight, ++counts.inFlight);
        await turn();
        counts.inFlight--;
        counts.hashed++;
        return `fake$${password}`;
      },
      async verify(password, stored) {
        counts.maxInFlight = Math.max(counts.maxInFlight, ++counts.inFlight);
        await turn();
        counts.inFlight--;
        counts.verified++;
        return stored === `fake$${password}`;
      },
    };
    return { counts, hashing };
  }

  function memoryTarget() {
    const store = new MemoryStore();
    const secrets = new LocalSecretsFile(join(mkdtempSync(join(tmpdir(), 'seed-parallel-')), 'secrets.json'));
    secrets.ensure();
    return {
      store,
      target: seedTarget(storesOf({ memory: store }), { clientSecrets: secrets, signingKeys: secrets, providerSecrets: secrets }),
    };
  }

  it('runs several hashes at once, never more than the bound, and reports each customer once', async () => {
    const { store, target } = memoryTarget();
    const { counts, hashing } = countingHashing();
    const progress: [number, number][] = [];
    const report = await applySeed(seedWith('1'), target, {
      now: 1_800_000_000,
      passwords: hashing,
      concurrency: 3,
      progress: (done, total) => progress.push([done, total]),
    });
    expect(counts.maxInFlight).toBeGreaterThan(1);
    expect(counts.maxInFlight).toBeLessThanOrEqual(3);
    expect(counts.hashed).toBe(7);
    expect(report.customers).toBe(7);
    expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((done) => [done, 7]));
    expect((await store.getCustomer('globex', 'g@example.com'))?.passwordHash).toBe('fake$pw-g@example.com-1');

    // Applying it again only checks the stored hashes (as many at once), and changes nothing.
    const again = countingHashing();
    await applySeed(seedWith('1'), target, { now: 1_800_000_001, passwords: again.hashing, concurrency: 3 });
    expect(again.counts).toMatchObject({ hashed: 0, verified: 7 });
    expect(again.counts.maxInFlight).toBeGreaterThan(1);
    expect(again.counts.maxInFlight).toBeLessThanOrEqual(3);
  });

  it('counts every ended session when passwords change concurrently', async () => {
    const { store, target } = memoryTarget();
    await applySeed(seedWith('1'), target, { now: 1_800_000_000, passwords: countingHashing().hashing });
    // Each customer has one session; listing it takes an event-loop turn, so the customers interleave.
    const withSession = new Set(EMAILS);
    const sessions = Object.create(target.sessions) as typeof target.sessions;
    sessions.listCustomerSessions = async (_tenant, email) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      return withSession.has(email) ? [`selector-${email}`] : [];
    };
    sessions.revokeSession = async () => ({}) as never;
    sessions.unindexCustomerSessions = async (_tenant, email) => {
      withSession.delete(email);
    };
    const report = await applySeed(
      seedWith('2'),
      { ...target, sessions },
      { now: 1_800_000_100, passwords: countingHashing().hashing, concurrency: 4 },
    );
    expect(report.sessionsEnded).toBe(7);
    expect((await store.getCustomer('acme', 'a@example.com'))?.passwordHash).toBe('fake$pw-a@example.com-2');
  });

  it('stops starting customers after one fails, lets the ones in flight finish, and throws that error', async () => {
    const { store, target } = memoryTarget();
    let started = 0;
    const failing: PasswordHashing = {
      async hash(password) {
        started++;
        // b fails at once, while a (started first) is still hashing.
        if (password.startsWith('pw-b@')) throw new Error('hash failed');
        await new Promise((resolve) => setTimeout(resolve, 5));
        return `fake$${password}`;
      },
      verify: async () => false,
    };
    await expect(applySeed(seedWith('1'), target, { now: 1_800_000_000, passwords: failing, concurrency: 2 })).rejects.toThrow(
      'hash failed',
    );
    expect(started).toBe(2);
    expect((await store.getCustomer('acme', 'a@example.com'))?.passwordHash).toBe('fake$pw-a@example.com-1');
    expect(await store.getCustomer('acme', 'c@example.com')).toBeUndefined();
  });

  it('uses scrypt by default, at the cost given', async () => {
    const { store, target } = memoryTarget();
    await applySeed(seedWith('1'), target, { now: 1_800_000_000, scrypt: { N: 2 ** 10, r: 8, p: 1 }, concurrency: 2 });
    const stored = (await store.getCustomer('acme', 'a@example.com'))!.passwordHash!;
    expect(stored.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('pw-a@example.com-1', stored)).toBe(true);
  });
});
