import { readConfig } from '../config.js';
import { storefrontRoutes } from '../handlers/storefront.js';
import { lambdaHttpHandler } from '../http/lambda.js';
import { awsStorefrontDeps } from './aws-deps.js';

/** The storefront (Emporix) paths: anonymous and customer tokens. */
const config = readConfig(process.env, ['tableName', 'signingKeysSecretId', 'issuer']);
const deps = awsStorefrontDeps(config);

export const handler = lambdaHttpHandler(storefrontRoutes(deps, { issuer: config.issuer }), deps.log);
