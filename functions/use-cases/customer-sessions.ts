import { audit } from '../audit.js';
import type { Deps } from './deps.js';

/**
 * Ending a customer's sessions (contract section 2, operating.md "Incident response"): after a
 * password change, the customer's removal, or on an operator's command. Every family in the
 * customer's session index (`CSESS#<tenant>#<email>`, written by each login) is revoked, which
 * refresh, validation and introspection all check on the one read they already make: so ending
 * costs them nothing, and it takes effect at once. Then the index entries are removed.
 *
 * The index also names the customer's authorizations signed in but not yet redeemed (the sign-in
 * page indexes each code it issues, use-cases/authorize.ts): a code is a session about to start,
 * so it is revoked too and its redemption fails. An entry is a family or an authorization, never
 * both (each selector is 128 random bits), and revoking the kind it is not matches nothing.
 */

export type CustomerSessionsDeps = Pick<Deps, 'sessions' | 'authorizations' | 'clock' | 'log'>;

export type SessionsEndedReason = 'password_changed' | 'customer_removed' | 'incident_response';

/** Ends every session of the customer; returns how many families it ended (live or not). */
export async function endCustomerSessions(
  deps: CustomerSessionsDeps,
  tenant: string,
  email: string,
  reason: SessionsEndedReason = 'incident_response',
): Promise<number> {
  const selectors = await deps.sessions.listCustomerSessions(tenant, email);
  const now = deps.clock();
  let ended = 0;
  for (const selector of selectors) {
    const [family] = await Promise.all([
      deps.sessions.revokeSession(selector, now),
      deps.authorizations.revokeAuthorization(selector, now),
    ]);
    if (family) ended++;
  }
  await deps.sessions.unindexCustomerSessions(tenant, email, selectors);
  audit(deps.log, 'customer_sessions_ended', { tenant, email, reason, sessions: ended });
  return ended;
}

/**
 * A legal entity removed from the customer can no longer be selected in any live session: each
 * indexed family's set is replaced (a selected entity no longer in it is no longer reported).
 */
export async function updateCustomerSessionLegalEntities(
  deps: Pick<CustomerSessionsDeps, 'sessions'>,
  tenant: string,
  email: string,
  legalEntities: string[],
): Promise<void> {
  for (const selector of await deps.sessions.listCustomerSessions(tenant, email)) {
    await deps.sessions.setSessionLegalEntities(selector, legalEntities);
  }
}
