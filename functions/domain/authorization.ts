import { hash } from 'node:crypto';
import type { CustomerIdentity } from './refresh-family.js';
import { sameHash } from './tokens.js';

/**
 * The authorization code flow's own state (contract section 8): a pending authorization request,
 * the code it becomes when the customer signs in, and the code's one-time redemption. One record
 * per request, under one selector: the request token the sign-in form carries and the code are
 * both split tokens under that selector (domain/tokens.ts), so every step is one conditional
 * write to one item. The record holds SHA-256 hashes only: of the request token, of the CSRF
 * token in the browser's cookie, of the code.
 *
 * Like refresh-family.ts, each rule is a list of clauses: the memory store checks them with the
 * functions below, the DynamoDB adapter writes one condition term per clause, and the store
 * contract test holds both to the same answers.
 */

/** Contract section 8: the pending request lives server-side for at most 10 minutes. */
export const PENDING_AUTHORIZATION_SECONDS = 600;
/** Contract section 8: a code lives 60 s. */
export const CODE_SECONDS = 60;

/** What the authorization request asked for, validated (client, redirect URI, PKCE, scope). */
export interface PendingAuthorization {
  selector: string;
  /** SHA-256 of the request token in the sign-in form. */
  requestHash: string;
  /** SHA-256 of the CSRF token in the browser's cookie: the form must come from this browser. */
  csrfHash: string;
  tenant: string;
  clientId: string;
  /** The redirect URI exactly as the request sent it (a loopback one with its port). */
  redirectUri: string;
  state?: string;
  /** RFC 7636 S256 code challenge. */
  codeChallenge: string;
  /** The granted scopes (without `tenant=T`). */
  scopes: string[];
  createdAt: number;
  /** The end of the pending request: createdAt + PENDING_AUTHORIZATION_SECONDS. */
  expiresAt: number;
}

/** The code the request became: whom it speaks for and how long it lives. */
export interface IssuedCode {
  codeHash: string;
  customer: Pick<CustomerIdentity, 'customerNumber' | 'email' | 'legalEntities'>;
  issuedAt: number;
  /** issuedAt + CODE_SECONDS. */
  expiresAt: number;
}

export interface Redemption {
  redeemedAt: number;
  /** The refresh family the code's tokens belong to: revoked if the code is presented again. */
  familySelector: string;
}

export interface Authorization extends PendingAuthorization {
  code?: IssuedCode;
  redemption?: Redemption;
  /**
   * The customer's sessions were ended after the sign-in (a password change, the customer's
   * removal, incident response): a code not yet redeemed is a session about to start, and ends too.
   */
  revokedAt?: number;
}

// --- the sign-in turns the pending request into a code -----------------------------------------

export interface PresentedSignIn {
  requestHash: string;
  csrfHash: string;
}

/** The clause both rules share: an authorization whose customer's sessions were ended is dead. */
const LIVE = 'the authorization was not revoked with its customer’s sessions (contract section 2)';

export const ISSUE_CLAUSES = {
  exists: 'a pending authorization request is stored under the request token’s selector',
  live: LIVE,
  request: 'the presented request token is the one the request was created with',
  csrf: 'the browser’s CSRF cookie is the one the request was created with',
  unexpired: 'the pending request has not passed its 10 minutes',
  pending: 'no code was issued for the request yet (a request signs in once)',
} as const;

export type IssueClause = keyof typeof ISSUE_CLAUSES;

const ISSUE_HOLDS: Record<IssueClause, (auth: Authorization, presented: PresentedSignIn, now: number) => boolean> = {
  exists: () => true,
  live: (auth) => auth.revokedAt === undefined,
  request: (auth, presented) => sameHash(auth.requestHash, presented.requestHash),
  csrf: (auth, presented) => sameHash(auth.csrfHash, presented.csrfHash),
  unexpired: (auth, _presented, now) => now < auth.expiresAt,
  pending: (auth) => auth.code === undefined,
};

/** The first clause the sign-in fails, or undefined when a code may be issued for it. */
export function issueRefusal(auth: Authorization | undefined, presented: PresentedSignIn, now: number): IssueClause | undefined {
  if (!auth) return 'exists';
  return (Object.keys(ISSUE_CLAUSES) as IssueClause[]).find((clause) => !ISSUE_HOLDS[clause](auth, presented, now));
}

// --- the token endpoint redeems the code, once -------------------------------------------------

export interface PresentedCode {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  /** S256 of the presented code_verifier (`pkceChallenge`). */
  codeChallenge: string;
}

export const REDEMPTION_CLAUSES = {
  exists: 'an authorization is stored under the code’s selector',
  live: LIVE,
  code: 'a code was issued and the presented one is it',
  unredeemed: 'the code has not been redeemed (RFC 6749 section 4.1.2: at most once)',
  unexpired: 'the code has not passed its 60 seconds',
  client: 'the code was issued to the presenting client',
  redirectUri: 'the redirect URI is the one the authorization request named (RFC 6749 section 4.1.3)',
  verifier: 'the code_verifier hashes to the request’s code_challenge (RFC 7636 section 4.6)',
} as const;

export type RedemptionClause = keyof typeof REDEMPTION_CLAUSES;

const REDEMPTION_HOLDS: Record<RedemptionClause, (auth: Authorization, presented: PresentedCode, now: number) => boolean> = {
  exists: () => true,
  live: (auth) => auth.revokedAt === undefined,
  code: (auth, presented) => auth.code !== undefined && sameHash(auth.code.codeHash, presented.codeHash),
  unredeemed: (auth) => auth.redemption === undefined,
  unexpired: (auth, _presented, now) => auth.code !== undefined && now < auth.code.expiresAt,
  client: (auth, presented) => auth.clientId === presented.clientId,
  redirectUri: (auth, presented) => auth.redirectUri === presented.redirectUri,
  verifier: (auth, presented) => sameHash(auth.codeChallenge, presented.codeChallenge),
};

/** The first clause the redemption fails, or undefined when the code may be redeemed now. */
export function redemptionRefusal(auth: Authorization | undefined, presented: PresentedCode, now: number): RedemptionClause | undefined {
  if (!auth) return 'exists';
  return (Object.keys(REDEMPTION_CLAUSES) as RedemptionClause[]).find((clause) => !REDEMPTION_HOLDS[clause](auth, presented, now));
}

/**
 * Why a redemption lost its conditional write, from the record as it now stands. RFC 6749 section
 * 4.1.2: a code presented again after its redemption must fail, and the tokens issued from it
 * should be revoked; whoever presents it (a thief or the client retrying) has the code itself.
 */
export type FailedRedemption = { verdict: 'replay'; familySelector: string } | { verdict: 'invalid' };

export function classifyFailedRedemption(auth: Authorization | undefined, presented: Pick<PresentedCode, 'codeHash'>): FailedRedemption {
  if (auth?.code && auth.redemption && sameHash(auth.code.codeHash, presented.codeHash)) {
    return { verdict: 'replay', familySelector: auth.redemption.familySelector };
  }
  return { verdict: 'invalid' };
}

// --- PKCE and redirect URIs --------------------------------------------------------------------

/** RFC 7636 section 4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 section 4.2: S256 is base64url(SHA-256) without padding, always 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function isCodeVerifier(value: string): boolean {
  return VERIFIER.test(value);
}

export function isS256Challenge(value: string): boolean {
  return S256_CHALLENGE.test(value);
}

/** RFC 7636 section 4.6: BASE64URL(SHA256(ASCII(code_verifier))). */
export function pkceChallenge(verifier: string): string {
  return hash('sha256', verifier, 'base64url');
}

/** RFC 8252 section 7.3: a loopback redirect names an IP literal, never `localhost` (section 8.3). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);

/**
 * Whether `presented` is one of the client's registered redirect URIs: exactly, or for a loopback
 * `http` redirect on any port (RFC 8252 section 7.3: the native app's port is chosen at run time).
 */
export function redirectUriMatches(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  const loopback = loopbackWithoutPort(presented);
  return loopback !== undefined && registered.some((uri) => loopbackWithoutPort(uri) === loopback);
}

/** A loopback http URI with its port removed, or undefined for any other URI. */
function loopbackWithoutPort(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname) || url.username || url.password || url.hash) return undefined;
  // Only the port may differ: a URI that parsing would rewrite (dot segments, case, escapes) is
  // compared exactly or not at all.
  if (url.href !== uri) return undefined;
  url.port = '';
  return url.href;
}
