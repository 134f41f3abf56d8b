import { seal } from './seal.js';
import { mintToken, newSelector, sameHash, type ParsedToken } from './tokens.js';

/**
 * Refresh families and their one-time refresh tokens (contract sections 1, 2 and 6): the one
 * module that says when a family may rotate (`rotationRefusal`), what a rotation writes
 * (`planRotation`, `applyRotation`) and why a rotation that did not happen failed
 * (`classifyFailedRotation`). The memory store calls these functions; the DynamoDB adapter's
 * condition is built from `rotationClauses`, one condition term per clause; the store contract
 * test holds both stores and these functions to the same answers.
 *
 * A family is one record: every token of the family (its access tokens and refresh tokens,
 * across rotations) shares the family's selector, so a refresh is one conditional write to one
 * item. The record keeps the current refresh token, the current and previous access tokens (a
 * request in flight with the previous one still works after a refresh), and the last rotation:
 * which token it consumed, when, and its successor sealed under a key derived from the consumed
 * token, so that only a holder of that token can open it inside the grace window. The hashes of
 * the last CONSUMED_SLOTS consumed refresh tokens are kept in slots picked by their generation:
 * reuse of one of them is theft; a token found nowhere is merely invalid, so a forged token
 * under a known selector (every access token shows it) cannot end a session.
 *
 * Every kind of family (anonymous and customer storefront sessions today; OAuth grants and
 * federated customers next) rotates by the same rule; a kind differs only in its lifetimes
 * (tenant.ts `lifetimesOf`), its subject and the attributes it carries.
 */

export const CONSUMED_SLOTS = 8;

/** The slot a consumed refresh token of this generation is remembered in. */
export function consumedSlot(generation: number): number {
  return generation % CONSUMED_SLOTS;
}

/**
 * The kinds of refresh family: storefront sessions (`anonymous`, `customer`) and the customer
 * sessions an app holds through the authorization_code grant (`grant`, contract section 5).
 */
export type FamilyKind = 'anonymous' | 'customer' | 'grant';

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
  /**
   * A grant family's access token issued for fewer scopes than the family holds (a refresh with
   * a narrower `scope`, RFC 6749 section 6); absent: the family's own `scopes`. Introspection
   * reports the token's scope from here.
   */
  scopes?: string[];
}

export interface Rotation {
  consumedHash: string;
  rotatedAt: number;
  /** The successor tokens, sealed under a key derived from the consumed refresh token. */
  sealedSuccessor: string;
}

/**
 * A refresh family. Common to every kind: the kind, the tenant and client it was issued to, its
 * subject (`subjectOf`), its absolute end and its tokens. Then the attributes its kind needs:
 * `context` (the storefront session's login query, carried over to the customer session) and
 * `customer` (the customer kind: Emporix customer number, email, legal entities).
 */
export interface RefreshFamily {
  selector: string;
  kind: FamilyKind;
  tenant: string;
  clientId: string;
  /** The storefront session the family belongs to (carried from anonymous to customer login). */
  sessionId: string;
  issuedAt: number;
  context: SessionContext;
  customer?: CustomerIdentity;
  /**
   * The `grant` kind: the scopes the authorization granted (without `tenant=T`). A refresh may
   * ask for fewer of them, never for more (the rotation's `scope` clause).
   */
  scopes?: string[];
  access: TokenSlot;
  previousAccess?: TokenSlot;
  refresh: TokenSlot;
  rotation?: Rotation;
  /** Hashes of recently consumed refresh tokens (at most CONSUMED_SLOTS). */
  consumedHashes: string[];
  revokedAt?: number;
  /**
   * The family's absolute end (anonymous or customer login + the tenant's session maximum).
   * No token of the family is usable from this second on, whatever its own expiry says: a
   * refresh writes its new expiries without reading the family, so they may lie beyond it.
   * Absent only on families stored before sessions had an end (the next refresh sets one).
   */
  endsAt?: number;
}

/** Whom the family's tokens speak for: the customer, or for an anonymous session the session. */
export function subjectOf(family: Pick<RefreshFamily, 'customer' | 'sessionId'>): string {
  return family.customer?.customerNumber ?? family.sessionId;
}

/** How long a kind's tokens live, and its absolute end counted from its start (tenant.ts). */
export interface FamilyLifetimes {
  access: number;
  refresh: number;
  sessionMax: number;
}

/** The plaintext a rotation seals: exactly what the retry inside the grace window answers with. */
export interface Successor {
  accessToken: string;
  accessExpiresAt: number;
  refreshToken: string;
  refreshExpiresAt: number;
  legalEntityId?: string;
  /** The access token's scopes when the refresh narrowed them (a grant family); else the family's. */
  scopes?: string[];
}

// --- starting a family ------------------------------------------------------------------------

/** A new family and the tokens handed out for it (a login of any kind). */
export interface StartedFamily {
  /** A new family always has an end. */
  family: RefreshFamily & { endsAt: number };
  accessToken: string;
  refreshToken: string;
}

/**
 * A new family of `kind`: its absolute end is counted from `now`, and no first token outlives it.
 * The refresh token is of generation 0.
 */
export function startFamily(
  start: Pick<RefreshFamily, 'kind' | 'tenant' | 'clientId' | 'sessionId' | 'context' | 'customer' | 'scopes'>,
  lifetimes: FamilyLifetimes,
  now: number,
): StartedFamily {
  const endsAt = now + lifetimes.sessionMax;
  const selector = newSelector();
  const access = mintToken(selector);
  const refresh = mintToken(selector, 0);
  const family: StartedFamily['family'] = {
    selector,
    kind: start.kind,
    tenant: start.tenant,
    clientId: start.clientId,
    sessionId: start.sessionId,
    issuedAt: now,
    context: start.context,
    access: { hash: access.hash, expiresAt: Math.min(now + lifetimes.access, endsAt) },
    refresh: { hash: refresh.hash, expiresAt: Math.min(now + lifetimes.refresh, endsAt) },
    consumedHashes: [],
    endsAt,
  };
  if (start.customer) family.customer = start.customer;
  if (start.scopes) family.scopes = [...start.scopes];
  return { family, accessToken: access.token, refreshToken: refresh.token };
}

/** An access token minted elsewhere under the family's selector (an RFC 9068 JWT whose `jti` names it). */
export interface MintedAccess {
  token: string;
  hash: string;
}

/**
 * The started family with `access` as its first access token instead of the opaque one
 * `startFamily` minted: only its hash is stored, where the opaque token's would be, so every
 * lookup by selector (introspection, revocation) finds it alike.
 */
export function withFirstAccess(started: StartedFamily, access: MintedAccess): StartedFamily {
  return { ...started, family: { ...started.family, access: { ...started.family.access, hash: access.hash } }, accessToken: access.token };
}

// --- using a family's tokens ------------------------------------------------------------------

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

// --- when a family may rotate -----------------------------------------------------------------

/** A refresh as presented: the token's hash, where it was presented and what it asks for. */
export interface PresentedRefresh {
  hash: string;
  tenant: string;
  kind: FamilyKind;
  /** The client that must hold the family; absent on the Emporix paths, which name none. */
  clientId?: string;
  /** B2B: the legal entity the customer switches to; the customer must hold it. */
  legalEntityId?: string;
  /** A grant family: the narrower scope the refresh asks for (RFC 6749 section 6); each must be the family's. */
  scopes?: string[];
}

/**
 * The clauses of the rotation rule, each with what it means. A rotation happens only when every
 * applicable clause holds (`rotationClauses`); the DynamoDB adapter writes one condition term per
 * clause (adapters/dynamodb-sessions.ts, ROTATION_TERMS), the memory store calls `rotationRefusal`.
 */
export const ROTATION_CLAUSES = {
  exists: 'a refresh family is stored under the token’s selector',
  kind: 'the family is of the kind the endpoint refreshes',
  tenant: 'the family belongs to the tenant the token is presented on',
  live: 'the family has not been revoked (logout, theft, ended customer sessions)',
  beforeEnd: 'the family has not reached its absolute end (one stored before families had an end has none)',
  current: 'the presented token is the family’s current refresh token',
  unexpired: 'the current refresh token’s own expiry is still ahead',
  client: 'the family belongs to the presenting client (only when the request names one)',
  legalEntity: 'the customer holds the legal entity the refresh switches to (only when it names one)',
  scope: 'every scope the refresh asks for was granted to the family (only when it asks for a scope)',
} as const;

export type RotationClause = keyof typeof ROTATION_CLAUSES;

/** The clauses that apply to this refresh, in the order a refusal is reported. */
export function rotationClauses(presented: Pick<PresentedRefresh, 'clientId' | 'legalEntityId' | 'scopes'>): RotationClause[] {
  const clauses: RotationClause[] = ['exists', 'kind', 'tenant', 'live', 'beforeEnd', 'current', 'unexpired'];
  if (presented.clientId !== undefined) clauses.push('client');
  if (presented.legalEntityId !== undefined) clauses.push('legalEntity');
  // No scope asked for is the family's whole scope (RFC 6749 section 6), which needs no clause.
  if (presented.scopes !== undefined && presented.scopes.length > 0) clauses.push('scope');
  return clauses;
}

/** Whether the family was granted every one of `scopes`. */
export function scopesGranted(family: Pick<RefreshFamily, 'scopes'>, scopes: readonly string[]): boolean {
  return scopes.every((scope) => family.scopes?.includes(scope) ?? false);
}

const ROTATION_HOLDS: Record<RotationClause, (family: RefreshFamily, presented: PresentedRefresh, now: number) => boolean> = {
  exists: () => true,
  kind: (family, presented) => family.kind === presented.kind,
  tenant: (family, presented) => family.tenant === presented.tenant,
  live: (family) => family.revokedAt === undefined,
  beforeEnd: (family, _presented, now) => !sessionEnded(family, now),
  current: (family, presented) => sameHash(family.refresh.hash, presented.hash),
  unexpired: (family, _presented, now) => family.refresh.expiresAt > now,
  client: (family, presented) => family.clientId === presented.clientId,
  legalEntity: (family, presented) => family.customer?.legalEntities.includes(presented.legalEntityId!) ?? false,
  scope: (family, presented) => scopesGranted(family, presented.scopes!),
};

/** The first clause of the rotation rule this refresh fails, or undefined when it may rotate. */
export function rotationRefusal(family: RefreshFamily | undefined, presented: PresentedRefresh, now: number): RotationClause | undefined {
  if (!family) return 'exists';
  return rotationClauses(presented).find((clause) => !ROTATION_HOLDS[clause](family, presented, now));
}

/** The rotation rule: the presented token may be consumed, and the family rotated, now. */
export function mayRotate(family: RefreshFamily | undefined, presented: PresentedRefresh, now: number): boolean {
  return rotationRefusal(family, presented, now) === undefined;
}

// --- what a rotation writes -------------------------------------------------------------------

/** What a rotation writes into the family, in the one conditional write that consumes the token. */
export interface RotationWrite {
  access: TokenSlot;
  refresh: TokenSlot;
  rotation: Rotation;
  /** Where the consumed token's hash is remembered for theft detection (see consumedSlot). */
  consumedSlot: number;
  /** B2B: switch the session to this legal entity; it must be one the customer holds. */
  legalEntityId?: string;
  /** The end given to a family stored before sessions had one; an existing end is never moved. */
  legacyEndsAt?: number;
}

/** What a grant family's rotation may be asked for beyond the plain refresh. */
export interface RotationOptions {
  /**
   * A grant family: the narrower scope asked for; the new access token carries it (`access.scopes`),
   * and the rotation's `scope` clause requires the family to hold every one of them.
   */
  scopes?: string[];
  /** An access token minted by the caller under the presented token's selector (a JWT), instead of an opaque one. */
  access?: MintedAccess;
}

/**
 * The successor of the presented refresh token and the write that installs it. The new tokens
 * are minted before the write (it does not read the family), so their expiries may lie beyond
 * the family's end: `effectiveExpiry` caps them wherever they are used or answered.
 */
export function planRotation(
  presented: ParsedToken,
  lifetimes: FamilyLifetimes,
  now: number,
  legalEntityId?: string,
  options: RotationOptions = {},
): { successor: Successor; write: RotationWrite } {
  const { scopes } = options;
  const access = options.access ?? mintToken(presented.selector);
  const refresh = mintToken(presented.selector, presented.generation + 1);
  const successor: Successor = {
    accessToken: access.token,
    accessExpiresAt: now + lifetimes.access,
    refreshToken: refresh.token,
    refreshExpiresAt: now + lifetimes.refresh,
  };
  if (legalEntityId !== undefined) successor.legalEntityId = legalEntityId;
  if (scopes !== undefined) successor.scopes = [...scopes];
  const slot: TokenSlot = { hash: access.hash, expiresAt: successor.accessExpiresAt };
  if (scopes !== undefined) slot.scopes = [...scopes];
  const write: RotationWrite = {
    access: slot,
    refresh: { hash: refresh.hash, expiresAt: successor.refreshExpiresAt },
    rotation: {
      consumedHash: presented.hash,
      rotatedAt: now,
      sealedSuccessor: seal(JSON.stringify(successor), presented.token, successorContext(presented.selector)),
    },
    consumedSlot: consumedSlot(presented.generation),
    // A family stored before sessions had an end gets one now, counted from this refresh.
    legacyEndsAt: now + lifetimes.sessionMax,
  };
  if (legalEntityId !== undefined) write.legalEntityId = legalEntityId;
  return { successor, write };
}

/**
 * The family after the rotation: the current access token becomes the previous one (a request
 * in flight keeps working), the new tokens and the rotation are installed, a legal entity is
 * selected, and a family without an end gets one. `consumedHashes` is the family's remembered
 * hashes after the write put the consumed one into its slot (storage keeps them by slot).
 */
export function applyRotation(family: RefreshFamily, write: RotationWrite, consumedHashes: string[]): RefreshFamily {
  const rotated: RefreshFamily = {
    ...family,
    previousAccess: family.access,
    access: { ...write.access },
    refresh: { ...write.refresh },
    rotation: { ...write.rotation },
    consumedHashes,
  };
  if (write.legalEntityId !== undefined && family.customer) rotated.customer = { ...family.customer, legalEntityId: write.legalEntityId };
  if (rotated.endsAt === undefined && write.legacyEndsAt !== undefined) rotated.endsAt = write.legacyEndsAt;
  return rotated;
}

// --- renewing an anonymous access token (deprecated anonymous_token form) ---------------------

/** The clauses of the renewal rule (contract section 1, `anonymous_token`), as ROTATION_CLAUSES. */
export const RENEWAL_CLAUSES = {
  exists: ROTATION_CLAUSES.exists,
  anonymous: 'the family is an anonymous session',
  tenant: ROTATION_CLAUSES.tenant,
  client: 'the family belongs to the presenting client',
  access: 'the presented token is the family’s current or previous access token',
  refreshUnexpired: 'the family’s refresh token has not expired (the session still lives)',
  live: ROTATION_CLAUSES.live,
  beforeEnd: ROTATION_CLAUSES.beforeEnd,
} as const;

export type RenewalClause = keyof typeof RENEWAL_CLAUSES;

const RENEWAL_HOLDS: Record<RenewalClause, (family: RefreshFamily, presented: PresentedAccess, now: number) => boolean> = {
  exists: () => true,
  anonymous: (family) => family.kind === 'anonymous',
  tenant: (family, presented) => family.tenant === presented.tenant,
  client: (family, presented) => family.clientId === presented.clientId,
  access: (family, presented) => accessSlot(family, presented.hash) !== undefined,
  refreshUnexpired: (family, _presented, now) => family.refresh.expiresAt > now,
  live: (family) => family.revokedAt === undefined,
  beforeEnd: (family, _presented, now) => !sessionEnded(family, now),
};

export interface PresentedAccess {
  hash: string;
  tenant: string;
  clientId: string;
}

/** The first clause of the renewal rule this request fails, or undefined when it may renew. */
export function renewalRefusal(family: RefreshFamily | undefined, presented: PresentedAccess, now: number): RenewalClause | undefined {
  if (!family) return 'exists';
  return (Object.keys(RENEWAL_CLAUSES) as RenewalClause[]).find((clause) => !RENEWAL_HOLDS[clause](family, presented, now));
}

/** The family after a renewal: a new current access token, the presented one kept as previous. */
export function applyRenewal(family: RefreshFamily, access: TokenSlot): RefreshFamily {
  return { ...family, previousAccess: family.access, access: { ...access } };
}

// --- why a rotation failed --------------------------------------------------------------------

export type FailedRotation =
  /** A retry with the token just consumed, inside the grace window: answer with its successor. */
  | { verdict: 'retry'; sealedSuccessor: string }
  /** A consumed token used again after the window: theft; the whole family is revoked. */
  | { verdict: 'reuse' }
  /** The current refresh token past its expiry, or any token of a family past its end. */
  | { verdict: 'expired' }
  /** Any token of a revoked family: no retry is answered, nothing is revoked again. */
  | { verdict: 'revoked' }
  /** The current token, fine but for a legal entity the customer does not hold (contract section 2: 403). */
  | { verdict: 'legal-entity-not-assigned' }
  /** The current token, fine but for a scope the family was not granted (RFC 6749 section 6: invalid_scope). */
  | { verdict: 'scope-not-granted' }
  /** Unknown (a forgery included), another tenant's, client's or kind's, an access token. */
  | { verdict: 'invalid' };

/** The rotation's presented request, as far as the classification needs it (any kind when absent). */
export type PresentedFailedRefresh = Omit<PresentedRefresh, 'kind'> & { kind?: FamilyKind };

/**
 * Why a refresh lost its conditional write, decided from the family as it now stands.
 * RFC 9700 section 4.14.2: a refresh token presented again after it was rotated signals theft,
 * and the authorization server should revoke the active refresh token of that family.
 */
export function classifyFailedRotation(
  family: RefreshFamily | undefined,
  presented: PresentedFailedRefresh,
  now: number,
  graceSeconds: number,
): FailedRotation {
  if (!family || family.tenant !== presented.tenant) return { verdict: 'invalid' };
  if (presented.kind !== undefined && family.kind !== presented.kind) return { verdict: 'invalid' };
  if (family.revokedAt !== undefined) return { verdict: 'revoked' };
  // A session past its absolute end is over: nothing of it is answered, not even a retry.
  if (sessionEnded(family, now)) return { verdict: 'expired' };
  if (presented.clientId !== undefined && family.clientId !== presented.clientId) return { verdict: 'invalid' };
  if (sameHash(family.refresh.hash, presented.hash)) {
    // The current refresh token only loses its write when it has expired, or on its legal entity.
    if (!(now < effectiveExpiry(family, family.refresh))) return { verdict: 'expired' };
    const legalEntityId = presented.legalEntityId;
    if (legalEntityId !== undefined && !family.customer?.legalEntities.includes(legalEntityId)) {
      return { verdict: 'legal-entity-not-assigned' };
    }
    if (presented.scopes !== undefined && !scopesGranted(family, presented.scopes)) return { verdict: 'scope-not-granted' };
    return { verdict: 'invalid' };
  }
  // An access token presented as a refresh token is a client error, not a stolen refresh token.
  if (accessSlot(family, presented.hash)) return { verdict: 'invalid' };
  const rotation = family.rotation;
  if (rotation && sameHash(rotation.consumedHash, presented.hash) && now - rotation.rotatedAt <= graceSeconds) {
    return { verdict: 'retry', sealedSuccessor: rotation.sealedSuccessor };
  }
  if (family.consumedHashes.some((hash) => sameHash(hash, presented.hash))) return { verdict: 'reuse' };
  return { verdict: 'invalid' };
}

export type FailedRefresh = Exclude<FailedRotation, { verdict: 'expired' | 'revoked' }>;

/**
 * What the refresh answers for a failed rotation: an expired or revoked family is refused like
 * any invalid token (contract section 6 gives them one answer).
 */
export function classifyFailedRefresh(
  family: RefreshFamily | undefined,
  presented: PresentedFailedRefresh,
  now: number,
  graceSeconds: number,
): FailedRefresh {
  const failed = classifyFailedRotation(family, presented, now, graceSeconds);
  return failed.verdict === 'expired' || failed.verdict === 'revoked' ? { verdict: 'invalid' } : failed;
}

/** The key context a successor is sealed under: bound to the family. */
export function successorContext(selector: string): string {
  return `refresh-successor/${selector}`;
}
