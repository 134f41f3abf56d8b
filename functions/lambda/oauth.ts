import { readConfig } from '../config.js';
import { oauthRoutes } from '../handlers/oauth.js';
import { lambdaHttpHandler } from '../http/lambda.js';
import { awsDeps } from './aws-deps.js';

/** POST /oauth/token, /oauth/introspect, /oauth/revoke. */
const deps = awsDeps(
  readConfig(process.env, ['tableName', 'clientSecretsId', 'keysSecretId', 'serviceTokenReuseShare']),
);

export const handler = lambdaHttpHandler(oauthRoutes(deps), deps.log);
