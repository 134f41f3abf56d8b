import { readConfig } from '../config.js';
import { storefrontRoutes } from '../routes/storefront.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { lambdaMetrics } from '../metrics.js';
import { buildStorefrontDeps } from '../wiring.js';
import { awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/** The storefront (Emporix) paths: anonymous and customer tokens; the signing key, no client secrets. */
const config = readConfig(process.env, ['tableName', 'signingKeysSecretId', 'issuer']);
const deps = buildStorefrontDeps(
  { table: awsTable(config.tableName), keys: secretsManagerSources({ signingKeysSecretId: config.signingKeysSecretId }) },
  awsSettings({}),
);

export const handler = lambdaHttpHandler(storefrontRoutes(deps, { issuer: config.issuer }), deps.log, lambdaMetrics('storefront'));
