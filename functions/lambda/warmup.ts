import { readConfig } from '../config.js';
import { warmUp } from '../use-cases/service-tokens.js';
import { awsDeps } from './aws-deps.js';

/** Run by the EventBridge schedule: keeps the cached tokens of `warmup` clients fresh. */
const config = readConfig(process.env, [
  'tableName',
  'clientSecretsId',
  'keysSecretId',
  'serviceTokenReuseShare',
  'warmupIntervalSeconds',
]);
const deps = awsDeps(config);

export async function handler(): Promise<{ refreshed: number; stillFresh: number; failed: number }> {
  const report = await warmUp(deps, config.warmupIntervalSeconds);
  deps.log.info('warm-up done', { ...report });
  // A failed client is logged above; failing the invocation would only make EventBridge retry all.
  return { refreshed: report.refreshed.length, stillFresh: report.stillFresh.length, failed: report.failed.length };
}
