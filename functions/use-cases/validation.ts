import { audit } from '../audit.js';
import { scopeString } from '../domain/scopes.js';
import { accessSlot, checkAccessToken, effectiveExpiry, legalEntityOf, subjectOf } from '../domain/refresh-family.js';
import { lifetimesOf, revokedWithClient, type ServiceClient } from '../domain/tenant.js';
import { parseToken, sameHash } from '../domain/tokens.js';
import type { AccessTokenRecord } from '../ports.js';
import type { Deps } from './deps.js';

/** Introspection and revocation read the directory, the tokens and the refresh families. */
type ValidationDeps = Pick<Deps, 'directory' | 'tokens' | 'sessions' | 'clock' | 'log'>;

/** RFC 7662 section 2.2: an inactive token reveals nothing but that. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

const INACTIVE: Introspection = { active: false };

/** RFC 7009 section 2.1: the scope that lets a client revoke tokens not issued to it. */
export const TOKEN_REVOKE_SCOPE = 'broker.token_revoke';

/**
 * Introspection for downstream services (contract section 4): a live access token of any kind
 * (service, anonymous, customer) of the caller's own tenant is described; anything else, a token
 * of another tenant included, is inactive. So is a token whose client or tenant the directory no
 * longer has, or issued before its client's tokens were revoked. One GetItem, whatever the kind,
 * plus directory reads that the 60 s directory cache answers from memory.
 */
export async function introspect(deps: ValidationDeps, caller: ServiceClient, token: string): Promise<Introspection> {
  const parsed = parseToken(token);
  if (!parsed) return INACTIVE;
  const found = await deps.tokens.findToken(parsed.selector);
  const now = deps.clock();
  if (found?.kind === 'access') {
    const record = found.record;
    if (!sameHash(record.hash, parsed.hash) || !isLive(record, caller.tenant, now)) return INACTIVE;
    const [client, tenant] = await Promise.all([
      deps.directory.getServiceClient(record.clientId),
      deps.directory.getTenant(record.tenant),
    ]);
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
    const tenant = await deps.directory.getTenant(family.tenant);
    // A removed tenant, or a storefront client it no longer lists, has no live tokens.
    if (!tenant || !tenant.storefrontClients.includes(family.clientId)) return INACTIVE;
    const lifetime = lifetimesOf(tenant.settings, family.kind).access;
    const claims: Introspection = {
      active: true,
      scope: scopeString([], family.tenant),
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

function isLive(record: AccessTokenRecord, tenant: string, now: number): boolean {
  return record.tenant === tenant && record.revokedAt === undefined && now < record.expiresAt;
}

/**
 * RFC 7009 revocation, limited to the caller's tenant. A client revokes the tokens issued to it
 * (section 2.1); any other token of its tenant only with the scope `broker.token_revoke`. For a
 * service token the client check is part of the one conditional write, so no read can race it.
 * A storefront session is issued to a storefront client, never to the calling service client, so
 * without the scope no session is touched at all (not even one whose storefront client happens to
 * share the caller's id). Unknown, foreign, malformed or not-ours tokens are not an error (section
 * 2.2): the answer is the same 200 and the token stays alive. A revoked service token also leaves
 * the cache; any token of a storefront session (a refresh token included) ends its whole family.
 */
export async function revoke(deps: ValidationDeps, caller: ServiceClient, token: string): Promise<void> {
  const parsed = parseToken(token);
  if (!parsed) return;
  const mayRevokeAny = caller.scopes.includes(TOKEN_REVOKE_SCOPE);
  const onlyOwn = mayRevokeAny ? undefined : caller.clientId;
  const record = await deps.tokens.revokeAccessToken(parsed.selector, parsed.hash, caller.tenant, deps.clock(), onlyOwn);
  if (record) {
    await deps.tokens.dropCachedServiceToken(record.clientId, record.scopes.join(' '), record.selector);
    audit(deps.log, 'token_revoked', { tenant: caller.tenant, clientId: caller.clientId, tokenClientId: record.clientId, kind: 'service' });
    return;
  }
  if (!mayRevokeAny) return;
  const revoked = await deps.sessions.revokeSession(parsed.selector, deps.clock(), { hash: parsed.hash, tenant: caller.tenant });
  if (revoked) audit(deps.log, 'token_revoked', { tenant: caller.tenant, clientId: caller.clientId, kind: 'session' });
}
