import { describe, expect, it } from 'vitest';
import {
  attemptLimits,
  LOCK_AFTER,
  refusal,
  refusesAttempt,
  slowDownAfterFailure,
  type LoginAttempts,
} from '../../functions/domain/login-throttle.js';

const NOW = 1_750_000_000;
const WINDOW = 15 * 60;
const counter = (attempts: number, windowEnd = NOW + WINDOW, notBefore?: number): LoginAttempts => ({
  attempts,
  windowEnd,
  ...(notBefore !== undefined ? { notBefore } : {}),
});

describe('the attempt limits a reservation compares with', () => {
  // Per-account isolation is the store's keying, not this rule's: test/use-cases/storefront-sessions.test.ts
  // (memory store) and test/integration/storefront-customer.test.ts (dynalite) lock one account and log in to another.
  it('allow five attempts, in a window that slides to 15 minutes after the latest', () => {
    expect(LOCK_AFTER).toBe(5);
    expect(attemptLimits(NOW)).toEqual({ now: NOW, lockAfter: 5, windowEnd: NOW + WINDOW });
  });
});

describe('slowDownAfterFailure', () => {
  it('lets the first two failures try again at once', () => {
    expect(slowDownAfterFailure(1, NOW)).toBeUndefined();
    expect(slowDownAfterFailure(2, NOW)).toBeUndefined();
  });

  it('makes the account wait 2 s after the third failure and 4 s after the fourth', () => {
    expect(slowDownAfterFailure(3, NOW)).toBe(NOW + 2);
    expect(slowDownAfterFailure(4, NOW)).toBe(NOW + 4);
  });

  it('sets no wait from the fifth on: the count itself locks the account until the window ends', () => {
    expect(slowDownAfterFailure(5, NOW)).toBeUndefined();
    expect(slowDownAfterFailure(9, NOW)).toBeUndefined();
  });
});

describe('refusesAttempt and refusal', () => {
  it('refuses a fifth-attempt counter for the rest of its window, with Retry-After the seconds left', () => {
    expect(refusesAttempt(counter(5), NOW)).toBe(true);
    expect(refusal(counter(5), NOW)).toEqual({ reason: 'locked', retryAfter: 900 });
    expect(refusal(counter(5), NOW + 600)).toEqual({ reason: 'locked', retryAfter: 300 });
    expect(refusal(counter(5), NOW + 899)).toEqual({ reason: 'locked', retryAfter: 1 });
    expect(refusesAttempt(counter(5), NOW + 900)).toBe(false);
  });

  it('refuses while a slow-down deadline has not passed, and not after', () => {
    expect(refusesAttempt(counter(3, NOW + WINDOW, NOW + 2), NOW)).toBe(true);
    expect(refusal(counter(3, NOW + WINDOW, NOW + 2), NOW)).toEqual({ reason: 'slowed', retryAfter: 2 });
    expect(refusal(counter(4, NOW + WINDOW, NOW + 4), NOW + 3)).toEqual({ reason: 'slowed', retryAfter: 1 });
    expect(refusesAttempt(counter(3, NOW + WINDOW, NOW + 2), NOW + 2)).toBe(false);
  });

  it('does not refuse fewer than five attempts without a deadline, nor anything once the window is over', () => {
    expect(refusesAttempt(counter(4), NOW)).toBe(false);
    for (const attempts of [3, 5, 50]) expect(refusesAttempt(counter(attempts, NOW, NOW + 4), NOW)).toBe(false);
  });
});
