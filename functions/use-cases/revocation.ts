import { audit } from '../audit.js';
import type { AppClient, ServiceClient } from '../domain/tenant.js';
import { parseToken } from '../domain/tokens.js';
import type { Deps } from './deps.js';

/** Revocation writes the tokens and the refresh families, and audits what it ended. */
type RevocationDeps = Pick<Deps, 'tokens' | 'sessions' | 'clock' | 'log'>;

/** RFC 7009 section 2.1: the scope that lets a client revoke tokens not issued to it. */
export const TOKEN_REVOKE_SCOPE = 'broker.token_revoke';

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
export async function revoke(deps: RevocationDeps, caller: ServiceClient, token: string): Promise<void> {
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

/**
 * RFC 7009 section 2.1 for an app client: it revokes the tokens of its own grants, any of them
 * (access or refresh) ending the whole family; a token of anyone else's is left alive, with the
 * same 200. The client check is part of the one conditional write.
 */
export async function revokeOwnGrant(deps: RevocationDeps, caller: AppClient, token: string): Promise<void> {
  const parsed = parseToken(token);
  if (!parsed) return;
  const matching = { hash: parsed.hash, tenant: caller.tenant, clientId: caller.clientId };
  if (await deps.sessions.revokeSession(parsed.selector, deps.clock(), matching)) {
    audit(deps.log, 'token_revoked', { tenant: caller.tenant, clientId: caller.clientId, kind: 'grant' });
  }
}
