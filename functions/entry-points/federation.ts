import { readConfig } from '../config.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { federationRoutes } from '../routes/federation.js';
import { buildFederationDeps } from '../wiring.js';
import { awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/**
 * POST /customer/{tenant}/socialLogin and /exchangeauthtoken: the identity providers (their
 * secrets), customers and their linked identities, the signing key for the saas_token; no client
 * secrets, no cache key.
 * SEAM (issue 11): the provider secrets' id joins `secretsManagerSources` once helper F1's
 * `IdentityProviderSecrets` source is on main.
 */
const config = readConfig(process.env, ['tableName', 'signingKeysSecretId', 'issuer']);
const deps = buildFederationDeps(
  { table: awsTable(config.tableName), keys: secretsManagerSources({ signingKeysSecretId: config.signingKeysSecretId }) },
  awsSettings({}),
);

export const handler = lambdaHttpHandler(federationRoutes(deps, { issuer: config.issuer }), deps.log);
