import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CachedDirectory } from '../adapters/cached-directory.js';
import { VersionedClientSecrets } from '../adapters/client-secrets.js';
import { DynamoDbStore } from '../adapters/dynamodb-store.js';
import { RefreshingValue } from '../adapters/refreshing-value.js';
import { secretsManagerCacheKey, secretsManagerClientSecrets } from '../adapters/secrets-manager.js';
import type { FunctionConfig } from '../config.js';
import { jsonLogger } from '../log.js';
import { systemClock } from '../ports.js';
import type { BrokerDeps } from '../use-cases/deps.js';

/**
 * A bounded budget per AWS call: two attempts of at most 0.5 s to connect and 1.5 s to answer
 * (about 4.5 s with the retry's backoff). A request makes at most four calls in a row, so a
 * stalled dependency becomes the broker's 503 well inside the Lambda's 25 s timeout.
 */
const SDK_OPTIONS = { maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1500 } };

/** Wires the use cases to DynamoDB and Secrets Manager; runs once per cold start. */
export function awsDeps(
  config: Pick<FunctionConfig, 'tableName' | 'clientSecretsId' | 'keysSecretId' | 'serviceTokenReuseShare'>,
): BrokerDeps {
  const log = jsonLogger();
  const store = new DynamoDbStore(new DynamoDBClient(SDK_OPTIONS), config.tableName);
  const secretsManager = new SecretsManagerClient(SDK_OPTIONS);
  const onStale = (error: unknown) => log.warn('serving cached secret after a failed reload', { error });
  const cacheKey = new RefreshingValue('Secrets Manager', secretsManagerCacheKey(secretsManager, config.keysSecretId), systemClock, 3600, 30, onStale);
  return {
    directory: new CachedDirectory(store, systemClock),
    tokens: store,
    secrets: new VersionedClientSecrets(
      new RefreshingValue('Secrets Manager', secretsManagerClientSecrets(secretsManager, config.clientSecretsId), systemClock, 300, 30, onStale),
    ),
    keys: { cacheKey: () => cacheKey.get() },
    clock: systemClock,
    log,
    serviceTokenReuseShare: config.serviceTokenReuseShare,
  };
}
