import { scopeString } from '../domain/scopes.js';
import { accessSlot, checkAccessToken, effectiveExpiry, legalEntityOf, subjectOf, type RefreshFamily } from '../domain/refresh-family.js';
import { lifetimesOf, revokedWithClient, revokedWithStorefrontClient, type ServiceClient, type Tenant } from '../domain/tenant.js';
import { parseToken, sameHash } from '../domain/tokens.js';
import type { AccessTokenRecord } from '../ports.js';
import type { Deps } from './deps.js';

/** Introspection reads the directory, the tokens and the refresh families. */
type IntrospectionDeps = Pick<Deps, 'directory' | 'tokens' | 'clock'>;

/** RFC 7662 section 2.2: an inactive token reveals nothing but that. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

const INACTIVE: Introspection = { active: false };

/**
 * Introspection for downstream services (contract section 4): a live access token of any kind
 * (service, anonymous, customer, an app's grant) of the caller's own tenant is described;
 * anything else, a token of another tenant included, is inactive. So is a token whose client or tenant the directory no
 * longer has, or issued before its client's tokens were revoked. One GetItem, whatever the kind,
 * plus directory reads that the 60 s directory cache answers from memory.
 */
export async function introspect(deps: IntrospectionDeps, caller: ServiceClient, token: string): Promise<Introspection> {
  const parsed = parseToken(token);
  if (!parsed) return INACTIVE;
  const found = await deps.tokens.findToken(parsed.selector);
  const now = deps.clock();
  if (found?.kind === 'access') {
    const record = found.record;
    if (!sameHash(record.hash, parsed.hash) || !isLive(record, caller.tenant, now)) return INACTIVE;
    const [client, tenant] = await Promise.all([deps.directory.getServiceClient(record.clientId), deps.directory.getTenant(record.tenant)]);
    if (!tenant || !client || client.tenant !== record.tenant || revokedWithClient(client, record.issuedAt)) return INACTIVE;
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
    const tenant = await liveClientTenant(deps, family);
    if (!tenant) return INACTIVE;
    const lifetime = lifetimesOf(tenant.settings, family.kind).access;
    const claims: Introspection = {
      active: true,
      // A grant's access token: its own scope (a refresh may have narrowed it), else the grant's.
      scope: scopeString(slot.scopes ?? family.scopes ?? [], family.tenant),
      client_id: family.clientId,
      token_type: 'Bearer',
      exp: effectiveExpiry(family, slot),
      iat: slot.expiresAt - lifetime,
      sub: subjectOf(family),
      tenant: family.tenant,
      session_id: family.sessionId,
    };
    const legalEntityId = legalEntityOf(family.customer);
    if (legalEntityId) claims.legal_entity_id = legalEntityId;
    return claims;
  }
  return INACTIVE;
}

/**
 * The tenant of a family whose client still stands: for a storefront session, a storefront client
 * the tenant still lists and whose sessions were not ended with all of its tokens; for a grant, an
 * app client of that tenant the directory still has, whose tokens were not revoked since.
 */
async function liveClientTenant(deps: IntrospectionDeps, family: RefreshFamily): Promise<Tenant | undefined> {
  if (family.kind === 'grant') {
    const [tenant, client] = await Promise.all([deps.directory.getTenant(family.tenant), deps.directory.getAppClient(family.clientId)]);
    if (!tenant || client?.tenant !== family.tenant || revokedWithClient(client, family.issuedAt)) return undefined;
    return tenant;
  }
  const tenant = await deps.directory.getTenant(family.tenant);
  if (!tenant?.storefrontClients.includes(family.clientId)) return undefined;
  if (revokedWithStorefrontClient(tenant, family.clientId, family.issuedAt)) return undefined;
  return tenant;
}

function isLive(record: AccessTokenRecord, tenant: string, now: number): boolean {
  return record.tenant === tenant && record.revokedAt === undefined && now < record.expiresAt;
}
