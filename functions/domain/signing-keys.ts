import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

/**
 * ES256 keys for the customer `saas_token` (contract section 2).
 *
 * The private key lives only in Secrets Manager (the secrets file locally); the public keys are
 * published as a JWK Set that a downstream service verifies against with nothing else. A rotated
 * key stays published until every token it signed has expired.
 */

export interface PrivateSigningKey {
  kid: string;
  privateJwk: JWK;
  createdAt: number;
}

export interface PublishedKey {
  jwk: JWK;
  /** Absent for the key in use; for a retired key, when the last token it signed expires. */
  notAfter?: number;
}

export async function newSigningKey(now: number): Promise<{ privateKey: PrivateSigningKey; published: PublishedKey }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // RFC 7638 thumbprint as kid: stable, and derived from the key itself.
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    privateKey: { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' }, createdAt: now },
    published: { jwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' } },
  };
}

/**
 * The JWK Set after a rotation: the new key, and every earlier key still needed, the one it
 * replaces now retiring when the longest-lived token it may have signed expires.
 */
export function rotatePublished(current: PublishedKey[], added: PublishedKey, now: number, longestTokenLifetime: number): PublishedKey[] {
  const retired = current
    .map((key) => (key.notAfter === undefined ? { ...key, notAfter: now + longestTokenLifetime } : key))
    .filter((key) => key.notAfter! > now);
  return [added, ...retired];
}

/** The public keys to serve now. */
export function liveKeys(published: PublishedKey[], now: number): JWK[] {
  return published.filter((key) => key.notAfter === undefined || key.notAfter > now).map((key) => key.jwk);
}

export interface SaasClaims {
  issuer: string;
  customerNumber: string;
  tenant: string;
  email: string;
  sessionId: string;
  legalEntityId?: string;
  issuedAt: number;
  expiresAt: number;
}

export async function signSaasToken(claims: SaasClaims, key: PrivateSigningKey): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, 'ES256');
  const payload: Record<string, unknown> = { tenant: claims.tenant, email: claims.email, sessionId: claims.sessionId };
  if (claims.legalEntityId) payload.legalEntityId = claims.legalEntityId;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.issuer)
    .setSubject(claims.customerNumber)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt)
    .sign(privateKey);
}
