import { randomUUID } from 'node:crypto';
import { audit } from '../audit.js';
import {
  classifyFailedRedemption,
  pkceChallenge,
  redemptionRefusal,
  type Authorization,
  type PresentedCode,
  type RedemptionClause,
} from '../domain/authorization.js';
import { signAccessToken } from '../domain/access-token-jwt.js';
import { InvalidGrant } from '../domain/errors.js';
import { countTokensIssued } from '../metrics.js';
import {
  effectiveExpiry,
  startFamily,
  subjectOf,
  withFirstAccess,
  type MintedAccess,
  type RefreshFamily,
} from '../domain/refresh-family.js';
import { grantScopes, scopeString } from '../domain/scopes.js';
import { lifetimesOf, revokedWithClient, type AppClient } from '../domain/tenant.js';
import { parseToken } from '../domain/tokens.js';
import type { Deps } from './deps.js';
import { firstPair, refreshSession } from './sessions.js';

/**
 * The `authorization_code` and `refresh_token` grants at `/oauth/token` (contract sections 5 and
 * 6) for app clients. A code's redemption starts a refresh family of kind `grant`, which then
 * refreshes through the same one-time rotation as storefront sessions (use-cases/sessions.ts),
 * bound to the app client by the rotation's `client` clause.
 */

/** What the grants read and write: the directory (cached), the families, the authorization records. */
export type GrantDeps = Pick<Deps, 'directory' | 'sessions' | 'authorizations' | 'signingKeys' | 'issuer' | 'clock' | 'log'>;

/** The tokens a grant answers with (contract section 5). */
export interface GrantTokens {
  accessToken: string;
  accessExpiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  /** The access token's scope on the wire: its scopes plus `tenant=T`. */
  scope: string;
}

/** Contract section 5: the body of both grants' 200. */
export function grantTokenBody(tokens: GrantTokens): Record<string, unknown> {
  return {
    access_token: tokens.accessToken,
    token_type: 'Bearer',
    expires_in: tokens.accessExpiresIn,
    refresh_token: tokens.refreshToken,
    refresh_token_expires_in: tokens.refreshExpiresIn,
    scope: tokens.scope,
  };
}

// --- authorization_code -------------------------------------------------------------------------

/** The token request's parameters, present and well-formed (routes/oauth.ts checks them). */
export interface CodeRedemptionInput {
  code: string;
  redirectUri: string;
  /** RFC 7636 section 4.1 syntax (`isCodeVerifier`). */
  codeVerifier: string;
}

/**
 * What a refused redemption says. None of it helps whoever holds a stolen code: the client,
 * redirect URI and verifier clauses are what the client itself sent, and it needs to know which.
 */
const REFUSED: Record<RedemptionClause, string> = {
  exists: 'unknown authorization code',
  live: 'the authorization code was revoked with the customer’s sessions',
  code: 'unknown authorization code',
  unredeemed: 'the authorization code was already used',
  unexpired: 'the authorization code expired',
  client: 'the authorization code was issued to another client',
  redirectUri: 'redirect_uri differs from the authorization request’s',
  verifier: 'code_verifier does not match the code_challenge',
};

/**
 * `grant_type=authorization_code` (RFC 6749 section 4.1.3, RFC 7636 section 4.6). Round trips:
 * the record is read (a clear refusal answers here, with nothing written); the new family and its
 * entry in the customer's session index are written together; then the one conditional write that
 * redeems the code and names that family in the record. The family exists before the record names
 * it, so a replay, which reads the record, always finds the family to revoke: RFC 6749 section
 * 4.1.2 asks that a code used twice be refused and the tokens issued from it revoked. Of any
 * number of concurrent redemptions one wins the write; every loser finds the code redeemed and
 * revokes the winner's family as a replay would, and its own (never handed out).
 */
export async function redeemAuthorizationCode(deps: GrantDeps, client: AppClient, input: CodeRedemptionInput): Promise<GrantTokens> {
  const parsed = parseToken(input.code);
  if (!parsed) throw new InvalidGrant(REFUSED.exists);
  const presented: PresentedCode = {
    codeHash: parsed.hash,
    clientId: client.clientId,
    redirectUri: input.redirectUri,
    codeChallenge: pkceChallenge(input.codeVerifier),
  };
  const now = deps.clock();
  const record = await deps.authorizations.findAuthorization(parsed.selector);
  const refusal = redemptionRefusal(record, presented, now);
  if (refusal === 'unredeemed') {
    await revokeReplayed(deps, record!, client, now);
    throw new InvalidGrant(REFUSED.unredeemed);
  }
  if (refusal !== undefined) throw new InvalidGrant(REFUSED[refusal]);
  const authorization = record!;
  const issued = authorization.code!;
  // Incident response: a code issued before the client's tokens were revoked yields none.
  if (revokedWithClient(client, issued.issuedAt)) throw new InvalidGrant('the client’s tokens were revoked');
  const tenant = await deps.directory.getTenant(authorization.tenant);
  if (!tenant || tenant.tenant !== client.tenant) throw new InvalidGrant(REFUSED.exists);

  let started = startFamily(
    {
      kind: 'grant',
      tenant: tenant.tenant,
      clientId: client.clientId,
      sessionId: randomUUID(),
      context: {},
      customer: {
        customerNumber: issued.customer.customerNumber,
        email: issued.customer.email,
        legalEntities: issued.customer.legalEntities,
      },
      scopes: authorization.scopes,
    },
    lifetimesOf(tenant.settings, 'grant'),
    now,
  );
  // Contract section 9: a JWT client's first access token is signed before anything is written
  // (without a signing key the redemption fails with the code still unredeemed).
  if (client.accessTokenFormat === 'jwt') {
    const family = started.family;
    started = withFirstAccess(started, await jwtAccessToken(deps, client, family, authorization.scopes, now, family.access.expiresAt));
  }
  const { family } = started;
  await Promise.all([
    deps.sessions.createSession(family),
    // Indexed like a customer login, so a password change or the customer's removal ends it too.
    deps.sessions.indexCustomerSession({
      tenant: tenant.tenant,
      email: issued.customer.email,
      selector: family.selector,
      endsAt: family.endsAt,
    }),
  ]);

  if (!(await deps.authorizations.redeemCode(parsed.selector, { ...presented, now }, family.selector))) {
    // Lost the write: the record as it now stands says why (the rule's classification).
    const failed = classifyFailedRedemption(await deps.authorizations.findAuthorization(parsed.selector), presented);
    await deps.sessions.revokeSession(family.selector, deps.clock());
    if (failed.verdict === 'replay') {
      await revokeReplayed(deps, { ...authorization, redemption: { redeemedAt: now, familySelector: failed.familySelector } }, client, now);
      throw new InvalidGrant(REFUSED.unredeemed);
    }
    throw new InvalidGrant('the authorization code is no longer valid');
  }
  countTokensIssued('authorization_code');
  return { ...firstPair(started, now), scope: scopeString(authorization.scopes, tenant.tenant) };
}

/**
 * RFC 6749 section 4.1.2: a code presented after its redemption revokes the tokens issued from it
 * (the family the record names), whoever presents it: the legitimate client retrying cannot be
 * told from an attacker who intercepted the code.
 */
async function revokeReplayed(deps: GrantDeps, authorization: Authorization, presenter: AppClient, now: number): Promise<void> {
  const familySelector = authorization.redemption!.familySelector;
  const who = { tenant: authorization.tenant, clientId: authorization.clientId };
  audit(deps.log, 'code_replayed', { ...who, presentedBy: presenter.clientId });
  if (await deps.sessions.revokeSession(familySelector, now)) {
    audit(deps.log, 'family_revoked', { ...who, kind: 'grant', reason: 'code_replayed' });
  }
}

// --- refresh_token ------------------------------------------------------------------------------

export interface RefreshGrantInput {
  refreshToken: string;
  /** RFC 6749 section 6: optional; no more than the grant's scopes. */
  scope: string | undefined;
}

/**
 * `grant_type=refresh_token` (RFC 6749 section 6): the one-time rotation of a grant family,
 * bound to the presenting app client (a refresh token of another client is invalid_grant). One
 * round trip, the conditional write; the tenant and the client come from the directory cache. A
 * narrower `scope` is one more clause of that write (every scope asked for was granted to the
 * family); its refusal is invalid_scope. A family whose client's tokens were revoked since it
 * started (incident response) is ended on its next refresh.
 */
export async function refreshGrant(deps: GrantDeps, client: AppClient, input: RefreshGrantInput): Promise<GrantTokens> {
  // Syntax and the client's own scopes here; the family's grant is the write's `scope` clause.
  const scopes = input.scope !== undefined && input.scope.trim() !== '' ? grantScopes(input.scope, client.scopes) : undefined;
  const access = client.accessTokenFormat === 'jwt' ? await refreshedJwt(deps, client, input.refreshToken, scopes) : undefined;
  const result = await refreshSession(deps, {
    tenant: client.tenant,
    kind: 'grant',
    refreshToken: input.refreshToken,
    clientId: client.clientId,
    ...(scopes !== undefined ? { scopes } : {}),
    ...(access !== undefined ? { access } : {}),
    clientRevoked: (family) => revokedWithClient(client, family.issuedAt),
  });
  return {
    accessToken: result.pair.accessToken,
    accessExpiresIn: result.pair.accessExpiresIn,
    refreshToken: result.pair.refreshToken,
    refreshExpiresIn: result.pair.refreshExpiresIn,
    scope: scopeString(result.scopes ?? [], result.tenant.tenant),
  };
}

// --- JWT access tokens (contract section 9) ---------------------------------------------------

/**
 * An RFC 9068 access token for a grant family of a JWT client: `sub` the customer number,
 * `aud` the client's audience or else the issuer, the family's session, the token's scope string.
 * It is signed under the family's selector, so its hash is stored and found exactly where an
 * opaque token's would be (introspection and revocation see no difference).
 */
async function jwtAccessToken(
  deps: Pick<GrantDeps, 'signingKeys' | 'issuer'>,
  client: AppClient,
  family: Pick<RefreshFamily, 'selector' | 'tenant' | 'sessionId' | 'customer'>,
  scopes: readonly string[],
  issuedAt: number,
  expiresAt: number,
): Promise<MintedAccess> {
  const claims = {
    issuer: deps.issuer,
    subject: subjectOf(family),
    audience: client.audience ?? deps.issuer,
    clientId: client.clientId,
    scope: scopeString(scopes, family.tenant),
    tenant: family.tenant,
    issuedAt,
    expiresAt,
    sessionId: family.sessionId,
  };
  return signAccessToken(claims, family.selector, await deps.signingKeys.current());
}

/**
 * The JWT for a refresh's successor. Its claims need the family (subject, session, scope), which
 * the opaque refresh never reads: one GetItem more, while the conditional write still decides
 * whether the refresh happens (a family that is not this client's, or gone, gets no JWT and the
 * write refuses as it would anyway).
 */
async function refreshedJwt(
  deps: GrantDeps,
  client: AppClient,
  refreshToken: string,
  scopes: string[] | undefined,
): Promise<MintedAccess | undefined> {
  const parsed = parseToken(refreshToken);
  const family = parsed && (await deps.sessions.findSession(parsed.selector));
  if (family?.kind !== 'grant' || family.clientId !== client.clientId || family.tenant !== client.tenant) return undefined;
  const tenant = await deps.directory.getTenant(family.tenant);
  if (!tenant) return undefined;
  const now = deps.clock();
  const expiresAt = effectiveExpiry(family, { hash: '', expiresAt: now + lifetimesOf(tenant.settings, 'grant').access });
  return jwtAccessToken(deps, client, family, scopes ?? family.scopes ?? [], now, expiresAt);
}
