import { readConfig } from '../config.js';
import { oauthRoutes } from '../routes/oauth.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { buildOAuthDeps } from '../wiring.js';
import { awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/** POST /oauth/token, /oauth/introspect, /oauth/revoke. */
const config = readConfig(process.env, ['tableName', 'clientSecretsId', 'keysSecretId', 'serviceTokenReuseShare']);
const deps = buildOAuthDeps(
  {
    table: awsTable(config.tableName),
    keys: secretsManagerSources({ clientSecretsId: config.clientSecretsId, keysSecretId: config.keysSecretId }),
  },
  awsSettings(config),
);

export const handler = lambdaHttpHandler(oauthRoutes(deps), deps.log);
