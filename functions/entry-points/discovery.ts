import { readConfig } from '../config.js';
import { discoveryRoutes } from '../routes/discovery.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { lambdaMetrics } from '../metrics.js';
import { buildDiscoveryDeps } from '../wiring.js';
import { awsSettings, awsTable } from './aws-sources.js';

/**
 * GET /.well-known/*: public metadata and keys; this function holds no secret: it is given the
 * table alone, so not even the Secrets Manager client is bundled.
 */
const { issuer, tableName } = readConfig(process.env, ['issuer', 'tableName']);
const deps = buildDiscoveryDeps(awsTable(tableName), awsSettings({}));

export const handler = lambdaHttpHandler(discoveryRoutes({ issuer, publicKeys: deps.liveKeys }), deps.log, lambdaMetrics('discovery'));
