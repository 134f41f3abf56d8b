import {
  issueRefusal,
  redemptionRefusal,
  type Authorization,
  type IssuedCode,
  type PendingAuthorization,
} from '../domain/authorization.js';
import { identityDigest } from '../domain/federated-customers.js';
import type { LinkedIdentity } from '../domain/federation.js';
import { refusesAttempt, type AttemptLimits, type AttemptReservation, type LoginAttempts } from '../domain/login-throttle.js';
import { sameHash } from '../domain/tokens.js';
import {
  applyRenewal,
  applyRotation,
  mayRotate,
  renewalRefusal,
  type FamilyKind,
  type RefreshFamily,
  type TokenSlot,
} from '../domain/refresh-family.js';
import type { PublishedKey } from '../domain/signing-keys.js';
import type { AppClient, ServiceClient, Tenant } from '../domain/tenant.js';
import type {
  AccessTokenRecord,
  AuthorizationStore,
  CachedServiceToken,
  CustomerRecord,
  CustomerSessionEntry,
  CustomerStore,
  OptInLookup,
  PendingSignup,
  SignupStore,
  DirectoryStore,
  FederatedLoginContext,
  FoundToken,
  IdentityLink,
  LoginContext,
  PublicKeyStore,
  RotationOutcome,
  RotationWrite,
  SessionStore,
  TokenStore,
} from '../ports.js';

/**
 * Every store port in process memory, with the DynamoDB adapters' semantics: each conditional
 * write checks and writes without an await in between, which on one event loop is as atomic as
 * DynamoDB's single-item conditions. It exists for the benchmark against a peer's memory adapter
 * and for quick experiments; test/adapters/store-contract.test.ts holds it to the same behaviour
 * as the DynamoDB adapters on dynalite. Nothing expires by itself here either: expiry is checked
 * by the callers, as with DynamoDB's lagging TTL.
 */
export class MemoryStore
  implements DirectoryStore, TokenStore, SessionStore, CustomerStore, PublicKeyStore, AuthorizationStore, SignupStore
{
  private readonly tenants = new Map<string, Tenant>();
  private readonly clients = new Map<string, ServiceClient>();
  private readonly appClients = new Map<string, AppClient>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly sessions = new Map<string, RefreshFamily>();
  private readonly cache = new Map<string, CachedServiceToken>();
  private readonly customers = new Map<string, CustomerRecord>();
  private readonly attempts = new Map<string, LoginAttempts>();
  /** Customer key → selector → the family's end, as the CSESS# partition holds them. */
  private readonly customerSessions = new Map<string, Map<string, number>>();
  private readonly seededCustomers = new Map<string, string[]>();
  /** `<tenant>#<digest>` → the link, as the IDENT# partition holds them. */
  private readonly identities = new Map<string, IdentityLink>();
  private publishedKeys: PublishedKey[] = [];
  private readonly authorizations = new Map<string, Authorization>();
  /** Customer key → the pending signup's own attributes (the `CUST#` item's `details`, `optinH`, …). */
  private readonly signups = new Map<string, { details: string; optinH?: string; optinExp?: number; ttl: number }>();
  private readonly optIns = new Map<string, OptInLookup>();
  private readonly mailGates = new Map<string, number>();
  private readonly sourceCounters = new Map<string, number>();

  // --- directory ---------------------------------------------------------------------------

  async getTenant(tenant: string) {
    const found = copy(this.tenants.get(tenant));
    // As the table reads it: a tenant without providers has `{}`.
    return found && { ...found, identityProviders: found.identityProviders ?? {} };
  }
  async putTenant(tenant: Tenant) {
    const { storefrontTokensRevokedAt: _kept, ...config } = tenant;
    const revoked = this.tenants.get(tenant.tenant)?.storefrontTokensRevokedAt;
    this.tenants.set(tenant.tenant, copy(revoked === undefined ? config : { ...config, storefrontTokensRevokedAt: revoked }));
  }
  async revokeStorefrontClientTokens(tenant: string, clientId: string, at: number) {
    const stored = this.tenants.get(tenant);
    if (!stored) return false;
    stored.storefrontTokensRevokedAt = { ...stored.storefrontTokensRevokedAt };
    Object.defineProperty(stored.storefrontTokensRevokedAt, clientId, { value: at, enumerable: true, writable: true });
    return true;
  }
  async getServiceClient(clientId: string) {
    return copy(this.clients.get(clientId));
  }
  async putServiceClient(client: ServiceClient) {
    const { tokensRevokedAt: _kept, ...config } = client;
    const revokedAt = this.clients.get(client.clientId)?.tokensRevokedAt;
    this.clients.set(client.clientId, copy(revokedAt === undefined ? config : { ...config, tokensRevokedAt: revokedAt }));
  }
  async revokeServiceClientTokens(clientId: string, at: number) {
    const client = this.clients.get(clientId);
    if (!client) return undefined;
    client.tokensRevokedAt = at;
    return copy(client);
  }
  async listTenantIds() {
    return [...this.tenants.keys()];
  }
  async listServiceClientIds() {
    return [...this.clients.keys()];
  }
  async deleteTenant(tenant: string) {
    this.tenants.delete(tenant);
  }
  async deleteServiceClient(clientId: string) {
    this.clients.delete(clientId);
  }
  async listWarmupClients() {
    return [...this.clients.values()].filter((c) => c.warmup).map((c) => copy(c));
  }
  async getAppClient(clientId: string) {
    return copy(this.appClients.get(clientId));
  }
  async putAppClient(client: AppClient) {
    const { tokensRevokedAt: _kept, ...config } = client;
    const revokedAt = this.appClients.get(client.clientId)?.tokensRevokedAt;
    this.appClients.set(client.clientId, copy(revokedAt === undefined ? config : { ...config, tokensRevokedAt: revokedAt }));
  }
  async revokeAppClientTokens(clientId: string, at: number) {
    const client = this.appClients.get(clientId);
    if (!client) return undefined;
    client.tokensRevokedAt = at;
    return copy(client);
  }
  async listAppClientIds() {
    return [...this.appClients.keys()];
  }
  async deleteAppClient(clientId: string) {
    this.appClients.delete(clientId);
  }

  // --- access tokens and the service-token cache -------------------------------------------

  async putAccessToken(record: AccessTokenRecord) {
    if (this.accessTokens.has(record.selector) || this.sessions.has(record.selector)) throw new Error('selector collision');
    this.accessTokens.set(record.selector, copyRecord(record));
  }

  async findToken(selector: string): Promise<FoundToken | undefined> {
    const record = this.accessTokens.get(selector);
    if (record) return { kind: 'access', record: copyRecord(record) };
    const family = this.sessions.get(selector);
    return family ? { kind: 'session', family: copy(family) } : undefined;
  }

  async revokeAccessToken(selector: string, hash: string, tenant: string, now: number, clientId?: string) {
    const record = this.accessTokens.get(selector);
    if (!record || record.hash !== hash || record.tenant !== tenant) return undefined;
    if (clientId !== undefined && record.clientId !== clientId) return undefined;
    record.revokedAt ??= now;
    return copyRecord(record);
  }

  async getCachedServiceToken(clientId: string, scopeKey: string) {
    // A flat record of strings and numbers: a spread is a full copy, and this is the hot path.
    const entry = this.cache.get(cacheKey(clientId, scopeKey));
    return entry && { ...entry };
  }
  async putCachedServiceToken(entry: CachedServiceToken) {
    this.cache.set(cacheKey(entry.clientId, entry.scopeKey), { ...entry });
  }
  async dropCachedServiceToken(clientId: string, scopeKey: string, selector: string) {
    const key = cacheKey(clientId, scopeKey);
    if (this.cache.get(key)?.selector === selector) this.cache.delete(key);
  }

  // --- sessions ----------------------------------------------------------------------------

  async createSession(family: RefreshFamily) {
    if (this.sessions.has(family.selector) || this.accessTokens.has(family.selector)) throw new Error('selector collision');
    this.sessions.set(family.selector, copy(family));
  }

  async findSession(selector: string) {
    return copy(this.sessions.get(selector));
  }

  async rotateSession(
    selector: string,
    expected: { presentedHash: string; tenant: string; kind: FamilyKind; clientId?: string; now: number },
    next: RotationWrite,
  ): Promise<RotationOutcome> {
    // The rotation rule and what a rotation writes are the domain's (refresh-family.ts).
    const family = this.sessions.get(selector);
    const presented = {
      hash: expected.presentedHash,
      tenant: expected.tenant,
      kind: expected.kind,
      clientId: expected.clientId,
      legalEntityId: next.legalEntityId,
      // A narrower scope travels with the access token it is written for.
      scopes: next.access.scopes,
    };
    if (!family || !mayRotate(family, presented, expected.now)) return { outcome: 'conflict' };
    const rotated = applyRotation(family, next, this.remember(selector, next.consumedSlot, next.rotation.consumedHash));
    this.sessions.set(selector, rotated);
    return { outcome: 'rotated', family: copy(rotated) };
  }

  async renewAccess(
    selector: string,
    expected: { presentedHash: string; tenant: string; clientId: string; now: number },
    access: TokenSlot,
  ) {
    const family = this.sessions.get(selector);
    const presented = { hash: expected.presentedHash, tenant: expected.tenant, clientId: expected.clientId };
    if (!family || renewalRefusal(family, presented, expected.now) !== undefined) return undefined;
    const renewed = applyRenewal(family, access);
    this.sessions.set(selector, renewed);
    return copy(renewed);
  }

  async revokeSession(selector: string, now: number, matching?: { hash: string; tenant: string; clientId?: string }) {
    const family = this.sessions.get(selector);
    if (!family) return false;
    if (matching) {
      const tokens = [family.access, family.previousAccess, family.refresh].filter((t) => t !== undefined);
      if (family.revokedAt !== undefined || family.tenant !== matching.tenant) return false;
      if (matching.clientId !== undefined && family.clientId !== matching.clientId) return false;
      if (!tokens.some((t) => sameHash(t.hash, matching.hash))) return false;
    }
    family.revokedAt ??= now;
    return true;
  }

  async setSessionLegalEntities(selector: string, legalEntities: string[]) {
    const family = this.sessions.get(selector);
    if (family?.kind !== 'customer' || !family.customer) return false;
    family.customer.legalEntities = [...new Set(legalEntities)];
    if (family.customer.legalEntityId !== undefined && !legalEntities.includes(family.customer.legalEntityId)) {
      delete family.customer.legalEntityId;
    }
    return true;
  }

  async indexCustomerSession(entry: CustomerSessionEntry) {
    const key = customerKey(entry.tenant, entry.email);
    const entries = this.customerSessions.get(key) ?? new Map<string, number>();
    this.customerSessions.set(key, entries.set(entry.selector, entry.endsAt));
  }
  async listCustomerSessions(tenant: string, email: string) {
    // Sorted like the sort key of a DynamoDB partition.
    return [...(this.customerSessions.get(customerKey(tenant, email))?.keys() ?? [])].sort();
  }
  async unindexCustomerSessions(tenant: string, email: string, selectors: string[]) {
    const entries = this.customerSessions.get(customerKey(tenant, email));
    for (const selector of selectors) entries?.delete(selector);
  }

  // --- customers and login attempts --------------------------------------------------------

  async loadLogin(sessionSelector: string, tenant: string, email: string): Promise<LoginContext> {
    const context: LoginContext = {};
    const session = this.sessions.get(sessionSelector);
    const customer = this.customers.get(customerKey(tenant, email));
    if (session) context.session = copy(session);
    if (customer) context.customer = copy(customer);
    return context;
  }

  async reserveLoginAttempt(tenant: string, email: string, limits: AttemptLimits): Promise<AttemptReservation> {
    const key = customerKey(tenant, email);
    const counter = this.attempts.get(key);
    if (!counter || counter.windowEnd <= limits.now) {
      this.attempts.set(key, { attempts: 1, windowEnd: limits.windowEnd });
      return { reserved: true, attempt: 1 };
    }
    if (counter.attempts < limits.lockAfter && (counter.notBefore === undefined || counter.notBefore <= limits.now)) {
      counter.attempts += 1;
      counter.windowEnd = limits.windowEnd;
      return { reserved: true, attempt: counter.attempts };
    }
    if (!refusesAttempt(counter, limits.now)) throw new Error('login attempt counter out of step with the rule');
    return { reserved: false, counter: copy(counter) };
  }
  async slowLoginAttempts(tenant: string, email: string, notBefore: number) {
    const counter = this.attempts.get(customerKey(tenant, email));
    if (counter && (counter.notBefore === undefined || counter.notBefore < notBefore)) counter.notBefore = notBefore;
  }
  async clearLoginAttempts(tenant: string, email: string) {
    this.attempts.delete(customerKey(tenant, email));
  }

  async getCustomer(tenant: string, email: string) {
    return copy(this.customers.get(customerKey(tenant, email)));
  }
  async putCustomer(customer: CustomerRecord) {
    this.customers.set(customerKey(customer.tenant, customer.email), copy(customer));
    this.signups.delete(customerKey(customer.tenant, customer.email));
  }
  async deleteCustomer(tenant: string, email: string) {
    this.customers.delete(customerKey(tenant, email));
    this.signups.delete(customerKey(tenant, email));
  }
  async listSeededCustomers() {
    return Object.fromEntries([...this.seededCustomers.entries()].map(([tenant, emails]) => [tenant, [...emails]]));
  }
  async putSeededCustomers(tenant: string, emails: string[]) {
    this.seededCustomers.set(tenant, [...emails]);
  }
  async deleteSeededCustomers(tenant: string) {
    this.seededCustomers.delete(tenant);
  }

  async loadFederatedLogin(
    sessionSelector: string | undefined,
    tenant: string,
    identity: LinkedIdentity,
    email: string | undefined,
  ): Promise<FederatedLoginContext> {
    const context: FederatedLoginContext = {};
    const session = sessionSelector === undefined ? undefined : this.sessions.get(sessionSelector);
    const link = this.identities.get(identityKey(tenant, identity));
    const customer = email === undefined ? undefined : this.customers.get(customerKey(tenant, email));
    if (session) context.session = copy(session);
    if (link) context.link = { ...copy(link), identity: { ...identity } };
    if (customer) context.customer = copy(customer);
    return context;
  }
  async linkIdentity(link: IdentityLink, replacing?: string) {
    const key = identityKey(link.tenant, link.identity);
    const existing = this.identities.get(key);
    if (existing && (replacing === undefined || existing.customerNumber !== replacing)) return false;
    this.identities.set(key, copy(link));
    return true;
  }
  async createCustomer(customer: CustomerRecord) {
    const key = customerKey(customer.tenant, customer.email);
    if (this.customers.has(key)) return false;
    this.customers.set(key, copy(customer));
    return true;
  }
  async deletePendingCustomer(tenant: string, email: string) {
    const key = customerKey(tenant, email);
    if (this.customers.get(key)?.pending !== true) return false;
    this.customers.delete(key);
    this.signups.delete(key);
    return true;
  }

  // --- signups (contract section 11) ---------------------------------------------------------

  async createSignup(signup: PendingSignup, now: number) {
    const key = customerKey(signup.tenant, signup.email);
    const existing = this.customers.get(key);
    const ttl = this.signups.get(key)?.ttl;
    if (existing && !(existing.pending === true && ttl !== undefined && ttl <= now)) return false;
    this.customers.set(key, {
      tenant: signup.tenant,
      email: signup.email,
      passwordHash: signup.passwordHash,
      customerNumber: signup.customerNumber,
      legalEntities: [],
      initialPassword: false,
      pending: true,
    });
    this.signups.set(key, { details: signup.details, optinH: signup.optIn.hash, optinExp: signup.optIn.expiresAt, ttl: signup.expiresAt });
    this.optIns.set(signup.optIn.selector, { tenant: signup.tenant, email: signup.email, expiresAt: signup.optIn.expiresAt });
    return true;
  }
  async replaceOptIn(tenant: string, email: string, optIn: PendingSignup['optIn'], now: number) {
    const key = customerKey(tenant, email);
    const meta = this.signups.get(key);
    if (this.customers.get(key)?.pending !== true || !meta || meta.ttl <= now) return false;
    meta.optinH = optIn.hash;
    meta.optinExp = optIn.expiresAt;
    this.optIns.set(optIn.selector, { tenant, email, expiresAt: optIn.expiresAt });
    return true;
  }
  async findOptIn(selector: string) {
    return copy(this.optIns.get(selector));
  }
  async confirmSignup(tenant: string, email: string, hash: string, now: number) {
    const key = customerKey(tenant, email);
    const customer = this.customers.get(key);
    const meta = this.signups.get(key);
    if (customer?.pending !== true || !meta || meta.optinH !== hash || (meta.optinExp ?? 0) <= now || meta.ttl <= now) return undefined;
    delete customer.pending;
    this.signups.set(key, { details: meta.details, ttl: Number.POSITIVE_INFINITY });
    return copy(customer);
  }
  async claimMailGate(tenant: string, email: string, now: number, until: number) {
    const key = customerKey(tenant, email);
    const standing = this.mailGates.get(key);
    if (standing !== undefined && standing > now) return false;
    this.mailGates.set(key, until);
    return true;
  }
  async releaseMailGate(tenant: string, email: string) {
    this.mailGates.delete(customerKey(tenant, email));
  }
  async countSourceRequest(source: string, now: number, limits: { windowSeconds: number; limit: number }) {
    const key = `${source}\n${Math.floor(now / limits.windowSeconds)}`;
    const hits = this.sourceCounters.get(key) ?? 0;
    if (hits >= limits.limit) return false;
    this.sourceCounters.set(key, hits + 1);
    return true;
  }

  // --- published keys ----------------------------------------------------------------------

  async getPublishedKeys() {
    return copy(this.publishedKeys);
  }
  async putPublishedKeys(keys: PublishedKey[]) {
    this.publishedKeys = copy(keys);
  }

  // --- authorizations (the rules are domain/authorization.ts) -------------------------------

  async createAuthorization(pending: PendingAuthorization) {
    if (this.authorizations.has(pending.selector)) throw new Error('selector collision');
    this.authorizations.set(pending.selector, copy(pending));
  }
  async findAuthorization(selector: string) {
    return copy(this.authorizations.get(selector));
  }
  async issueCode(selector: string, presented: { requestHash: string; csrfHash: string; now: number }, code: IssuedCode) {
    const authorization = this.authorizations.get(selector);
    if (!authorization || issueRefusal(authorization, presented, presented.now) !== undefined) return false;
    authorization.code = copy(code);
    return true;
  }
  async redeemCode(
    selector: string,
    presented: { codeHash: string; clientId: string; redirectUri: string; codeChallenge: string; now: number },
    familySelector: string,
  ) {
    const authorization = this.authorizations.get(selector);
    if (!authorization || redemptionRefusal(authorization, presented, presented.now) !== undefined) return false;
    authorization.redemption = { redeemedAt: presented.now, familySelector };
    return true;
  }
  async revokeAuthorization(selector: string, now: number) {
    const authorization = this.authorizations.get(selector);
    if (!authorization) return false;
    authorization.revokedAt ??= now;
    return true;
  }

  /** Slot → consumed hash per family, as the DynamoDB item's c0…c7 attributes hold them. */
  private readonly consumedSlots = new Map<string, Map<number, string>>();

  private remember(selector: string, slot: number, hash: string): string[] {
    const slots = this.consumedSlots.get(selector) ?? new Map<number, string>();
    this.consumedSlots.set(selector, slots.set(slot, hash));
    return [...slots.entries()].sort(([a], [b]) => a - b).map(([, h]) => h);
  }
}

/** Access token records are flat but for the scopes array: copied by hand, they are the hot path. */
function copyRecord(record: AccessTokenRecord): AccessTokenRecord {
  return { ...record, scopes: [...record.scopes] };
}

/** Customers, their login attempts and their sessions' index are all kept per tenant and email. */
function customerKey(tenant: string, email: string): string {
  return `${tenant}#${email}`;
}

function identityKey(tenant: string, identity: LinkedIdentity): string {
  return `${tenant}#${identityDigest(identity)}`;
}

function cacheKey(clientId: string, scopeKey: string): string {
  return `${clientId}\n${scopeKey}`;
}

/** Callers must never share an object with the store, as they cannot with DynamoDB. */
function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
