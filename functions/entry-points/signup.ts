import { readConfig } from '../config.js';
import { lambdaHttpHandler } from '../http/lambda-adapter.js';
import { lambdaMetrics } from '../metrics.js';
import { signupRoutes } from '../routes/signup.js';
import { buildSignupDeps } from '../wiring.js';
import { awsMail, awsSettings, awsTable, secretsManagerSources } from './aws-sources.js';

/**
 * POST /customer/{tenant}/signup, GET /customer/{tenant}/signup/optin/{token} and
 * POST /customer/{tenant}/signup/optin/refresh_token (contract section 11): customers and pending
 * signups, the signing key for the saas_token (the link logs in), and the mailer.
 * Mail goes through SES v2 from the tenant's `mail.from` (awsMail); the stack lets this function
 * send from its `mailFromIdentity` only (lib/token-broker-stack.ts `grantSendMail`). Without an
 * identity SES refuses the send: 503, and the account stays resendable.
 */
const config = readConfig(process.env, ['tableName', 'signingKeysSecretId', 'issuer']);
const deps = buildSignupDeps(
  {
    table: awsTable(config.tableName),
    keys: secretsManagerSources({ signingKeysSecretId: config.signingKeysSecretId }),
    mail: awsMail(),
  },
  awsSettings({}),
);

export const handler = lambdaHttpHandler(signupRoutes(deps, { issuer: config.issuer }), deps.log, lambdaMetrics('signup'));
