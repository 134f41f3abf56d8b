import { readConfig } from '../config.js';
import { discoveryRoutes } from '../handlers/discovery.js';
import { lambdaHttpHandler } from '../http/lambda.js';
import { jsonLogger } from '../log.js';
import { awsPublicKeys } from './aws-deps.js';

/** GET /.well-known/*: public metadata and keys; this function holds no secret. */
const { issuer, tableName } = readConfig(process.env, ['issuer', 'tableName']);

export const handler = lambdaHttpHandler(
  discoveryRoutes({ issuer, publicKeys: awsPublicKeys({ tableName }) }),
  jsonLogger(),
);
