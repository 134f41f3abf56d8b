import type { ServiceClient, Tenant } from './domain/tenant.js';

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
  putTenant(tenant: Tenant): Promise<void>;
  putServiceClient(client: ServiceClient): Promise<void>;
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

export interface TokenStore {
  /** Writes a new record; resolves only once it is durable. */
  putAccessToken(record: AccessTokenRecord): Promise<void>;
  findAccessToken(selector: string): Promise<AccessTokenRecord | undefined>;
  /**
   * Marks the record revoked if its hash and tenant match, in one conditional write.
   * Returns the record as it now stands, or undefined when nothing matched.
   */
  revokeAccessToken(selector: string, hash: string, tenant: string, now: number): Promise<AccessTokenRecord | undefined>;
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
