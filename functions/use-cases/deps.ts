import type { Logger } from '../log.js';
import type { ClientSecrets, Clock, DirectoryStore, KeyMaterial, TokenStore } from '../ports.js';

/** Everything a use case may need; built once per cold start (AWS) or per process (local). */
export interface BrokerDeps {
  directory: DirectoryStore;
  tokens: TokenStore;
  secrets: ClientSecrets;
  keys: KeyMaterial;
  clock: Clock;
  log: Logger;
  /** Share of a service token's life after which the cache mints a new one (0 < share ≤ 1). */
  serviceTokenReuseShare: number;
}
