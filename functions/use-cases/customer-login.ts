import { audit } from '../audit.js';
import { InvalidCredentials, InvalidToken } from '../domain/errors.js';
import { attemptLimits } from '../domain/login-throttle.js';
import { countTokensIssued } from '../metrics.js';
import { noteCaller } from '../request-context.js';
import { checkAccessToken } from '../domain/refresh-family.js';
import { revokedWithStorefrontClient } from '../domain/tenant.js';
import { parseToken } from '../domain/tokens.js';
import { checkCredentials } from './credentials.js';
import type { StorefrontDeps } from './deps.js';
import { firstPair, planCustomerSession, type SessionTokens } from './sessions.js';

export interface LoginInput {
  tenant: string;
  /** The anonymous access token whose session carries over. */
  bearer: string | undefined;
  /** Already trimmed and lower-cased. */
  email: string;
  password: string;
  issuer: string;
}

export interface LoginResult extends SessionTokens {
  saasToken: string;
  initialPassword: boolean;
}

/**
 * Customer login (contract section 2). Wrong email and wrong password answer alike and cost the
 * same scrypt verification. Round trips: the batch read of the anonymous session and the
 * customer runs alongside the conditional write that reserves this attempt (login-throttle.ts),
 * so no password is checked without a reservation; then the new family, its entry in the
 * customer's session index and the cleared attempt counter are written together; then the
 * customer is read once more (see below).
 *
 * The re-read closes a race with a password change or removal (the seed today): a login that
 * verified the old password just before the change could otherwise write its family just after
 * the seed ended the customer's sessions, and keep a session the change was meant to end. The
 * seed writes the customer first and then reads the index; the login writes the index first and
 * then reads the customer (both strongly consistent). Either the seed's read finds this login's
 * entry and ends the family, or this login's read sees the change and ends the family itself.
 */
export async function customerLogin(deps: StorefrontDeps, input: LoginInput): Promise<LoginResult> {
  const parsed = parseToken(input.bearer);
  const tenant = parsed && (await deps.directory.getTenant(input.tenant));
  if (!parsed || !tenant) throw new InvalidToken();
  const now = deps.clock();

  const [{ session, customer: found }, reservation] = await Promise.all([
    deps.customers.loadLogin(parsed.selector, tenant.tenant, input.email),
    deps.customers.reserveLoginAttempt(tenant.tenant, input.email, attemptLimits(now)),
  ]);
  const check = session?.kind === 'anonymous' ? checkAccessToken(session, parsed.hash, tenant.tenant, now) : 'invalid';
  if (check !== 'valid') throw new InvalidToken({ expired: check === 'expired' });
  if (revokedWithStorefrontClient(tenant, session!.clientId, session!.issuedAt)) throw new InvalidToken();
  const who = { tenant: tenant.tenant, clientId: session!.clientId, email: input.email };
  noteCaller(who.tenant, who.clientId);

  // The attempt counter, the password and the audit events: shared with the sign-in page.
  const customer = await checkCredentials(deps, who, reservation, found, input.password, now);

  // The new family's absolute end is counted from this login; no token of it outlives the end.
  const { started, saasToken } = await planCustomerSession(deps, { tenant, session: session!, customer, issuer: input.issuer, now });
  const { selector, endsAt } = started.family;
  await Promise.all([
    deps.sessions.createSession(started.family),
    // If this write fails the login fails, and the family written beside it is never handed out.
    deps.sessions.indexCustomerSession({ tenant: tenant.tenant, email: customer.email, selector, endsAt }),
    deps.customers.clearLoginAttempts(tenant.tenant, input.email),
  ]);

  const current = await deps.customers.getCustomer(tenant.tenant, input.email);
  if (!current || current.passwordHash !== customer.passwordHash) {
    await deps.sessions.revokeSession(selector, deps.clock());
    audit(deps.log, 'family_revoked', { ...who, sessionId: session!.sessionId, reason: 'credentials_changed_during_login' });
    throw new InvalidCredentials();
  }
  if (!sameMembers(current.legalEntities, customer.legalEntities)) {
    await deps.sessions.setSessionLegalEntities(selector, current.legalEntities);
  }

  countTokensIssued('login');
  return {
    sessionId: session!.sessionId,
    tenant,
    saasToken,
    initialPassword: customer.initialPassword,
    pair: firstPair(started, now),
  };
}

function sameMembers(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}
