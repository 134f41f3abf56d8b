import { scopeString } from '../domain/scopes.js';
import type { ServiceClient } from '../domain/tenant.js';
import { parseToken, sameHash } from '../domain/tokens.js';
import type { AccessTokenRecord } from '../ports.js';
import type { BrokerDeps } from './deps.js';

/** RFC 7662 section 2.2: an inactive token reveals nothing but that. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

const INACTIVE: Introspection = { active: false };

/**
 * Introspection for downstream services (contract section 4): a live token of the caller's own
 * tenant is described; anything else, a token of another tenant included, is inactive.
 */
export async function introspect(deps: BrokerDeps, caller: ServiceClient, token: string): Promise<Introspection> {
  const parsed = parseToken(token);
  if (!parsed) return INACTIVE;
  const record = await deps.tokens.findAccessToken(parsed.selector);
  if (!record || !sameHash(record.hash, parsed.hash) || !isLive(record, caller.tenant, deps.clock())) {
    return INACTIVE;
  }
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

function isLive(record: AccessTokenRecord, tenant: string, now: number): boolean {
  return record.tenant === tenant && record.revokedAt === undefined && now < record.expiresAt;
}

/**
 * RFC 7009 revocation, limited to the caller's tenant. Unknown, foreign or malformed tokens are
 * not an error (section 2.2). A revoked service token also leaves the cache, so the next request
 * gets a new one.
 */
export async function revoke(deps: BrokerDeps, caller: ServiceClient, token: string): Promise<void> {
  const parsed = parseToken(token);
  if (!parsed) return;
  const record = await deps.tokens.revokeAccessToken(parsed.selector, parsed.hash, caller.tenant, deps.clock());
  if (record) await deps.tokens.dropCachedServiceToken(record.clientId, record.scopes.join(' '), record.selector);
}
