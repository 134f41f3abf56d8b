import { signAccessToken } from '../domain/access-token-jwt.js';
import { ServiceUnavailable } from '../domain/errors.js';
import { count, countTokensIssued } from '../metrics.js';
import { grantScopes, scopeString } from '../domain/scopes.js';
import { seal } from '../domain/seal.js';
import { isReusable, type ServiceTokenGrant } from '../domain/service-token.js';
import { DEFAULT_LIFETIMES, revokedWithClient, type ServiceClient } from '../domain/tenant.js';
import { mintToken, newSelector } from '../domain/tokens.js';
import type { CachedServiceToken } from '../ports.js';
import type { ServiceTokenDeps } from './deps.js';

/**
 * `client_credentials` (contract section 3): the same client asking for the same scopes gets the
 * same still-fresh token back, reported with its true remaining `expires_in`, unless the client's
 * tokens were revoked since it was issued (then a new one is minted).
 */
export async function issueServiceToken(
  deps: ServiceTokenDeps,
  client: ServiceClient,
  requestedScope: string | undefined,
): Promise<ServiceTokenGrant> {
  const granted = grantScopes(requestedScope, client.scopes);
  const scopeKey = granted.join(' ');
  const now = deps.clock();
  const cached = await deps.tokens.getCachedServiceToken(client.clientId, scopeKey);
  if (cached && isReusable(cached, now, deps.serviceTokenReuseShare) && !revokedWithClient(client, cached.issuedAt)) {
    const accessToken = await openCached(deps, client, cached);
    if (accessToken) {
      countTokensIssued('client_credentials');
      return { accessToken, expiresIn: cached.expiresAt - now, scope: scopeString(granted, client.tenant) };
    }
  }
  const minted = await mintServiceToken(deps, client, granted);
  countTokensIssued('client_credentials');
  return minted;
}

/** Mints, stores durably, then caches. A failed cache write does not cost the caller its token. */
export async function mintServiceToken(deps: ServiceTokenDeps, client: ServiceClient, granted: string[]): Promise<ServiceTokenGrant> {
  const tenant = await deps.directory.getTenant(client.tenant);
  const lifetime = tenant?.settings.lifetimes.serviceAccess ?? DEFAULT_LIFETIMES.serviceAccess;
  // A token minted once the client's revocation is known is never caught by it, even in the
  // revocation's own second or when the operator's clock ran ahead of ours.
  const now = client.tokensRevokedAt === undefined ? deps.clock() : Math.max(deps.clock(), client.tokensRevokedAt + 1);
  const scope = scopeString(granted, client.tenant);
  const minted = await mint(deps, client, scope, now, now + lifetime);
  const scopeKey = granted.join(' ');
  await deps.tokens.putAccessToken({
    selector: minted.selector,
    hash: minted.hash,
    tenant: client.tenant,
    clientId: client.clientId,
    scopes: granted,
    issuedAt: now,
    expiresAt: now + lifetime,
  });
  try {
    const sealed = seal(minted.token, await deps.keys.cacheKey(), cacheContext(deps, client, scopeKey));
    await deps.tokens.putCachedServiceToken({
      clientId: client.clientId,
      scopeKey,
      selector: minted.selector,
      sealed,
      issuedAt: now,
      expiresAt: now + lifetime,
    });
  } catch (error) {
    if (!(error instanceof ServiceUnavailable)) throw error;
    deps.log.warn('service token cache write failed; token issued uncached', { clientId: client.clientId });
  }
  return { accessToken: minted.token, expiresIn: lifetime, scope };
}

/**
 * The token itself: opaque by default; for an `accessTokenFormat: jwt` client an RFC 9068 JWT
 * (contract section 9) with `sub` the client id, `aud` its audience or else the issuer, and the
 * response's scope string. Either is stored under its selector as its hash.
 */
async function mint(
  deps: ServiceTokenDeps,
  client: ServiceClient,
  scope: string,
  issuedAt: number,
  expiresAt: number,
): Promise<{ token: string; selector: string; hash: string }> {
  if (client.accessTokenFormat !== 'jwt') return mintToken();
  const selector = newSelector();
  const claims = {
    issuer: deps.issuer,
    subject: client.clientId,
    audience: client.audience ?? deps.issuer,
    clientId: client.clientId,
    scope,
    tenant: client.tenant,
    issuedAt,
    expiresAt,
  };
  return { selector, ...(await signAccessToken(claims, selector, await deps.signingKeys.current())) };
}

async function openCached(deps: ServiceTokenDeps, client: ServiceClient, cached: CachedServiceToken): Promise<string | undefined> {
  // A value sealed under a rotated key, or for another token form, no longer opens: the caller mints afresh.
  return deps.unseal(cached.sealed, await deps.keys.cacheKey(), cacheContext(deps, client, cached.scopeKey));
}

/**
 * What a cached token is sealed to: its client and scopes, and for a JWT its form, issuer and
 * audience. A client switched to JWTs, or given another audience, by a seed (or a function given
 * another ISSUER) then finds that its cached token does not open and gets a new one, instead of
 * a token of the old form for the rest of its reuse share. An opaque client's context is the one
 * it always had, so a deploy keeps every cached opaque token.
 */
function cacheContext(deps: Pick<ServiceTokenDeps, 'issuer'>, client: ServiceClient, scopeKey: string): string {
  const context = `service-token-cache/${client.clientId}/${scopeKey}`;
  if (client.accessTokenFormat !== 'jwt') return context;
  return `${context}\njwt\n${deps.issuer}\n${client.audience ?? ''}`;
}

/**
 * The warm-up (contract section 3): for every client marked `warmup`, makes sure its all-scopes
 * token is still reusable at the next run, so those clients never wait for a mint. It needs no
 * client secret (it authenticates nobody), and the warm-up function is not granted any. It does
 * sign: a `warmup` client with JWT access tokens is kept fresh like any other (the flag promises
 * that client no mint on its path, whatever its tokens' form), so the warm-up function reads the
 * signing key and knows the issuer. It has no HTTP route, and reads the key only when a JWT is due.
 */
export async function warmUp(deps: ServiceTokenDeps, intervalSeconds: number): Promise<WarmUpReport> {
  const report: WarmUpReport = { refreshed: [], stillFresh: [], failed: [] };
  const clients = await deps.directory.listWarmupClients();
  const nextRun = deps.clock() + intervalSeconds;
  await Promise.all(
    clients.map(async (client) => {
      try {
        const granted = grantScopes(undefined, client.scopes);
        const cached = await deps.tokens.getCachedServiceToken(client.clientId, granted.join(' '));
        if (
          cached &&
          isReusable(cached, nextRun, deps.serviceTokenReuseShare) &&
          !revokedWithClient(client, cached.issuedAt) &&
          (await openCached(deps, client, cached))
        ) {
          report.stillFresh.push(client.clientId);
          return;
        }
        await mintServiceToken(deps, client, granted);
        report.refreshed.push(client.clientId);
        count('WarmupRefreshed');
      } catch (error) {
        deps.log.warn('warm-up failed for a client', { clientId: client.clientId, error });
        report.failed.push(client.clientId);
        count('WarmupFailures');
      }
    }),
  );
  return report;
}

export interface WarmUpReport {
  refreshed: string[];
  stillFresh: string[];
  failed: string[];
}
