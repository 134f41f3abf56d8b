import type { LoginFailures } from '../ports.js';

/**
 * Login abuse (contract section 2): repeated failures for one account are slowed, then locked
 * for a while; other accounts are not affected, and the lock ends by itself. An unknown email is
 * throttled exactly like a known one, so the lock tells nothing about which accounts exist.
 *
 * Slowing is a minimum wait between attempts answered with 429 + Retry-After rather than a sleep
 * inside the function: a sleeping Lambda is billed, a refused attempt is not.
 */

/** Failures are counted within this window after the last one. */
export const FAILURE_WINDOW_SECONDS = 15 * 60;
/** From this many failures the account waits before the next attempt… */
const SLOW_AFTER = 3;
/** …and from this many it is locked for the rest of the window. */
const LOCK_AFTER = 5;

export type LoginGate = { allowed: true } | { allowed: false; retryAfter: number };

/** Whether an attempt may proceed now, given the failures so far. */
export function loginGate(failures: LoginFailures | undefined, now: number): LoginGate {
  const count = activeFailures(failures, now);
  if (count < SLOW_AFTER) return { allowed: true };
  const last = failures!.lastFailureAt;
  const wait = count >= LOCK_AFTER ? FAILURE_WINDOW_SECONDS : 2 ** (count - SLOW_AFTER + 1);
  const until = last + wait;
  return now >= until ? { allowed: true } : { allowed: false, retryAfter: until - now };
}

/** Failures that still count: none once the window after the last one has passed. */
export function activeFailures(failures: LoginFailures | undefined, now: number): number {
  if (!failures || now >= failures.lastFailureAt + FAILURE_WINDOW_SECONDS) return 0;
  return failures.failures;
}
