import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey } from 'jose';
import type { PrivateSigningKey } from './signing-keys.js';
import { hashToken } from './tokens.js';

/**
 * JWT access tokens (RFC 9068; contract section 9), for the clients whose `accessTokenFormat` is
 * `jwt`: a downstream service verifies them with the JWK Set alone.
 *
 * They are stored exactly as opaque tokens are: under a selector, as `hashToken(token)`. The
 * selector rides in `jti` (`<selector>.<random>`), so `parseToken` finds the record of a
 * presented JWT without checking its signature, and the stored hash, not the signature, decides:
 * a token the broker did not issue (a forged signature, another key, a changed claim) matches no
 * hash, and a revoked one is inactive at introspection while its signature still verifies.
 */

/** RFC 9068 section 2.1: the `typ` header that tells an access token from an ID token. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** `jti`'s random part: 12 bytes, 16 base64url characters, so two tokens of one family never share a jti. */
const JTI_RANDOM_BYTES = 12;
/** A selector as `newSelector()` makes it: 16 bytes, 22 base64url characters. */
const SELECTOR_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** The claims of contract section 9 (RFC 9068 section 2.2), in the broker's terms. */
export interface AccessTokenClaims {
  issuer: string;
  /** The customer number; the client id for `client_credentials`. */
  subject: string;
  /** The client's configured audience, else the issuer. */
  audience: string;
  clientId: string;
  /** The granted scopes as the token response states them (space-separated, `tenant=T` included). */
  scope: string;
  tenant: string;
  issuedAt: number;
  expiresAt: number;
  /** Customer tokens only. */
  sessionId?: string;
  legalEntityId?: string;
}

/**
 * Signs an access token under `selector` (the record's key) with `key`. `hash` is what the store
 * keeps, where an opaque token's hash would go.
 */
export async function signAccessToken(
  claims: AccessTokenClaims,
  selector: string,
  key: PrivateSigningKey,
): Promise<{ token: string; hash: string }> {
  // A malformed selector would yield a token parseToken refuses: one nobody could ever use.
  if (!SELECTOR_PATTERN.test(selector)) throw new Error('selector must be 22 base64url characters');
  const payload: Record<string, unknown> = {
    client_id: claims.clientId,
    scope: claims.scope,
    tenant: claims.tenant,
    jti: `${selector}.${randomBytes(JTI_RANDOM_BYTES).toString('base64url')}`,
  };
  if (claims.sessionId !== undefined) payload.session_id = claims.sessionId;
  if (claims.legalEntityId !== undefined) payload.legal_entity_id = claims.legalEntityId;
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(claims.issuer)
    .setSubject(claims.subject)
    .setAudience(claims.audience)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt)
    .sign(await cryptoKeyOf(key));
  return { token, hash: hashToken(token) };
}

/**
 * Imported keys, per kid: importJWK costs more CPU than the signature itself, and a signer holds
 * one key (two around a rotation). An entry serves only the same private scalar it was imported
 * from, so a kid reused for another key (a hand-edited secret, a test) is imported afresh.
 * Bounded, though rotations are rare: a long-lived process never grows it without end.
 */
const importedKeys = new Map<string, { d: string | undefined; key: Promise<CryptoKey> }>();
const MAX_IMPORTED_KEYS = 4;

function cryptoKeyOf(signingKey: PrivateSigningKey): Promise<CryptoKey> {
  const { kid, privateJwk } = signingKey;
  const cached = importedKeys.get(kid);
  if (cached && cached.d === privateJwk.d) return cached.key;
  if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.delete(importedKeys.keys().next().value as string);
  const key = importJWK(privateJwk, 'ES256') as Promise<CryptoKey>;
  importedKeys.set(kid, { d: privateJwk.d, key });
  // A failed import is not remembered: the next signature tries again.
  key.catch(() => {
    if (importedKeys.get(kid)?.key === key) importedKeys.delete(kid);
  });
  return key;
}
