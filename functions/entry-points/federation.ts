import { readConfig } from '../config.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { lambdaMetrics } from '../metrics.js';
import { federationRoutes } from '../routes/federation.js';
import { buildFederationDeps } from '../wiring.js';
import { awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/**
 * POST /customer/{tenant}/socialLogin and /exchangeauthtoken: the identity providers and their
 * client secrets, customers and their linked identities, the signing key for the saas_token; no
 * client secrets of the broker's own clients, no cache key.
 */
const config = readConfig(process.env, ['tableName', 'signingKeysSecretId', 'identityProviderSecretsId', 'issuer']);
const deps = buildFederationDeps(
  {
    table: awsTable(config.tableName),
    keys: secretsManagerSources({
      signingKeysSecretId: config.signingKeysSecretId,
      identityProviderSecretsId: config.identityProviderSecretsId,
    }),
  },
  awsSettings({}),
);

export const handler = lambdaHttpHandler(federationRoutes(deps, { issuer: config.issuer }), deps.log, lambdaMetrics('federation'));
