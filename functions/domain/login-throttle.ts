/**
 * Login abuse (contract section 2): repeated attempts for one account are slowed, then locked
 * for a while; other accounts are not affected, and the lock ends by itself. An unknown email is
 * throttled exactly like a known one, so the lock tells nothing about which accounts exist.
 *
 * Attempts are counted atomically *before* the password is checked: each login first reserves
 * an attempt with one conditional write, which succeeds only while the account has fewer than
 * LOCK_AFTER attempts in its window and any slow-down deadline has passed. Of any number of
 * concurrent guesses at most LOCK_AFTER get a reservation, so at most LOCK_AFTER passwords are
 * ever verified per account and window, whatever the concurrency. A successful login clears the
 * count. The store compares stored numbers with the values computed here; it does no arithmetic.
 *
 * Slowing is a minimum wait between attempts answered with 429 + Retry-After rather than a sleep
 * inside the function: a sleeping Lambda is billed, a refused attempt is not.
 */

/** Attempts are counted within this window after the last one (it slides with each attempt). */
export const FAILURE_WINDOW_SECONDS = 15 * 60;
/** From this many failed attempts the account waits before the next attempt… */
export const SLOW_AFTER = 3;
/** …and with this many attempts in the window it is locked until the window ends. */
export const LOCK_AFTER = 5;

/** An account's attempt counter as stored. */
export interface LoginAttempts {
  /** Attempts reserved in the current window (failed, succeeded-but-not-yet-cleared, in flight). */
  attempts: number;
  /** The window ends at this second (the last reserved attempt + FAILURE_WINDOW_SECONDS). */
  windowEnd: number;
  /** No attempt may start before this second (set by a failure from the SLOW_AFTER-th on). */
  notBefore?: number;
}

/**
 * What the store's reservation compares with, computed here so the store does no arithmetic:
 * an attempt is added while `attempts < lockAfter`, the stored `windowEnd > now` and the stored
 * `notBefore <= now` (or absent); a counter whose `windowEnd <= now` (or none) starts over at 1.
 * Either way the window is moved to `windowEnd`.
 */
export interface AttemptLimits {
  now: number;
  lockAfter: number;
  windowEnd: number;
}

export type AttemptReservation =
  /** The attempt may check a password; `attempt` is its unique number in the window (1-based). */
  | { reserved: true; attempt: number }
  /** Refused before any password is checked; the counter as it stood. */
  | { reserved: false; counter: LoginAttempts };

export function attemptLimits(now: number): AttemptLimits {
  return { now, lockAfter: LOCK_AFTER, windowEnd: now + FAILURE_WINDOW_SECONDS };
}

/** Whether a counter refuses a new attempt at `now` (the negation of the store's two conditions). */
export function refusesAttempt(counter: LoginAttempts, now: number): boolean {
  if (counter.windowEnd <= now) return false;
  return counter.attempts >= LOCK_AFTER || (counter.notBefore ?? 0) > now;
}

/**
 * After the attempt numbered `attempt` failed at `now`: the earliest second the next attempt may
 * start (2 s after the 3rd failure, 4 s after the 4th), or undefined when no wait applies. From
 * the LOCK_AFTER-th attempt on, the count itself locks the account until the window ends.
 */
export function slowDownAfterFailure(attempt: number, now: number): number | undefined {
  if (attempt < SLOW_AFTER || attempt >= LOCK_AFTER) return undefined;
  return now + 2 ** (attempt - SLOW_AFTER + 1);
}

export interface Refusal {
  reason: 'locked' | 'slowed';
  /** Seconds until an attempt may be made again (at least 1). */
  retryAfter: number;
}

/** Why a refused counter refuses, and for how long. */
export function refusal(counter: LoginAttempts, now: number): Refusal {
  if (counter.attempts >= LOCK_AFTER) return { reason: 'locked', retryAfter: Math.max(1, counter.windowEnd - now) };
  return { reason: 'slowed', retryAfter: Math.max(1, (counter.notBefore ?? now) - now) };
}
