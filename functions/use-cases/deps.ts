import type { ScryptParams } from '../domain/passwords.js';
import type { Unseal } from '../domain/seal.js';
import type { Logger } from '../log.js';
import type {
  ClientSecrets,
  Clock,
  CustomerStore,
  DirectoryStore,
  KeyMaterial,
  SessionStore,
  SigningKeySource,
  TokenStore,
} from '../ports.js';

/** Everything a use case may need; built once per cold start (AWS) or per process (local). */
export interface BrokerDeps {
  directory: DirectoryStore;
  tokens: TokenStore;
  /** Introspection and revocation reach storefront sessions too (contract section 4). */
  sessions: SessionStore;
  secrets: ClientSecrets;
  keys: KeyMaterial;
  /** Opens a cached service token: `unseal`, or a memo around it (adapters/memoised-unseal.ts). */
  unseal: Unseal;
  clock: Clock;
  log: Logger;
  /** Share of a service token's life after which the cache mints a new one (0 < share ≤ 1). */
  serviceTokenReuseShare: number;
}

/**
 * What minting and caching service tokens needs, and all the warm-up has: no client secrets
 * (it authenticates nobody) and no sessions.
 */
export type ServiceTokenDeps = Omit<BrokerDeps, 'secrets' | 'sessions'>;

/** The storefront function's needs: no client secrets, no cache key. */
export interface StorefrontDeps {
  directory: DirectoryStore;
  sessions: SessionStore;
  customers: CustomerStore;
  signingKeys: SigningKeySource;
  /** The decoy hash's cost: that of the customers' hashes; production's (SCRYPT_PARAMS) if absent. */
  passwordHashing?: ScryptParams;
  clock: Clock;
  log: Logger;
}
