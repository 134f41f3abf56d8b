import { sameHash } from './tokens.js';

/**
 * Storefront sessions and their one-time refresh tokens (contract sections 1, 2 and 6).
 *
 * A session family is one record: every token of the family (its access tokens and refresh
 * tokens, across rotations) shares the family's selector, so a refresh is one conditional write
 * to one item. The record keeps the current refresh token, the current and previous access
 * tokens (a request in flight with the previous one still works after a refresh), and the last
 * rotation: which token it consumed, when, and its successor sealed under a key derived from
 * the consumed token, so that only a holder of that token can open it inside the grace window.
 * The hashes of the last CONSUMED_SLOTS consumed refresh tokens are kept in slots picked by
 * their generation: reuse of one of them is theft; a token found nowhere is merely invalid, so
 * a forged token under a known selector (every access token shows it) cannot end a session.
 */

export const CONSUMED_SLOTS = 8;

/** The slot a consumed refresh token of this generation is remembered in. */
export function consumedSlot(generation: number): number {
  return generation % CONSUMED_SLOTS;
}

export type FamilyKind = 'anonymous' | 'customer';

/** What an anonymous session remembers from its login query (contract section 1). */
export interface SessionContext {
  currency?: string;
  siteCode?: string;
  language?: string;
  targetLocation?: string;
}

export interface CustomerIdentity {
  customerNumber: string;
  email: string;
  /** The legal entities the customer was assigned at login (B2B). */
  legalEntities: string[];
  legalEntityId?: string;
}

export interface TokenSlot {
  hash: string;
  expiresAt: number;
}

export interface Rotation {
  consumedHash: string;
  rotatedAt: number;
  /** The successor tokens, sealed under a key derived from the consumed refresh token. */
  sealedSuccessor: string;
}

export interface RefreshFamily {
  selector: string;
  kind: FamilyKind;
  tenant: string;
  clientId: string;
  sessionId: string;
  issuedAt: number;
  context: SessionContext;
  customer?: CustomerIdentity;
  access: TokenSlot;
  previousAccess?: TokenSlot;
  refresh: TokenSlot;
  rotation?: Rotation;
  /** Hashes of recently consumed refresh tokens (at most CONSUMED_SLOTS). */
  consumedHashes: string[];
  revokedAt?: number;
  /**
   * The session's absolute end (anonymous or customer login + the tenant's session maximum).
   * No token of the family is usable from this second on, whatever its own expiry says: a
   * refresh writes its new expiries without reading the family, so they may lie beyond it.
   * Absent only on families stored before sessions had an end (the next refresh sets one).
   */
  endsAt?: number;
}

/** The plaintext a rotation seals: exactly what the retry inside the grace window answers with. */
export interface Successor {
  accessToken: string;
  accessExpiresAt: number;
  refreshToken: string;
  refreshExpiresAt: number;
  legalEntityId?: string;
}

export type AccessCheck = 'valid' | 'expired' | 'invalid';

/** When a token of the family stops working: its own expiry, or the session's end if earlier. */
export function effectiveExpiry(family: Pick<RefreshFamily, 'endsAt'>, slot: TokenSlot): number {
  return family.endsAt === undefined ? slot.expiresAt : Math.min(slot.expiresAt, family.endsAt);
}

/** Whether the session has reached its absolute end. */
export function sessionEnded(family: Pick<RefreshFamily, 'endsAt'>, now: number): boolean {
  return family.endsAt !== undefined && now >= family.endsAt;
}

/**
 * The legal entity a customer session acts for: the selected one, while the customer still holds
 * it. A legal entity removed from the customer (the seed updates the live families' set) is no
 * longer reported, nor can it be selected again.
 */
export function legalEntityOf(identity: CustomerIdentity | undefined): string | undefined {
  const selected = identity?.legalEntityId;
  return selected !== undefined && identity!.legalEntities.includes(selected) ? selected : undefined;
}

/**
 * Is `hash` a live access token of this family, for this tenant? An access token of a revoked
 * family, or of another tenant, is invalid (not expired: the storefront must not just refresh).
 */
export function checkAccessToken(family: RefreshFamily, hash: string, tenant: string, now: number): AccessCheck {
  if (family.tenant !== tenant || family.revokedAt !== undefined) return 'invalid';
  const slot = accessSlot(family, hash);
  if (!slot) return 'invalid';
  return now < effectiveExpiry(family, slot) ? 'valid' : 'expired';
}

/** Which of the family's access tokens, the current or the previous one, `hash` is. */
export function accessSlot(family: RefreshFamily, hash: string): TokenSlot | undefined {
  return [family.access, family.previousAccess].find((s) => s !== undefined && sameHash(s.hash, hash));
}

export type FailedRefresh =
  /** A retry with the token just consumed, inside the grace window: answer with its successor. */
  | { verdict: 'retry'; sealedSuccessor: string }
  /** A consumed token used again after the window: theft; the whole family is revoked. */
  | { verdict: 'reuse' }
  /** Unknown (a forgery included), expired, revoked, foreign: refused, nothing else happens. */
  | { verdict: 'invalid' };

/**
 * Why a refresh lost its conditional write, decided from the family as it now stands.
 * RFC 9700 section 4.14.2: a refresh token presented again after it was rotated signals theft,
 * and the authorization server should revoke the active refresh token of that family.
 */
export function classifyFailedRefresh(
  family: RefreshFamily | undefined,
  presented: { hash: string; tenant: string; clientId?: string },
  now: number,
  graceSeconds: number,
): FailedRefresh {
  if (!family || family.tenant !== presented.tenant || family.revokedAt !== undefined) return { verdict: 'invalid' };
  // A session past its absolute end is over: nothing of it is answered, not even a retry.
  if (sessionEnded(family, now)) return { verdict: 'invalid' };
  if (presented.clientId !== undefined && family.clientId !== presented.clientId) return { verdict: 'invalid' };
  // The current refresh token only loses its write when it has expired.
  if (sameHash(family.refresh.hash, presented.hash)) return { verdict: 'invalid' };
  // An access token presented as a refresh token is a client error, not a stolen refresh token.
  if (accessSlot(family, presented.hash)) return { verdict: 'invalid' };
  const rotation = family.rotation;
  if (rotation && sameHash(rotation.consumedHash, presented.hash) && now - rotation.rotatedAt <= graceSeconds) {
    return { verdict: 'retry', sealedSuccessor: rotation.sealedSuccessor };
  }
  if (family.consumedHashes.some((hash) => sameHash(hash, presented.hash))) return { verdict: 'reuse' };
  return { verdict: 'invalid' };
}

/** The key context a successor is sealed under: bound to the family. */
export function successorContext(selector: string): string {
  return `refresh-successor/${selector}`;
}
