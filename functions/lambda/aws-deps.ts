import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CachedDirectory } from '../adapters/cached-directory.js';
import { VersionedClientSecrets } from '../adapters/client-secrets.js';
import { DynamoDbSessions, DynamoDbStore } from '../adapters/dynamodb/stores.js';
import { memoisedUnseal } from '../adapters/memoised-unseal.js';
import { RefreshingValue } from '../adapters/refreshing-value.js';
import { secretsManagerCacheKey, secretsManagerClientSecrets, secretsManagerSigningKeys } from '../adapters/secrets-manager.js';
import type { FunctionConfig } from '../config.js';
import { unseal } from '../domain/seal.js';
import { DISCOVERY_KEYS_CACHE_SECONDS, liveKeys, SIGNING_KEYS_CACHE_SECONDS, signingKeyAt } from '../domain/signing-keys.js';
import { jsonLogger, type Logger } from '../log.js';
import { systemClock } from '../ports.js';
import type { BrokerDeps, ServiceTokenDeps, StorefrontDeps } from '../use-cases/deps.js';

/**
 * A bounded budget per AWS call: two attempts of at most 0.5 s to connect and 1.5 s to answer
 * (about 4.5 s with the retry's backoff). A request makes at most four calls in a row, so a
 * stalled dependency becomes the broker's 503 well inside the Lambda's 25 s timeout.
 */
const SDK_OPTIONS = { maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1500 } };

const staleWarning = (log: Logger) => (error: unknown) => log.warn('serving cached secret after a failed reload', { error });

/** The oauth function: service tokens, introspection, revocation. */
export function awsDeps(
  config: Pick<FunctionConfig, 'tableName' | 'clientSecretsId' | 'keysSecretId' | 'serviceTokenReuseShare'>,
): BrokerDeps {
  const { deps, dynamo, secretsManager } = serviceTokenDeps(config);
  return {
    ...deps,
    sessions: new DynamoDbSessions(dynamo, config.tableName),
    // Refreshed every 60 s, so revoking a previous secret takes effect within the same 60 s as
    // the directory cache (operating.md "Incident response"): one GetSecretValue a minute per
    // warm instance.
    secrets: new VersionedClientSecrets(
      new RefreshingValue('Secrets Manager', secretsManagerClientSecrets(secretsManager, config.clientSecretsId), systemClock, 60, 30, staleWarning(deps.log)),
      systemClock,
    ),
  };
}

/** The warm-up function: mints and caches service tokens; no client secrets (it is granted none). */
export function awsWarmupDeps(
  config: Pick<FunctionConfig, 'tableName' | 'keysSecretId' | 'serviceTokenReuseShare'>,
): ServiceTokenDeps {
  return serviceTokenDeps(config).deps;
}

function serviceTokenDeps(config: Pick<FunctionConfig, 'tableName' | 'keysSecretId' | 'serviceTokenReuseShare'>) {
  const log = jsonLogger();
  const dynamo = new DynamoDBClient(SDK_OPTIONS);
  const store = new DynamoDbStore(dynamo, config.tableName);
  const secretsManager = new SecretsManagerClient(SDK_OPTIONS);
  const cacheKey = new RefreshingValue(
    'Secrets Manager',
    secretsManagerCacheKey(secretsManager, config.keysSecretId),
    systemClock,
    3600,
    30,
    staleWarning(log),
  );
  const deps: ServiceTokenDeps = {
    directory: new CachedDirectory(store, systemClock),
    tokens: store,
    keys: { cacheKey: () => cacheKey.get() },
    unseal: memoisedUnseal(unseal),
    clock: systemClock,
    log,
    serviceTokenReuseShare: config.serviceTokenReuseShare,
  };
  return { deps, dynamo, secretsManager };
}

/** The storefront function: sessions and customers; the signing key, no client secrets. */
export function awsStorefrontDeps(config: Pick<FunctionConfig, 'tableName' | 'signingKeysSecretId'>): StorefrontDeps {
  const log = jsonLogger();
  const dynamo = new DynamoDBClient(SDK_OPTIONS);
  const sessions = new DynamoDbSessions(dynamo, config.tableName);
  const secretsManager = new SecretsManagerClient(SDK_OPTIONS);
  const signingKeys = new RefreshingValue(
    'Secrets Manager',
    secretsManagerSigningKeys(secretsManager, config.signingKeysSecretId),
    systemClock,
    SIGNING_KEYS_CACHE_SECONDS,
    30,
    staleWarning(log),
  );
  return {
    directory: new CachedDirectory(new DynamoDbStore(dynamo, config.tableName), systemClock),
    sessions,
    customers: sessions,
    signingKeys: { current: async () => signingKeyAt(await signingKeys.get(), systemClock()) },
    clock: systemClock,
    log,
  };
}

/** The discovery function: the published public keys, read from the table and held a minute. */
export function awsPublicKeys(config: Pick<FunctionConfig, 'tableName'>): () => Promise<unknown[]> {
  const sessions = new DynamoDbSessions(new DynamoDBClient(SDK_OPTIONS), config.tableName);
  const published = new RefreshingValue('DynamoDB', () => sessions.getPublishedKeys(), systemClock, DISCOVERY_KEYS_CACHE_SECONDS);
  return async () => liveKeys(await published.get(), systemClock());
}
