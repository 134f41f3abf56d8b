import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LinkedIdentity } from '../../domain/federation.js';
import type { AttemptLimits, AttemptReservation } from '../../domain/login-throttle.js';
import type { FamilyKind, RefreshFamily, TokenSlot } from '../../domain/refresh-family.js';
import type { PublishedKey } from '../../domain/signing-keys.js';
import type { AppClient, ServiceClient, Tenant } from '../../domain/tenant.js';
import type {
  AccessTokenRecord,
  CachedServiceToken,
  CustomerRecord,
  CustomerSessionEntry,
  CustomerStore,
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
} from '../../ports.js';
import { DynamoCustomers } from './customers.js';
import { DynamoDirectory } from './directory.js';
import { DynamoFamilies } from './families.js';
import { DynamoPublicKeys } from './public-keys.js';
import { DynamoTable } from './table.js';
import { DynamoTokens } from './tokens.js';

/**
 * The DynamoDB adapters the wiring uses, one per group of ports, each composed of the aggregates
 * in this folder (keys.ts lists every item). They only delegate: what an item holds and how it
 * is written lives in the aggregate's file.
 */

/** The directory and the token items: what the oauth and warm-up functions read and write. */
export class DynamoDbStore implements DirectoryStore, TokenStore {
  private readonly directory: DynamoDirectory;
  private readonly tokens: DynamoTokens;

  constructor(client: DynamoDBClient, tableName: string) {
    const table = new DynamoTable(client, tableName);
    this.directory = new DynamoDirectory(table);
    this.tokens = new DynamoTokens(table);
  }

  // --- directory ---------------------------------------------------------------------------

  getTenant(tenant: string): Promise<Tenant | undefined> {
    return this.directory.getTenant(tenant);
  }
  putTenant(tenant: Tenant): Promise<void> {
    return this.directory.putTenant(tenant);
  }
  getServiceClient(clientId: string): Promise<ServiceClient | undefined> {
    return this.directory.getServiceClient(clientId);
  }
  putServiceClient(client: ServiceClient): Promise<void> {
    return this.directory.putServiceClient(client);
  }
  revokeStorefrontClientTokens(tenant: string, clientId: string, at: number): Promise<boolean> {
    return this.directory.revokeStorefrontClientTokens(tenant, clientId, at);
  }
  revokeServiceClientTokens(clientId: string, at: number): Promise<ServiceClient | undefined> {
    return this.directory.revokeServiceClientTokens(clientId, at);
  }
  listTenantIds(): Promise<string[]> {
    return this.directory.listTenantIds();
  }
  listServiceClientIds(): Promise<string[]> {
    return this.directory.listServiceClientIds();
  }
  listWarmupClients(): Promise<ServiceClient[]> {
    return this.directory.listWarmupClients();
  }
  deleteTenant(tenant: string): Promise<void> {
    return this.directory.deleteTenant(tenant);
  }
  deleteServiceClient(clientId: string): Promise<void> {
    return this.directory.deleteServiceClient(clientId);
  }
  getAppClient(clientId: string): Promise<AppClient | undefined> {
    return this.directory.getAppClient(clientId);
  }
  putAppClient(client: AppClient): Promise<void> {
    return this.directory.putAppClient(client);
  }
  revokeAppClientTokens(clientId: string, at: number): Promise<AppClient | undefined> {
    return this.directory.revokeAppClientTokens(clientId, at);
  }
  listAppClientIds(): Promise<string[]> {
    return this.directory.listAppClientIds();
  }
  deleteAppClient(clientId: string): Promise<void> {
    return this.directory.deleteAppClient(clientId);
  }

  // --- access tokens and the service-token cache -------------------------------------------

  putAccessToken(record: AccessTokenRecord): Promise<void> {
    return this.tokens.putAccessToken(record);
  }
  findToken(selector: string): Promise<FoundToken | undefined> {
    return this.tokens.findToken(selector);
  }
  revokeAccessToken(
    selector: string,
    hash: string,
    tenant: string,
    now: number,
    clientId?: string,
  ): Promise<AccessTokenRecord | undefined> {
    return this.tokens.revokeAccessToken(selector, hash, tenant, now, clientId);
  }
  getCachedServiceToken(clientId: string, scopeKey: string): Promise<CachedServiceToken | undefined> {
    return this.tokens.getCachedServiceToken(clientId, scopeKey);
  }
  putCachedServiceToken(entry: CachedServiceToken): Promise<void> {
    return this.tokens.putCachedServiceToken(entry);
  }
  dropCachedServiceToken(clientId: string, scopeKey: string, selector: string): Promise<void> {
    return this.tokens.dropCachedServiceToken(clientId, scopeKey, selector);
  }
}

/** Session families, customers and the published keys: what the storefront and discovery use. */
export class DynamoDbSessions implements SessionStore, CustomerStore, PublicKeyStore {
  private readonly families: DynamoFamilies;
  private readonly customers: DynamoCustomers;
  private readonly publicKeys: DynamoPublicKeys;

  constructor(client: DynamoDBClient, tableName: string) {
    const table = new DynamoTable(client, tableName);
    this.families = new DynamoFamilies(table);
    this.customers = new DynamoCustomers(table);
    this.publicKeys = new DynamoPublicKeys(table);
  }

  // --- session families --------------------------------------------------------------------

  createSession(family: RefreshFamily): Promise<void> {
    return this.families.createSession(family);
  }
  findSession(selector: string): Promise<RefreshFamily | undefined> {
    return this.families.findSession(selector);
  }
  rotateSession(
    selector: string,
    expected: { presentedHash: string; tenant: string; kind: FamilyKind; clientId?: string; now: number },
    next: RotationWrite,
  ): Promise<RotationOutcome> {
    return this.families.rotateSession(selector, expected, next);
  }
  renewAccess(
    selector: string,
    expected: { presentedHash: string; tenant: string; clientId: string; now: number },
    access: TokenSlot,
  ): Promise<RefreshFamily | undefined> {
    return this.families.renewAccess(selector, expected, access);
  }
  revokeSession(selector: string, now: number, matching?: { hash: string; tenant: string; clientId?: string }): Promise<boolean> {
    return this.families.revokeSession(selector, now, matching);
  }
  setSessionLegalEntities(selector: string, legalEntities: string[]): Promise<boolean> {
    return this.families.setSessionLegalEntities(selector, legalEntities);
  }

  // --- customers: their sessions, login attempts, records, the seed's list ------------------

  indexCustomerSession(entry: CustomerSessionEntry): Promise<void> {
    return this.customers.indexCustomerSession(entry);
  }
  listCustomerSessions(tenant: string, email: string): Promise<string[]> {
    return this.customers.listCustomerSessions(tenant, email);
  }
  unindexCustomerSessions(tenant: string, email: string, selectors: string[]): Promise<void> {
    return this.customers.unindexCustomerSessions(tenant, email, selectors);
  }
  loadLogin(sessionSelector: string, tenant: string, email: string): Promise<LoginContext> {
    return this.customers.loadLogin(sessionSelector, tenant, email);
  }
  reserveLoginAttempt(tenant: string, email: string, limits: AttemptLimits): Promise<AttemptReservation> {
    return this.customers.reserveLoginAttempt(tenant, email, limits);
  }
  slowLoginAttempts(tenant: string, email: string, notBefore: number): Promise<void> {
    return this.customers.slowLoginAttempts(tenant, email, notBefore);
  }
  clearLoginAttempts(tenant: string, email: string): Promise<void> {
    return this.customers.clearLoginAttempts(tenant, email);
  }
  getCustomer(tenant: string, email: string): Promise<CustomerRecord | undefined> {
    return this.customers.getCustomer(tenant, email);
  }
  putCustomer(customer: CustomerRecord): Promise<void> {
    return this.customers.putCustomer(customer);
  }
  deleteCustomer(tenant: string, email: string): Promise<void> {
    return this.customers.deleteCustomer(tenant, email);
  }
  listSeededCustomers(): Promise<Record<string, string[]>> {
    return this.customers.listSeededCustomers();
  }
  putSeededCustomers(tenant: string, emails: string[]): Promise<void> {
    return this.customers.putSeededCustomers(tenant, emails);
  }
  deleteSeededCustomers(tenant: string): Promise<void> {
    return this.customers.deleteSeededCustomers(tenant);
  }
  loadFederatedLogin(
    sessionSelector: string | undefined,
    tenant: string,
    identity: LinkedIdentity,
    email: string | undefined,
  ): Promise<FederatedLoginContext> {
    return this.customers.loadFederatedLogin(sessionSelector, tenant, identity, email);
  }
  linkIdentity(link: IdentityLink, replacing?: string): Promise<boolean> {
    return this.customers.linkIdentity(link, replacing);
  }
  createCustomer(customer: CustomerRecord): Promise<boolean> {
    return this.customers.createCustomer(customer);
  }
  deletePendingCustomer(tenant: string, email: string): Promise<boolean> {
    return this.customers.deletePendingCustomer(tenant, email);
  }

  // --- published signing keys --------------------------------------------------------------

  getPublishedKeys(): Promise<PublishedKey[]> {
    return this.publicKeys.getPublishedKeys();
  }
  putPublishedKeys(keys: PublishedKey[]): Promise<void> {
    return this.publicKeys.putPublishedKeys(keys);
  }
}
