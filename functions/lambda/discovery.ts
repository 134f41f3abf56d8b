import { readConfig } from '../config.js';
import { discoveryRoutes } from '../handlers/discovery.js';
import { lambdaHttpHandler } from '../http/lambda.js';
import { jsonLogger } from '../log.js';

/** GET /.well-known/*: public metadata; this function holds no secret and no table access. */
const { issuer } = readConfig(process.env, ['issuer']);

export const handler = lambdaHttpHandler(discoveryRoutes(issuer ? { issuer } : {}), jsonLogger());
