import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { brokerDynamoDbClient } from '../adapters/dynamodb/client.js';
import {
  secretsManagerCacheKey,
  secretsManagerClientSecrets,
  secretsManagerProviderSecrets,
  secretsManagerSigningKeys,
} from '../adapters/secrets-manager.js';
import { DEFAULTS } from '../config.js';
import { jsonLogger, type Logger } from '../log.js';
import { systemClock } from '../ports.js';
import type { KeySources, MailSource, Settings, TableSource } from '../wiring.js';

/**
 * The AWS sources of functions/wiring.ts: the table through a DynamoDB client, the key material
 * through Secrets Manager. Each Lambda entry names only the secrets its role is granted
 * (lib/constructs/broker-functions.ts), and no Secrets Manager client is made for a function
 * that is granted none.
 */

/**
 * A bounded budget per AWS call: two attempts of at most 0.5 s to connect and 1.5 s to answer
 * (about 4.5 s with the retry's backoff). A request makes at most four calls in a row, so a
 * stalled dependency becomes the broker's 503 well inside the Lambda's 25 s timeout. The SDK
 * only warns when `requestTimeout` passes unless `throwOnRequestTimeout` is set.
 */
const SDK_OPTIONS = { maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1500, throwOnRequestTimeout: true } };

export function awsTable(tableName: string): TableSource {
  return {
    client: brokerDynamoDbClient({
      maxAttempts: SDK_OPTIONS.maxAttempts,
      connectionTimeout: SDK_OPTIONS.requestHandler.connectionTimeout,
      requestTimeout: SDK_OPTIONS.requestHandler.requestTimeout,
    }),
    tableName,
  };
}

/** Mail through SES v2, with the same bounded attempts (a throttled send is one retry, then a 503). */
export function awsMail(): MailSource {
  return { ses: new SESv2Client(SDK_OPTIONS) };
}

/** The secret ids the function was given; a loader for each, and nothing for the others. */
export function secretsManagerSources<
  I extends { clientSecretsId?: string; keysSecretId?: string; signingKeysSecretId?: string; identityProviderSecretsId?: string },
>(
  ids: I,
): KeySources &
  (I extends { clientSecretsId: string } ? Pick<Required<KeySources>, 'clientSecrets'> : unknown) &
  (I extends { keysSecretId: string } ? Pick<Required<KeySources>, 'cacheKey'> : unknown) &
  (I extends { signingKeysSecretId: string } ? Pick<Required<KeySources>, 'signingKeys'> : unknown) &
  (I extends { identityProviderSecretsId: string } ? Pick<Required<KeySources>, 'identityProviderSecrets'> : unknown) {
  const sources: KeySources = { name: 'Secrets Manager' };
  const { clientSecretsId, keysSecretId, signingKeysSecretId, identityProviderSecretsId } = ids;
  if (
    clientSecretsId === undefined &&
    keysSecretId === undefined &&
    signingKeysSecretId === undefined &&
    identityProviderSecretsId === undefined
  ) {
    return sources as never;
  }
  const client = new SecretsManagerClient(SDK_OPTIONS);
  if (clientSecretsId !== undefined) sources.clientSecrets = secretsManagerClientSecrets(client, clientSecretsId);
  if (keysSecretId !== undefined) sources.cacheKey = secretsManagerCacheKey(client, keysSecretId);
  if (signingKeysSecretId !== undefined) sources.signingKeys = secretsManagerSigningKeys(client, signingKeysSecretId);
  if (identityProviderSecretsId !== undefined) {
    sources.identityProviderSecrets = secretsManagerProviderSecrets(client, identityProviderSecretsId);
  }
  return sources as never;
}

/** A Lambda function's settings: the system clock, JSON logs, AWS hold times, a warning when a stale secret serves. */
export function awsSettings(
  config: { serviceTokenReuseShare?: number; serviceTokenNearCacheSeconds?: number },
  log: Logger = jsonLogger(),
): Settings {
  return {
    clock: systemClock,
    log,
    serviceTokenReuseShare: config.serviceTokenReuseShare ?? DEFAULTS.serviceTokenReuseShare,
    nearCache: { staleSeconds: config.serviceTokenNearCacheSeconds ?? DEFAULTS.serviceTokenNearCacheSeconds },
    hold: DEFAULTS.awsHold,
    onStale: (error: unknown) => log.warn('serving cached secret after a failed reload', { error }),
  };
}
