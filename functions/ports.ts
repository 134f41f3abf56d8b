import type { Authorization, IssuedCode, PendingAuthorization } from './domain/authorization.js';
import type { ExternalIdentity, IdentityProvider, LinkedIdentity, ProviderTokens } from './domain/federation.js';
import type { AttemptLimits, AttemptReservation } from './domain/login-throttle.js';
import type { OutgoingMail } from './domain/mail.js';
import type { RefreshFamily, FamilyKind, RotationWrite, TokenSlot } from './domain/refresh-family.js';
import type { PrivateSigningKey, PublishedKey } from './domain/signing-keys.js';
import type { AppClient, ServiceClient, Tenant } from './domain/tenant.js';

/**
 * The ports the use cases depend on. Adapters (DynamoDB, Secrets Manager, a local file) are the
 * only code that knows table keys or SDK errors; a store failure surfaces as ServiceUnavailable.
 */

/** Seconds since the epoch; injected so tests can move time. */
export type Clock = () => number;

export const systemClock: Clock = () => Math.floor(Date.now() / 1000);

/** Tenants and clients: configuration written by the seed, read (and cached) by the broker. */
export interface DirectoryStore {
  getTenant(tenant: string): Promise<Tenant | undefined>;
  getServiceClient(clientId: string): Promise<ServiceClient | undefined>;
  listWarmupClients(): Promise<ServiceClient[]>;
  /** Writes the tenant's configuration; its `storefrontTokensRevokedAt` is kept as it is (never set here). */
  putTenant(tenant: Tenant): Promise<void>;
  /** Writes the client's configuration; its `tokensRevokedAt` is kept as it is (never set here). */
  putServiceClient(client: ServiceClient): Promise<void>;
  /**
   * Incident response: every token issued to the client at or before `at` becomes inactive. One
   * conditional write; returns the client as it now stands, or undefined when there is none.
   */
  revokeServiceClientTokens(clientId: string, at: number): Promise<ServiceClient | undefined>;
  /**
   * Incident response for a storefront client of `tenant`: every session it started at or before
   * `at` ends. False when the tenant does not exist. The seed's `putTenant` keeps the mark.
   */
  revokeStorefrontClientTokens(tenant: string, clientId: string, at: number): Promise<boolean>;
  /** For the seed, which removes what it no longer names. */
  listTenantIds(): Promise<string[]>;
  listServiceClientIds(): Promise<string[]>;
  deleteTenant(tenant: string): Promise<void>;
  deleteServiceClient(clientId: string): Promise<void>;

  // App clients (contract section 8). Client ids are unique across service and app clients.
  getAppClient(clientId: string): Promise<AppClient | undefined>;
  /** Writes the client's configuration; its `tokensRevokedAt` is kept as it is (never set here). */
  putAppClient(client: AppClient): Promise<void>;
  /** Incident response, as `revokeServiceClientTokens`. */
  revokeAppClientTokens(clientId: string, at: number): Promise<AppClient | undefined>;
  listAppClientIds(): Promise<string[]>;
  deleteAppClient(clientId: string): Promise<void>;
}

/** A standalone access token record: service tokens (and, later, grant access tokens). */
export interface AccessTokenRecord {
  selector: string;
  hash: string;
  tenant: string;
  clientId: string;
  /** The granted scopes, without the `tenant=T` suffix. */
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  revokedAt?: number;
}

/** A service token kept for reuse, sealed so that a table read does not yield a usable token. */
export interface CachedServiceToken {
  clientId: string;
  scopeKey: string;
  selector: string;
  sealed: string;
  issuedAt: number;
  expiresAt: number;
}

export type FoundToken = { kind: 'access'; record: AccessTokenRecord } | { kind: 'session'; family: RefreshFamily };

export interface TokenStore {
  /** Writes a new record; resolves only once it is durable. */
  putAccessToken(record: AccessTokenRecord): Promise<void>;
  /** Whatever the selector names: a standalone access token or a storefront session family. */
  findToken(selector: string): Promise<FoundToken | undefined>;
  /**
   * Marks the record revoked if its hash and tenant match (and, when `clientId` is given, it was
   * issued to that client: RFC 7009 section 2.1), in one conditional write.
   * Returns the record as it now stands, or undefined when nothing matched.
   */
  revokeAccessToken(selector: string, hash: string, tenant: string, now: number, clientId?: string): Promise<AccessTokenRecord | undefined>;
  getCachedServiceToken(clientId: string, scopeKey: string): Promise<CachedServiceToken | undefined>;
  putCachedServiceToken(entry: CachedServiceToken): Promise<void>;
  /** Removes the cache entry only if it still holds the token with `selector`. */
  dropCachedServiceToken(clientId: string, scopeKey: string, selector: string): Promise<void>;
}

/** Client secrets: Secrets Manager in AWS, a local file in local mode. */
export interface ClientSecrets {
  /**
   * True when `presented` equals the client's current or previous secret (contract section 3:
   * both are accepted during a rotation). Runs in constant time for known and unknown clients.
   */
  verify(clientId: string, presented: string): Promise<boolean>;
  /** Loads the secrets into memory ahead of need (the warm-up). */
  preload(): Promise<void>;
}

/** Key material that never enters the table. */
export interface KeyMaterial {
  /** Input keying material for sealing cached service tokens (AES-256-GCM via HKDF). */
  cacheKey(): Promise<Buffer>;
}

// --- storefront sessions (contract sections 1, 2 and 6) -------------------------------------

/** What a winning rotation writes, in one conditional write to the family's item. */
export type { RotationWrite } from './domain/refresh-family.js';

export type RotationOutcome = { outcome: 'rotated'; family: RefreshFamily } | { outcome: 'conflict' };

export interface SessionStore {
  /** Writes a new family; durable once it resolves. */
  createSession(family: RefreshFamily): Promise<void>;
  findSession(selector: string): Promise<RefreshFamily | undefined>;
  /**
   * The one-time use of a refresh token: a single conditional write that succeeds only while the
   * rotation rule holds (domain/refresh-family.ts `mayRotate`: the presented token is the
   * family's current, unexpired refresh token, the family is of `kind`, not revoked, belongs to
   * `tenant` (and `clientId`, when given), has not reached its end and, with a legal entity, the
   * customer holds it), and writes what `applyRotation` describes. Of any number of concurrent
   * calls with one token, exactly one gets `rotated`.
   */
  rotateSession(
    selector: string,
    expected: { presentedHash: string; tenant: string; kind: FamilyKind; clientId?: string; now: number },
    next: RotationWrite,
  ): Promise<RotationOutcome>;
  /**
   * The deprecated `anonymous_token` renewal: a new current access token for an anonymous family
   * whose current or previous access token hashes to `presentedHash`, while its refresh token
   * lives and the session has not ended (domain/refresh-family.ts `renewalRefusal`, written as
   * `applyRenewal`). Returns the family as written, or undefined otherwise.
   */
  renewAccess(
    selector: string,
    expected: { presentedHash: string; tenant: string; clientId: string; now: number },
    access: TokenSlot,
  ): Promise<RefreshFamily | undefined>;
  /**
   * Ends the family. With `matching`, only if the family is still live, that hash is one of its
   * tokens (access, previous access, refresh) and the tenant matches (and, when `clientId` is
   * given, the family was issued to that client: RFC 7009 section 2.1); returns whether it did.
   */
  revokeSession(selector: string, now: number, matching?: { hash: string; tenant: string; clientId?: string }): Promise<boolean>;
  /**
   * Replaces the legal entities a customer family's customer holds (the seed, after a change).
   * False when no customer family has that selector.
   */
  setSessionLegalEntities(selector: string, legalEntities: string[]): Promise<boolean>;

  // The index of a customer's session families, so that they can all be ended at once (a
  // password change, the customer's removal, incident response). Entries expire with the family.
  indexCustomerSession(entry: CustomerSessionEntry): Promise<void>;
  /** The selectors of the customer's indexed families, live or not; read strongly consistent. */
  listCustomerSessions(tenant: string, email: string): Promise<string[]>;
  unindexCustomerSessions(tenant: string, email: string, selectors: string[]): Promise<void>;
}

export interface CustomerSessionEntry {
  tenant: string;
  email: string;
  selector: string;
  /** The family's absolute end: the entry is useless afterwards (it is the item's TTL). */
  endsAt: number;
}

export interface CustomerRecord {
  tenant: string;
  email: string;
  /**
   * Absent for a federated-only customer (contract section 10): no password verifies, a password
   * login answers like a wrong password (use-cases/credentials.ts checks the decoy hash).
   */
  passwordHash?: string;
  customerNumber: string;
  legalEntities: string[];
  initialPassword: boolean;
  /**
   * An unconfirmed signup (contract section 11): it cannot log in, and a federated login never
   * links or activates it (account pre-hijacking): it is discarded and the federated customer
   * takes the email.
   */
  pending?: boolean;
}

/** An identity of an external provider linked to a customer (the `IDENT#` item). */
export interface IdentityLink {
  tenant: string;
  identity: LinkedIdentity;
  /** The customer it names, by key, and by number (a customer re-created under the email is another one). */
  email: string;
  customerNumber: string;
}

/** What a federated login reads in one round trip (strongly consistent). */
export interface FederatedLoginContext {
  session?: RefreshFamily;
  /** The link of the identity, if there is one. */
  link?: IdentityLink;
  /** The customer under the provider's email, when one was asked for and exists. */
  customer?: CustomerRecord;
}

export interface LoginContext {
  session?: RefreshFamily;
  customer?: CustomerRecord;
}

export interface CustomerStore {
  /** The anonymous session and the customer, in one round trip (strongly consistent). */
  loadLogin(sessionSelector: string, tenant: string, email: string): Promise<LoginContext>;
  /**
   * Reserves one login attempt for the account (or unknown email: both alike) before its password
   * is checked, atomically, per domain/login-throttle.ts: one conditional write adds an attempt
   * while the counter allows one (`attempts < lockAfter`, window not over, `notBefore` passed),
   * creating a missing counter in the same write; an expired counter is started again at 1 by a
   * conditional write only one concurrent caller wins. Every reservation gets a unique attempt
   * number, and concurrent successes clearing the counter never make a reservation fail. Refused: the counter
   * as it stands, which refuses (domain `refusesAttempt`).
   */
  reserveLoginAttempt(tenant: string, email: string, limits: AttemptLimits): Promise<AttemptReservation>;
  /** After a failure: no attempt before `notBefore` (never moves an existing deadline earlier). */
  slowLoginAttempts(tenant: string, email: string, notBefore: number): Promise<void>;
  /** After a success: the account starts from zero attempts. */
  clearLoginAttempts(tenant: string, email: string): Promise<void>;
  getCustomer(tenant: string, email: string): Promise<CustomerRecord | undefined>;
  putCustomer(customer: CustomerRecord): Promise<void>;
  deleteCustomer(tenant: string, email: string): Promise<void>;
  /** The seed's own record of the customers it manages, per tenant (so it can remove dropped ones). */
  listSeededCustomers(): Promise<Record<string, string[]>>;
  putSeededCustomers(tenant: string, emails: string[]): Promise<void>;
  deleteSeededCustomers(tenant: string): Promise<void>;

  // Federated customers (contract section 10).
  /**
   * The anonymous session (when a selector is given), the identity's link and the customer under
   * `email` (when given), in one round trip.
   */
  loadFederatedLogin(
    sessionSelector: string | undefined,
    tenant: string,
    identity: LinkedIdentity,
    email: string | undefined,
  ): Promise<FederatedLoginContext>;
  /**
   * Links an identity to a customer by a conditional write: only when the identity is linked to
   * nobody yet, or (with `replacing`) still to that customer number, a customer that is gone.
   * False when the condition did not hold (another request linked it first).
   */
  linkIdentity(link: IdentityLink, replacing?: string): Promise<boolean>;
  /** Creates a customer whose email has none yet, by a conditional write; false when one exists. */
  createCustomer(customer: CustomerRecord): Promise<boolean>;
  /** Deletes the customer only while it is a pending signup; false when it is not (or is gone). */
  deletePendingCustomer(tenant: string, email: string): Promise<boolean>;
}

/** A signup waiting for its confirmation (contract section 11): the pending `CUST#` item. */
export interface PendingSignup {
  tenant: string;
  email: string;
  customerNumber: string;
  passwordHash: string;
  /** The CustomerSignup extras the broker does not use, kept as a JSON document. */
  details: string;
  /** The current confirmation link's token: its selector (the lookup), hash and expiry (24 h). */
  optIn: { selector: string; hash: string; expiresAt: number };
  /** Unconfirmed by then, the account is gone (the item's TTL; code refuses it earlier too). */
  expiresAt: number;
}

/** What a link's selector names (`OPTIN#`). */
export interface OptInLookup {
  tenant: string;
  email: string;
  expiresAt: number;
}

export interface SignupStore {
  /**
   * Creates the pending customer under an email with no customer (or only an expired pending
   * one), by a conditional write, then the link's lookup. False when the email is taken.
   */
  createSignup(signup: PendingSignup, now: number): Promise<boolean>;
  /** A new link for a live pending signup (the old links die with the hash); false otherwise. */
  replaceOptIn(tenant: string, email: string, optIn: PendingSignup['optIn'], now: number): Promise<boolean>;
  findOptIn(selector: string): Promise<OptInLookup | undefined>;
  /**
   * The confirmation: ONE conditional write on the customer (pending, the link's hash, the link
   * and the signup unexpired) that makes it a customer. Of concurrent calls exactly one gets the
   * customer; the others undefined.
   */
  confirmSignup(tenant: string, email: string, hash: string, now: number): Promise<CustomerRecord | undefined>;
  /** One mail per address until `until`: a conditional put; false while a gate stands. */
  claimMailGate(tenant: string, email: string, now: number, until: number): Promise<boolean>;
  /** After a mail that could not be sent: the next try may send at once. */
  releaseMailGate(tenant: string, email: string): Promise<void>;
  /** Counts a signup or resend from `source` in its window; false once the window holds `limit`. */
  countSourceRequest(source: string, now: number, limits: { windowSeconds: number; limit: number }): Promise<boolean>;
}

/**
 * The authorization code flow (contract section 8; the rules are domain/authorization.ts): a
 * pending request, the code it becomes, the code's one-time redemption. One item per request.
 */
export interface AuthorizationStore {
  /** Writes a new pending request; durable once it resolves. */
  createAuthorization(pending: PendingAuthorization): Promise<void>;
  /** The record under the selector, in whatever state it is (strongly consistent). */
  findAuthorization(selector: string): Promise<Authorization | undefined>;
  /**
   * The sign-in: one conditional write that turns the pending request into `code` while every
   * ISSUE_CLAUSES clause holds (`issueRefusal`). False when one does not.
   */
  issueCode(selector: string, presented: { requestHash: string; csrfHash: string; now: number }, code: IssuedCode): Promise<boolean>;
  /**
   * The one-time redemption: one conditional write that records the redemption (and the family
   * its tokens belong to) while every REDEMPTION_CLAUSES clause holds (`redemptionRefusal`). Of
   * any number of concurrent calls with one code, at most one gets true.
   */
  redeemCode(
    selector: string,
    presented: { codeHash: string; clientId: string; redirectUri: string; codeChallenge: string; now: number },
    familySelector: string,
  ): Promise<boolean>;
  /**
   * Ends the authorization with its customer's sessions (it is indexed among them from its
   * sign-in): neither a code nor its redemption can follow. False when there is none.
   */
  revokeAuthorization(selector: string, now: number): Promise<boolean>;
}

/**
 * The identity providers' side of federated login (contract section 10). The adapter calls only
 * URLs derived from the provider's configured issuer (discovery, then the endpoints it names),
 * never one from a request; every call is bounded in time. A provider that answers with an error
 * (a bad or used code) or a token that fails a check is `ExternalTokenRejected`; a provider that
 * is down or slow is `ServiceUnavailable` (503 with Retry-After).
 */
export interface IdentityProviderClient {
  /**
   * Exchanges an authorization code at the provider's token endpoint (client authentication with
   * the configured secret, PKCE verifier passed through) and verifies the ID token: signature by
   * the provider's JWKS (asymmetric algorithms only), `iss`, `aud` = the client id, `exp`, and
   * `nonce` when one is given.
   */
  exchangeCode(
    tenant: string,
    provider: IdentityProvider,
    request: { code: string; redirectUri: string; codeVerifier?: string; nonce?: string },
  ): Promise<ProviderTokens>;
  /**
   * Verifies an access token the provider issued: as a JWT by its JWKS, or by its introspection
   * endpoint (`provider.validation`); `iss`, `exp`, and `aud` / `azp` when configured.
   */
  verifyAccessToken(tenant: string, provider: IdentityProvider, token: string): Promise<ExternalIdentity>;
}

/**
 * Sends mail (contract section 11): Amazon SES v2 in AWS, `DATA_DIR/outbox/*.eml` locally. Resolves
 * once the message is accepted for delivery (or written); a failure is `ServiceUnavailable`, and
 * the caller leaves nothing half done. Never logs the message's body (it holds a link's token).
 */
export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}

/** The published half of the signing keys; the table holds it, the discovery function reads it. */
export interface PublicKeyStore {
  getPublishedKeys(): Promise<PublishedKey[]>;
  putPublishedKeys(keys: PublishedKey[]): Promise<void>;
}

/** The private signing key in use: Secrets Manager in AWS, the secrets file locally. */
export interface SigningKeySource {
  current(): Promise<PrivateSigningKey>;
}
