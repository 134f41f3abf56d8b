import { scopeString } from '../domain/scopes.js';
import { accessSlot, checkAccessToken, effectiveExpiry, legalEntityOf } from '../domain/session.js';
import type { ServiceClient } from '../domain/tenant.js';
import { parseToken, sameHash } from '../domain/tokens.js';
import type { AccessTokenRecord } from '../ports.js';
import type { BrokerDeps } from './deps.js';
import { lifetimesOf } from './sessions.js';

/** RFC 7662 section 2.2: an inactive token reveals nothing but that. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

const INACTIVE: Introspection = { active: false };

/**
 * Introspection for downstream services (contract section 4): a live access token of any kind
 * (service, anonymous, customer) of the caller's own tenant is described; anything else, a token
 * of another tenant included, is inactive. One GetItem, whatever the kind.
 */
export async function introspect(deps: BrokerDeps, caller: ServiceClient, token: string): Promise<Introspection> {
  const parsed = parseToken(token);
  if (!parsed) return INACTIVE;
  const found = await deps.tokens.findToken(parsed.selector);
  const now = deps.clock();
  if (found?.kind === 'access') {
    const record = found.record;
    if (!sameHash(record.hash, parsed.hash) || !isLive(record, caller.tenant, now)) return INACTIVE;
    return {
      active: true,
      scope: scopeString(record.scopes, record.tenant),
      client_id: record.clientId,
      token_type: 'Bearer',
      exp: record.expiresAt,
      iat: record.issuedAt,
      sub: record.clientId,
      tenant: record.tenant,
    };
  }
  if (found?.kind === 'session') {
    const family = found.family;
    if (checkAccessToken(family, parsed.hash, caller.tenant, now) !== 'valid') return INACTIVE;
    const slot = accessSlot(family, parsed.hash)!;
    const tenant = await deps.directory.getTenant(family.tenant);
    const lifetime = tenant ? lifetimesOf(tenant, family.kind).access : 0;
    const claims: Introspection = {
      active: true,
      scope: scopeString([], family.tenant),
      client_id: family.clientId,
      token_type: 'Bearer',
      exp: effectiveExpiry(family, slot),
      iat: slot.expiresAt - lifetime,
      sub: family.customer?.customerNumber ?? family.sessionId,
      tenant: family.tenant,
      session_id: family.sessionId,
    };
    const legalEntityId = legalEntityOf(family.customer);
    if (legalEntityId) claims.legal_entity_id = legalEntityId;
    return claims;
  }
  return INACTIVE;
}

function isLive(record: AccessTokenRecord, tenant: string, now: number): boolean {
  return record.tenant === tenant && record.revokedAt === undefined && now < record.expiresAt;
}

/**
 * RFC 7009 revocation, limited to the caller's tenant. Unknown, foreign or malformed tokens are
 * not an error (section 2.2). A revoked service token also leaves the cache; any token of a
 * storefront session (a refresh token included) ends its whole family, access tokens and all.
 */
export async function revoke(deps: BrokerDeps, caller: ServiceClient, token: string): Promise<void> {
  const parsed = parseToken(token);
  if (!parsed) return;
  const record = await deps.tokens.revokeAccessToken(parsed.selector, parsed.hash, caller.tenant, deps.clock());
  if (record) {
    await deps.tokens.dropCachedServiceToken(record.clientId, record.scopes.join(' '), record.selector);
    return;
  }
  await deps.sessions.revokeSession(parsed.selector, deps.clock(), { hash: parsed.hash, tenant: caller.tenant });
}
