import { describe, expect, it } from 'vitest';
import { activeFailures, loginGate } from '../../functions/domain/login-throttle.js';

const LAST = 1_750_000_000;
const WINDOW = 15 * 60;
const failed = (failures: number, lastFailureAt = LAST) => ({ failures, lastFailureAt });

describe('loginGate', () => {
  it('lets an account without failures, or with fewer than three, try again at once', () => {
    expect(loginGate(undefined, LAST)).toEqual({ allowed: true });
    expect(loginGate(failed(0), LAST)).toEqual({ allowed: true });
    expect(loginGate(failed(1), LAST)).toEqual({ allowed: true });
    expect(loginGate(failed(2), LAST)).toEqual({ allowed: true });
  });

  it('after three failures makes the account wait 2 s after the last one, counting down', () => {
    expect(loginGate(failed(3), LAST)).toEqual({ allowed: false, retryAfter: 2 });
    expect(loginGate(failed(3), LAST + 2 - 1)).toEqual({ allowed: false, retryAfter: 1 });
    expect(loginGate(failed(3), LAST + 2)).toEqual({ allowed: true });
  });

  it('after four failures makes the account wait 4 s after the last one', () => {
    expect(loginGate(failed(4), LAST)).toEqual({ allowed: false, retryAfter: 4 });
    expect(loginGate(failed(4), LAST + 1)).toEqual({ allowed: false, retryAfter: 3 });
    expect(loginGate(failed(4), LAST + 4 - 1)).toEqual({ allowed: false, retryAfter: 1 });
    expect(loginGate(failed(4), LAST + 4)).toEqual({ allowed: true });
  });

  it('locks the account for 900 s after the fifth failure, with Retry-After the seconds left', () => {
    expect(loginGate(failed(5), LAST)).toEqual({ allowed: false, retryAfter: 900 });
    expect(loginGate(failed(5), LAST + 4)).toEqual({ allowed: false, retryAfter: 896 });
    expect(loginGate(failed(5), LAST + 600)).toEqual({ allowed: false, retryAfter: 300 });
    expect(loginGate(failed(5), LAST + 900 - 1)).toEqual({ allowed: false, retryAfter: 1 });
    expect(loginGate(failed(5), LAST + 900)).toEqual({ allowed: true });
  });

  it('does not lock longer with more failures: the lock always ends 900 s after the last one', () => {
    expect(loginGate(failed(6), LAST)).toEqual({ allowed: false, retryAfter: 900 });
    expect(loginGate(failed(50), LAST + 899)).toEqual({ allowed: false, retryAfter: 1 });
    expect(loginGate(failed(50), LAST + 900)).toEqual({ allowed: true });
  });

  it('ends every slowdown and lock by itself once the window after the last failure has passed', () => {
    for (const count of [3, 4, 5, 12]) {
      expect(loginGate(failed(count), LAST + WINDOW)).toEqual({ allowed: true });
      expect(loginGate(failed(count), LAST + WINDOW + 86_400)).toEqual({ allowed: true });
    }
  });

  it('judges each account by its own failures (a locked record does not gate another one)', () => {
    const locked = failed(5, LAST);
    const other = failed(1, LAST);
    expect(loginGate(locked, LAST + 10)).toMatchObject({ allowed: false });
    expect(loginGate(other, LAST + 10)).toEqual({ allowed: true });
  });
});

describe('activeFailures', () => {
  it('counts nothing for an account that never failed', () => {
    expect(activeFailures(undefined, LAST)).toBe(0);
  });

  it('counts the failures within 15 minutes of the last one, and none from that second on', () => {
    expect(activeFailures(failed(4), LAST)).toBe(4);
    expect(activeFailures(failed(4), LAST + WINDOW - 1)).toBe(4);
    expect(activeFailures(failed(4), LAST + WINDOW)).toBe(0);
    expect(activeFailures(failed(4), LAST + WINDOW + 1)).toBe(0);
  });

  it('keeps counting after the short wait is over, so the next failure escalates', () => {
    // Three failures: the 2 s wait is over, but a fourth failure must still count as the fourth.
    expect(loginGate(failed(3), LAST + 60)).toEqual({ allowed: true });
    expect(activeFailures(failed(3), LAST + 60)).toBe(3);
  });
});
