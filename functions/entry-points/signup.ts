import { readConfig } from '../config.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { signupRoutes } from '../routes/signup.js';
import { buildSignupDeps } from '../wiring.js';
import { awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/**
 * POST /customer/{tenant}/signup, GET /customer/{tenant}/signup/optin/{token} and
 * POST /customer/{tenant}/signup/optin/refresh_token (contract section 11): customers and pending
 * signups, the signing key for the saas_token (the link logs in), and the mailer.
 *
 * SEAM (issue 12, M1): the SES v2 mailer is not wired here yet; until `mailerPart` has an SES
 * source (and the stack grants send-from-identity), every send answers 503 and the account stays
 * resendable.
 */
const config = readConfig(process.env, ['tableName', 'signingKeysSecretId', 'issuer']);
const deps = buildSignupDeps(
  { table: awsTable(config.tableName), keys: secretsManagerSources({ signingKeysSecretId: config.signingKeysSecretId }) },
  awsSettings({}),
);

export const handler = lambdaHttpHandler(signupRoutes(deps, { issuer: config.issuer }), deps.log);
