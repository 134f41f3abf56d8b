import { randomUUID } from 'node:crypto';
import { audit } from '../audit.js';
import { count, countTokensIssued, type Grant } from '../metrics.js';
import { noteCaller } from '../request-context.js';
import { InvalidGrant, InvalidScope, InvalidToken, LegalEntityNotAssigned, UnknownStorefrontClient } from '../domain/errors.js';
import { unseal } from '../domain/seal.js';
import {
  accessSlot,
  checkAccessToken,
  classifyFailedRefresh,
  effectiveExpiry,
  legalEntityOf,
  planRotation,
  startFamily,
  successorContext,
  type FamilyKind,
  type RefreshFamily,
  type RotationOptions,
  type SessionContext,
  type StartedFamily,
  type Successor,
} from '../domain/refresh-family.js';
import { signSaasToken } from '../domain/signing-keys.js';
import type { IssuedPair } from '../domain/storefront-responses.js';
import { lifetimesOf, revokedWithStorefrontClient, type Tenant } from '../domain/tenant.js';
import { mintToken, parseToken } from '../domain/tokens.js';
import type { StorefrontDeps } from './deps.js';

/**
 * Storefront sessions: anonymous login, the one-time refresh shared by anonymous and customer
 * tokens (contract section 6), validation and logout.
 */

export interface SessionTokens {
  pair: IssuedPair;
  sessionId: string;
  tenant: Tenant;
}

/** The pair handed out for a family just started (anonymous or customer login). */
export function firstPair(started: StartedFamily, now: number): IssuedPair {
  const { family } = started;
  return {
    accessToken: started.accessToken,
    accessExpiresIn: family.access.expiresAt - now,
    refreshToken: started.refreshToken,
    refreshExpiresIn: family.refresh.expiresAt - now,
  };
}

/**
 * A customer session about to start from an anonymous one (customer login, federated login): the
 * family, whose absolute end is counted from `now`, and its saas_token, signed before anything is
 * written (without a signing key the login fails with nothing stored). The caller writes the
 * family and its entry in the customer's session index.
 */
export async function planCustomerSession(
  deps: Pick<StorefrontDeps, 'signingKeys'>,
  input: {
    tenant: Tenant;
    session: Pick<RefreshFamily, 'clientId' | 'sessionId' | 'context'>;
    customer: { customerNumber: string; email: string; legalEntities: string[] };
    issuer: string;
    now: number;
  },
): Promise<{ started: StartedFamily; saasToken: string }> {
  const { tenant, session, customer, now } = input;
  const started = startFamily(
    {
      kind: 'customer',
      tenant: tenant.tenant,
      clientId: session.clientId,
      sessionId: session.sessionId,
      context: session.context,
      customer: { customerNumber: customer.customerNumber, email: customer.email, legalEntities: customer.legalEntities },
    },
    lifetimesOf(tenant.settings, 'customer'),
    now,
  );
  const saasToken = await signSaasToken(
    {
      issuer: input.issuer,
      customerNumber: customer.customerNumber,
      tenant: tenant.tenant,
      email: customer.email,
      sessionId: session.sessionId,
      issuedAt: now,
      expiresAt: started.family.access.expiresAt,
    },
    await deps.signingKeys.current(),
  );
  return { started, saasToken };
}

/** Contract section 1: a new session for a storefront client registered for the tenant. */
export async function anonymousLogin(
  deps: StorefrontDeps,
  input: { tenant: string; clientId: string; context: SessionContext },
): Promise<SessionTokens> {
  const tenant = await deps.directory.getTenant(input.tenant);
  if (!tenant?.storefrontClients.includes(input.clientId)) throw new UnknownStorefrontClient();
  const now = deps.clock();
  const started = startFamily(
    { kind: 'anonymous', tenant: tenant.tenant, clientId: input.clientId, sessionId: randomUUID(), context: input.context },
    lifetimesOf(tenant.settings, 'anonymous'),
    now,
  );
  await deps.sessions.createSession(started.family);
  noteCaller(tenant.tenant, input.clientId);
  countTokensIssued('anonymous');
  return { sessionId: started.family.sessionId, tenant, pair: firstPair(started, now) };
}

export interface RefreshResult extends SessionTokens {
  legalEntityId?: string;
  /** A grant family: the new access token's scopes (the narrower ones asked for, else the family's). */
  scopes?: string[];
}

/** What a refresh presents: the token, where, for which kind, and what it asks for. */
export interface RefreshInput extends RotationOptions {
  tenant: string;
  kind: FamilyKind;
  refreshToken: string | undefined;
  clientId?: string;
  legalEntityId?: string;
  /**
   * Whether the family's client had all its tokens revoked (incident response) since the family
   * started; by default the storefront client's mark on the tenant.
   */
  clientRevoked?: (family: RefreshFamily, tenant: Tenant) => boolean;
}

/**
 * One-time refresh (contract section 6). The new tokens are minted first and written by one
 * conditional write that consumes the presented token; of concurrent refreshes exactly one
 * wins. A loser, or a retry after a lost response, that presents the token just consumed inside
 * the grace window gets the winner's tokens (sealed under a key only that token derives). A
 * consumed token after the window is theft: the family is revoked. Every refusal is an
 * InvalidGrant (a legal entity the customer does not hold: LegalEntityNotAssigned).
 */
export async function refreshSession(
  deps: Pick<StorefrontDeps, 'directory' | 'sessions' | 'clock' | 'log'>,
  input: RefreshInput,
): Promise<RefreshResult> {
  const parsed = parseToken(input.refreshToken);
  const tenant = parsed && (await deps.directory.getTenant(input.tenant));
  if (!parsed || !tenant) throw new InvalidGrant('unknown refresh token');
  const now = deps.clock();
  const { successor, write } = planRotation(parsed, lifetimesOf(tenant.settings, input.kind), now, input.legalEntityId, {
    ...(input.scopes !== undefined ? { scopes: input.scopes } : {}),
    ...(input.access !== undefined ? { access: input.access } : {}),
  });
  const revoked = input.clientRevoked ?? storefrontRevoked;
  const outcome = await deps.sessions.rotateSession(
    parsed.selector,
    { presentedHash: parsed.hash, tenant: tenant.tenant, kind: input.kind, clientId: input.clientId, now },
    write,
  );
  if (outcome.outcome === 'rotated') {
    noteCaller(tenant.tenant, outcome.family.clientId);
    await refuseIfClientRevoked(deps, tenant, outcome.family, now, () => new InvalidGrant('client tokens revoked'), revoked);
    count('RefreshRotations');
    countTokensIssued(REFRESHED);
    return answer(successor, outcome.family, tenant, now);
  }

  // Why the write failed, from the family as it now stands (the rule's classification).
  const family = await deps.sessions.findSession(parsed.selector);
  const verdict = classifyFailedRefresh(
    family,
    {
      hash: parsed.hash,
      tenant: tenant.tenant,
      kind: input.kind,
      ...(input.clientId !== undefined ? { clientId: input.clientId } : {}),
      ...(input.legalEntityId !== undefined ? { legalEntityId: input.legalEntityId } : {}),
      ...(input.scopes !== undefined ? { scopes: input.scopes } : {}),
    },
    now,
    tenant.settings.refreshGraceSeconds,
  );
  // The token was fine: the write failed on the legal entity (contract section 2: 403).
  if (verdict.verdict === 'legal-entity-not-assigned') throw new LegalEntityNotAssigned();
  // RFC 6749 section 6: a scope the grant did not include.
  if (verdict.verdict === 'scope-not-granted') throw new InvalidScope('scope was not granted to this refresh token');
  if (verdict.verdict === 'retry') {
    const opened = unseal(verdict.sealedSuccessor, parsed.token, successorContext(parsed.selector));
    if (opened) {
      noteCaller(tenant.tenant, family!.clientId);
      count('GraceRetries');
      countTokensIssued(REFRESHED);
      return answer(JSON.parse(opened) as Successor, family!, tenant, now);
    }
    throw new InvalidGrant('successor does not open');
  }
  if (verdict.verdict === 'reuse') {
    const who = { tenant: tenant.tenant, clientId: family!.clientId, sessionId: family!.sessionId, kind: family!.kind };
    audit(deps.log, 'refresh_reuse_detected', who);
    await deps.sessions.revokeSession(parsed.selector, now);
    audit(deps.log, 'family_revoked', { ...who, reason: 'refresh_reuse' });
    throw new InvalidGrant('refresh token reused');
  }
  throw new InvalidGrant('refresh token not current');
}

/** Every refresh, storefront or OAuth, anonymous, customer or grant, hands out its pair as `refresh_token`. */
const REFRESHED: Grant = 'refresh_token';

/** The successor's lifetimes as answered: never beyond the session's end (contract section 2). */
function answer(successor: Successor, family: RefreshFamily, tenant: Tenant, now: number): RefreshResult {
  const left = (expiresAt: number) => Math.max(0, effectiveExpiry(family, { hash: '', expiresAt }) - now);
  const result: RefreshResult = {
    sessionId: family.sessionId,
    tenant,
    pair: {
      accessToken: successor.accessToken,
      accessExpiresIn: left(successor.accessExpiresAt),
      refreshToken: successor.refreshToken,
      refreshExpiresIn: left(successor.refreshExpiresAt),
    },
  };
  const legalEntityId = successor.legalEntityId ?? legalEntityOf(family.customer);
  if (legalEntityId !== undefined) result.legalEntityId = legalEntityId;
  const scopes = successor.scopes ?? family.scopes;
  if (scopes !== undefined) result.scopes = [...scopes];
  return result;
}

/**
 * The deprecated `anonymous_token` form (contract section 1): a new access token for the session
 * of a still-known anonymous access token, refresh token untouched. One conditional write.
 */
export async function renewAnonymousAccess(
  deps: StorefrontDeps,
  input: { tenant: string; clientId: string; anonymousToken: string | undefined },
): Promise<{ accessToken: string; expiresIn: number; sessionId: string; tenant: Tenant }> {
  const parsed = parseToken(input.anonymousToken);
  const tenant = parsed && (await deps.directory.getTenant(input.tenant));
  if (!parsed || !tenant) throw new InvalidToken();
  const now = deps.clock();
  const lifetime = lifetimesOf(tenant.settings, 'anonymous');
  const access = mintToken(parsed.selector);
  const family = await deps.sessions.renewAccess(
    parsed.selector,
    { presentedHash: parsed.hash, tenant: tenant.tenant, clientId: input.clientId, now },
    { hash: access.hash, expiresAt: now + lifetime.access },
  );
  if (!family) throw new InvalidToken();
  noteCaller(tenant.tenant, family.clientId);
  await refuseIfClientRevoked(deps, tenant, family, now, () => new InvalidToken(), storefrontRevoked);
  countTokensIssued('anonymous');
  return { accessToken: access.token, expiresIn: effectiveExpiry(family, family.access) - now, sessionId: family.sessionId, tenant };
}

/** The family of a bearer token, if the token is one of its live access tokens on this tenant. */
export async function authenticateSession(
  deps: StorefrontDeps,
  tenant: string,
  bearer: string | undefined,
): Promise<{ family: RefreshFamily; expiresIn: number }> {
  const parsed = parseToken(bearer);
  if (!parsed) throw new InvalidToken();
  const family = await deps.sessions.findSession(parsed.selector);
  const now = deps.clock();
  const check = family ? checkAccessToken(family, parsed.hash, tenant, now) : 'invalid';
  if (check !== 'valid') throw new InvalidToken({ expired: check === 'expired' });
  noteCaller(family!.tenant, family!.clientId);
  const settings = await deps.directory.getTenant(tenant);
  if (!settings || revokedWithStorefrontClient(settings, family!.clientId, family!.issuedAt)) throw new InvalidToken();
  return { family: family!, expiresIn: effectiveExpiry(family!, accessSlot(family!, parsed.hash)!) - now };
}

/**
 * A session of a storefront client whose tokens the incident CLI revoked (contract section 3)
 * may have just been rotated or renewed, as the write cannot know the client's mark: it is ended
 * here, and the caller refuses with `refusal`.
 */
async function refuseIfClientRevoked(
  deps: Pick<StorefrontDeps, 'sessions'>,
  tenant: Tenant,
  family: RefreshFamily,
  now: number,
  refusal: () => Error,
  revoked: (family: RefreshFamily, tenant: Tenant) => boolean,
): Promise<void> {
  if (!revoked(family, tenant)) return;
  await deps.sessions.revokeSession(family.selector, now);
  count('FamiliesRevoked');
  throw refusal();
}

/** A storefront session ended with all of its storefront client's tokens (the tenant's mark). */
function storefrontRevoked(family: RefreshFamily, tenant: Tenant): boolean {
  return revokedWithStorefrontClient(tenant, family.clientId, family.issuedAt);
}

/** Contract section 2: ends the access token and its refresh family; refused if nothing matched. */
export async function logout(deps: StorefrontDeps, tenant: string, accessToken: string | undefined): Promise<void> {
  const parsed = parseToken(accessToken);
  if (!parsed || !(await deps.sessions.revokeSession(parsed.selector, deps.clock(), { hash: parsed.hash, tenant }))) {
    throw new InvalidToken();
  }
  count('FamiliesRevoked');
}
