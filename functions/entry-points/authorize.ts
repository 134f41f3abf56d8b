import { readConfig } from '../config.js';
import { authorizeRoutes } from '../routes/authorize.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { lambdaMetrics } from '../metrics.js';
import { buildAuthorizeDeps } from '../wiring.js';
import { awsSettings, awsTable } from './aws-sources.js';

/** GET and POST /oauth/authorize: the authorization request and the sign-in page; no secret at all. */
const config = readConfig(process.env, ['tableName', 'issuer']);
const deps = buildAuthorizeDeps(awsTable(config.tableName), awsSettings({}));

export const handler = lambdaHttpHandler(authorizeRoutes(deps, { issuer: config.issuer }), deps.log, lambdaMetrics('authorize'));
