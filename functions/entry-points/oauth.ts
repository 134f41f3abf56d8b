import { readConfig } from '../config.js';
import { oauthRoutes } from '../routes/oauth.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { lambdaMetrics } from '../metrics.js';
import { buildOAuthDeps } from '../wiring.js';
import { awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/** POST /oauth/token, /oauth/introspect, /oauth/revoke; signs the JWT access tokens (contract section 9). */
const config = readConfig(process.env, [
  'tableName',
  'clientSecretsId',
  'keysSecretId',
  'signingKeysSecretId',
  'serviceTokenReuseShare',
  'serviceTokenNearCacheSeconds',
  'issuer',
]);
const deps = buildOAuthDeps(
  {
    table: awsTable(config.tableName),
    keys: secretsManagerSources({
      clientSecretsId: config.clientSecretsId,
      keysSecretId: config.keysSecretId,
      signingKeysSecretId: config.signingKeysSecretId,
    }),
  },
  awsSettings(config),
  config.issuer,
);

export const handler = lambdaHttpHandler(oauthRoutes(deps), deps.log, lambdaMetrics('oauth'));
