import { createHash, randomUUID } from 'node:crypto';
import type { ExternalIdentity, IdentityProvider, LinkedIdentity } from './federation.js';

/**
 * Which customer a federated login is (contract section 10, issue 11 design note "Customers"):
 * the rules, pure; use-cases/federated-login.ts reads what they need and writes what they decide.
 *
 *  1. The identity's link (issuer + subject), while the customer it names still exists under the
 *     same customer number.
 *  2. `EMAIL` identification only: the customer under the provider's email, if the provider
 *     verified it and the account is no pending signup. `SUBJECT` identification matches by link
 *     only.
 *  3. Else, with `autoProvision`, a new customer under the provider's verified email; a pending
 *     signup under that email is discarded first (with its password: account pre-hijacking, the
 *     one who signed up with someone else's email must not gain their login). Without an email,
 *     with an unverified one, or with the email taken by a confirmed account the identity may not
 *     be linked to: refused.
 *  4. Else no customer: 404.
 */

/** The link item's key part: the identity is never stored in the clear in a key. */
export function identityDigest(identity: LinkedIdentity): string {
  return createHash('sha256').update(`${identity.issuer}\n${identity.subject}`).digest('base64url');
}

/** A provisioned customer's number: unique without a counter to contend on. */
export function newCustomerNumber(): string {
  return `F-${randomUUID()}`;
}

/** What the rules need of a customer (ports.ts `CustomerRecord`). */
export interface KnownCustomer {
  customerNumber: string;
  pending?: boolean;
}

/** What the rules need of a link (ports.ts `IdentityLink`). */
export interface KnownLink {
  customerNumber: string;
}

export type FederatedMatch<C extends KnownCustomer> =
  /** Rule 1: the linked customer. */
  | { outcome: 'linked'; customer: C }
  /** Rule 2: an existing customer, to be linked now. */
  | { outcome: 'link'; customer: C }
  /** Rule 3: a new customer under `email`, after discarding the pending signup when `discardPending`. */
  | { outcome: 'provision'; email: string; discardPending: boolean }
  /** Rule 4. */
  | { outcome: 'unknown' }
  /** Rule 3's refusals: 401. `reason` is for the log, never the answer. */
  | { outcome: 'rejected'; reason: string };

export interface MatchInput<C extends KnownCustomer> {
  provider: Pick<IdentityProvider, 'customerIdentifier' | 'autoProvision'>;
  identity: ExternalIdentity;
  /** The identity's link, if any, and the customer it names, if that exists. */
  link?: KnownLink | undefined;
  linkedCustomer?: C | undefined;
  /** The customer under the identity's email, if it has one and that exists. */
  byEmail?: C | undefined;
}

/** A link is live while its customer exists under the number it was linked to, confirmed. */
export function liveLink<C extends KnownCustomer>(link: KnownLink | undefined, customer: C | undefined): customer is C {
  return link !== undefined && customer !== undefined && customer.customerNumber === link.customerNumber && !customer.pending;
}

export function matchFederatedCustomer<C extends KnownCustomer>(input: MatchInput<C>): FederatedMatch<C> {
  const { provider, identity, byEmail } = input;
  if (liveLink(input.link, input.linkedCustomer)) return { outcome: 'linked', customer: input.linkedCustomer };
  const verifiedEmail = identity.emailVerified ? identity.email : undefined;
  if (provider.customerIdentifier === 'EMAIL' && verifiedEmail !== undefined && byEmail && !byEmail.pending) {
    return { outcome: 'link', customer: byEmail };
  }
  if (!provider.autoProvision) return { outcome: 'unknown' };
  if (identity.email === undefined) return { outcome: 'rejected', reason: 'no email to provision a customer with' };
  if (verifiedEmail === undefined) return { outcome: 'rejected', reason: 'email not verified by the provider' };
  if (byEmail && !byEmail.pending) return { outcome: 'rejected', reason: 'email belongs to a customer this identity is not linked to' };
  return { outcome: 'provision', email: verifiedEmail, discardPending: byEmail?.pending === true };
}
