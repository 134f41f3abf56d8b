import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CachedDirectory } from './adapters/cached-directory.js';
import { VersionedClientSecrets } from './adapters/client-secrets.js';
import { DynamoDbSessions, DynamoDbStore } from './adapters/dynamodb/stores.js';
import { memoisedUnseal } from './adapters/memoised-unseal.js';
import { RefreshingValue } from './adapters/refreshing-value.js';
import type { HoldSeconds } from './config.js';
import type { ClientSecretsDocument } from './domain/client-secrets.js';
import type { ScryptParams } from './domain/passwords.js';
import { unseal } from './domain/seal.js';
import { liveKeys, signingKeyAt, type PrivateSigningKey } from './domain/signing-keys.js';
import type { Logger } from './log.js';
import type { Clock, CustomerStore, DirectoryStore, PublicKeyStore, SessionStore, TokenStore } from './ports.js';
import type { ClientSecretsWriter, SeedTarget, SigningKeyWriter } from './seed/apply.js';
import type { Deps } from './use-cases/deps.js';

/**
 * The one place that assembles the broker: from its sources (the table, the key material) and
 * its settings it builds the adapters, their caches and the `Deps` the use cases pick from. The
 * Lambda entries (entry-points/), local mode (local/broker.ts), the seed CLI (bin/seed.ts) and the
 * use-case tests (test/support/memory-deps.ts) all call it.
 *
 * Least privilege is kept by the sources: a function is given only the loaders it is granted
 * (the warm-up has no client secrets, discovery only the table), and the builder builds nothing
 * for a source it was not given; the type of what it returns says so, so a route table that needs
 * the missing part does not compile.
 */

/** The stores over the table, uncached: every port the table serves. */
export type Stores = Pick<Deps, 'directory' | 'tokens' | 'sessions' | 'customers' | 'publicKeys'>;

/**
 * The table: a DynamoDB client and table name (AWS or dynalite), or a store that implements every
 * port itself (adapters/memory-store.ts; passed in, so no Lambda bundle carries it).
 */
export type TableSource =
  | { client: DynamoDBClient; tableName: string }
  | { memory: DirectoryStore & TokenStore & SessionStore & CustomerStore & PublicKeyStore };

/** The stores over a table: the same construction for the broker, the seed and the incident commands. */
export function storesOf(table: TableSource): Stores {
  if ('memory' in table) {
    const store = table.memory;
    return { directory: store, tokens: store, sessions: store, customers: store, publicKeys: store };
  }
  const tokens = new DynamoDbStore(table.client, table.tableName);
  const sessions = new DynamoDbSessions(table.client, table.tableName);
  return { directory: tokens, tokens, sessions, customers: sessions, publicKeys: sessions };
}

/** What a seed is applied to: the stores (cached or not) and the writers of the two secrets. */
export function seedTarget(
  stores: Pick<Stores, 'directory' | 'sessions' | 'customers' | 'publicKeys'>,
  secrets: { clientSecrets: ClientSecretsWriter; signingKeys: SigningKeyWriter },
): SeedTarget {
  const { directory, sessions, customers, publicKeys } = stores;
  return { directory, sessions, customers, publicKeys, ...secrets };
}

/** Loaders of the key material (Secrets Manager, or the local secrets file); each one optional. */
export interface KeySources {
  /** Named in the 503 a failed first load becomes: `Secrets Manager`, `local secrets file`. */
  name: string;
  clientSecrets?: () => Promise<ClientSecretsDocument>;
  cacheKey?: () => Promise<Buffer>;
  signingKeys?: () => Promise<PrivateSigningKey[]>;
}

export interface Sources<K extends KeySources = KeySources> {
  table: TableSource;
  keys: K;
}

export interface Settings {
  clock: Clock;
  log: Logger;
  serviceTokenReuseShare: number;
  /** How long each loaded value is held (config.ts DEFAULTS.awsHold or .localHold). */
  hold: HoldSeconds;
  /** Logged when a reload fails and the cached value keeps serving; by default nothing. */
  onStale?: (error: unknown) => void;
  /** The decoy hash's cost: that of the customers' hashes; production's if absent. */
  passwordHashing?: ScryptParams;
}

type Loader<T> = () => Promise<T>;
/** What `buildDeps` builds for the key sources `K` holds: nothing for an absent one. */
export type BuiltDeps<K extends KeySources> = Omit<Deps, 'secrets' | 'keys' | 'signingKeys'> &
  (K extends { clientSecrets: Loader<ClientSecretsDocument> } ? Pick<Deps, 'secrets'> : unknown) &
  (K extends { cacheKey: Loader<Buffer> } ? Pick<Deps, 'keys'> : unknown) &
  (K extends { signingKeys: Loader<PrivateSigningKey[]> } ? Pick<Deps, 'signingKeys'> : unknown);

export function buildDeps<K extends KeySources>(sources: Sources<K>, settings: Settings): BuiltDeps<K> {
  const { clock, log, hold } = settings;
  const stores = storesOf(sources.table);
  const held = <T>(name: string, load: Loader<T>, seconds: number) =>
    new RefreshingValue(name, load, clock, seconds, hold.retryAfterFailure, settings.onStale);
  const published =
    hold.publishedKeys === undefined
      ? () => stores.publicKeys.getPublishedKeys()
      : ((value) => () => value.get())(new RefreshingValue('DynamoDB', () => stores.publicKeys.getPublishedKeys(), clock, hold.publishedKeys, hold.retryAfterFailure));

  const deps: Partial<Deps> = {
    ...stores,
    directory: new CachedDirectory(stores.directory, clock, hold.directory),
    liveKeys: async () => liveKeys(await published(), clock()),
    unseal: memoisedUnseal(unseal),
    clock,
    log,
    serviceTokenReuseShare: settings.serviceTokenReuseShare,
    ...(settings.passwordHashing ? { passwordHashing: settings.passwordHashing } : {}),
  };
  const { name, clientSecrets, cacheKey, signingKeys } = sources.keys;
  if (clientSecrets) deps.secrets = new VersionedClientSecrets(held(name, clientSecrets, hold.clientSecrets), clock);
  if (cacheKey) {
    const key = held(name, cacheKey, hold.cacheKey);
    deps.keys = { cacheKey: () => key.get() };
  }
  if (signingKeys) {
    const keys = held(name, signingKeys, hold.signingKeys);
    deps.signingKeys = { current: async () => signingKeyAt(await keys.get(), clock()) };
  }
  return deps as BuiltDeps<K>;
}
