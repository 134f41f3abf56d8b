import { readConfig } from '../config.js';
import { count, lambdaMetrics, withMetrics } from '../metrics.js';
import { warmUp } from '../use-cases/service-tokens.js';
import { buildServiceTokenDeps } from '../wiring.js';
import { awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/**
 * Run by the EventBridge schedule: keeps the cached tokens of `warmup` clients fresh; no client
 * secrets (it is granted none). It signs the JWTs of `warmup` clients with JWT access tokens, so
 * it has the signing key and the issuer (use-cases/service-tokens.ts `warmUp` says why).
 */
const config = readConfig(process.env, [
  'tableName',
  'keysSecretId',
  'signingKeysSecretId',
  'issuer',
  'serviceTokenReuseShare',
  'warmupIntervalSeconds',
]);
const deps = buildServiceTokenDeps(
  {
    table: awsTable(config.tableName),
    keys: secretsManagerSources({ keysSecretId: config.keysSecretId, signingKeysSecretId: config.signingKeysSecretId }),
  },
  awsSettings(config),
  config.issuer,
);

const metrics = lambdaMetrics('warmup');

export async function handler(): Promise<{ refreshed: number; stillFresh: number; failed: number }> {
  // Each run's counts are written at its end (WarmupRefreshed, WarmupFailures): runs are minutes apart.
  const report = await withMetrics(metrics, () =>
    warmUp(deps, config.warmupIntervalSeconds).catch((error: unknown) => {
      count('WarmupFailures');
      throw error;
    }),
  ).finally(() => metrics.flush());
  deps.log.info('warm-up done', { ...report });
  // One client's failure is logged and counted, not thrown: retrying the whole run would re-mint
  // every other client. warmUp throws only when the client list cannot be read,
  // and then EventBridge's retry is what we want.
  return { refreshed: report.refreshed.length, stillFresh: report.stillFresh.length, failed: report.failed.length };
}
