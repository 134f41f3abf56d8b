import { audit } from '../audit.js';
import { InvalidCredentials, LoginThrottled } from '../domain/errors.js';
import { FAILURE_WINDOW_SECONDS, LOCK_AFTER, refusal, slowDownAfterFailure, type AttemptReservation } from '../domain/login-throttle.js';
import { decoyHash, verifyPassword } from '../domain/passwords.js';
import type { CustomerRecord } from '../ports.js';
import type { Deps } from './deps.js';

/**
 * The credential check every customer sign-in shares: the storefront's `POST /customer/{tenant}/login`
 * (customer-login.ts) and the broker's own sign-in page (authorize.ts). One account counter
 * (`LOCK#<tenant>#<email>`) serves both, so guesses on the page and on the storefront login add
 * up (contract section 8: "the login lockout of section 2 applies to the same account counter").
 *
 * The caller reserves the attempt (`deps.customers.reserveLoginAttempt`, domain/login-throttle.ts)
 * alongside its own read of the customer, so that it keeps its round trips; this decides on the
 * reservation and the password, and the caller clears the counter on success together with its
 * own writes.
 */

export type CredentialDeps = Pick<Deps, 'customers' | 'passwordHashing' | 'clock' | 'log'>;

/** Whom an attempt is about, for the audit events: never the password. */
export interface AttemptSubject {
  tenant: string;
  clientId: string;
  /** Already trimmed and lower-cased. */
  email: string;
}

/**
 * The customer whose password `password` is, or a throw: LoginThrottled when the reservation was
 * refused (no password is checked), InvalidCredentials for an unknown email or a wrong password
 * (both cost one scrypt verification: an unknown email is checked against a decoy hash, so the
 * answer's time tells nothing about which accounts exist).
 */
export async function checkCredentials(
  deps: CredentialDeps,
  who: AttemptSubject,
  reservation: AttemptReservation,
  customer: CustomerRecord | undefined,
  password: string,
  /** When the attempt was reserved: the refusal's wait is counted from it. */
  now: number,
): Promise<CustomerRecord> {
  if (!reservation.reserved) {
    const { reason, retryAfter } = refusal(reservation.counter, now);
    audit(deps.log, 'login_locked', { ...who, reason, retryAfter, attempts: reservation.counter.attempts });
    throw new LoginThrottled(retryAfter);
  }

  // A federated-only customer has no hash and a pending signup may not log in (contract sections
  // 10, 11): both are checked against the decoy, as an unknown email, and answer alike.
  const usable = customer?.pending ? undefined : customer?.passwordHash;
  const passwordOk = await verifyPassword(password, usable ?? (await decoyHash(deps.passwordHashing)));
  if (!customer || usable === undefined || !passwordOk) {
    const notBefore = slowDownAfterFailure(reservation.attempt, deps.clock());
    if (notBefore !== undefined) await deps.customers.slowLoginAttempts(who.tenant, who.email, notBefore);
    audit(deps.log, 'login_failed', { ...who, attempt: reservation.attempt });
    // The failure that uses up the window's last attempt locks the account: say so when it
    // happens, not only when the next attempt is refused.
    if (reservation.attempt >= LOCK_AFTER) {
      audit(deps.log, 'login_locked', { ...who, reason: 'locked', retryAfter: FAILURE_WINDOW_SECONDS, attempts: reservation.attempt });
    }
    throw new InvalidCredentials();
  }
  return customer;
}
