/**
 * `npm start`: token-broker in local mode (shared/spec/operating.md).
 *   PORT (3000), HOST (127.0.0.1), DATA_DIR (.data) (functions/config.ts DEFAULTS.local), SEED_FILE (the demo seed beside this file),
 *   ISSUER (http://HOST:PORT, with the bound port when PORT=0).
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, positiveInteger } from '../functions/config.js';
import { startLocalBroker } from '../functions/local/broker.js';
import { ServiceUnavailable } from '../functions/domain/errors.js';
import { SeedError } from '../functions/seed/schema.js';
import { pkceChallenge } from '../functions/domain/authorization.js';
import { ConfigError } from '../functions/config.js';
import { StoreError } from '../functions/local/embedded-dynamodb.js';

// The SDK warns that its 2027 releases need Node 22; Lambda runs 22, local mode may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const demoSeed = fileURLToPath(new URL('./demo-seed.json', import.meta.url));
const seedFile = process.env.SEED_FILE || demoSeed;

try {
  let stopping = false;
  const broker = await startLocalBroker({
    port: process.env.PORT === '0' ? 0 : positiveInteger(process.env, 'PORT', DEFAULTS.local.port),
    host: process.env.HOST || DEFAULTS.local.host,
    dataDir: process.env.DATA_DIR || DEFAULTS.local.dataDir,
    seedFile,
    ...(process.env.ISSUER ? { issuer: process.env.ISSUER } : {}),
    // dynalite runs in a process of its own; if it dies, every token request would answer 503
    // until someone noticed: stop instead, saying why (the data under DATA_DIR is kept).
    onStoreLost: (error) => {
      if (stopping) return;
      stopping = true;
      console.error(`token-broker stopped: ${error.message}; start it again (the data in DATA_DIR is kept)`);
      process.exit(1);
    },
  });
  printWelcome(broker.url, broker.issuer, broker.seed, seedFile === demoSeed, broker.outbox);
  if (broker.issuer !== broker.url) console.error(`\nIssuer (metadata and saas_token iss): ${broker.issuer}`);
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void broker.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  console.error(`token-broker did not start: ${explain(error)}`);
  process.exit(1);
}

function printWelcome(
  url: string,
  issuer: string,
  seed: Awaited<ReturnType<typeof startLocalBroker>>['seed'],
  isDemo: boolean,
  outbox: string,
): void {
  const lines = [
    `token-broker listening on ${url}  (health: ${url}/health)`,
    `Mail (signup confirmation links) is written to ${resolve(outbox)}/, one .eml file per message`,
  ];
  for (const [tenant, spec] of Object.entries(seed.tenants)) {
    for (const [clientId, client] of Object.entries(spec.serviceClients)) {
      // Only the shipped demo seed's secrets are printed: they are public already.
      const secret = isDemo ? client.secret : '<secret from your seed file>';
      lines.push(
        '',
        `Service token for ${clientId} (tenant ${tenant}, scopes: ${client.scopes.join(' ')}):`,
        `  curl -s -X POST ${url}/oauth/token -d grant_type=client_credentials -d client_id=${clientId} -d client_secret=${secret}`,
      );
    }
  }
  for (const [tenant, spec] of Object.entries(seed.tenants)) {
    for (const [clientId, client] of Object.entries(spec.appClients)) {
      // A PKCE pair made for this banner, so the flow can be tried by copying two lines (RFC 7636).
      const verifier = randomBytes(32).toString('base64url');
      const redirectUri = client.redirectUris[0]!;
      const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri });
      if (client.scopes.length > 0) query.set('scope', client.scopes.join(' '));
      query.set('state', 'demo');
      query.set('code_challenge', pkceChallenge(verifier));
      query.set('code_challenge_method', 'S256');
      // As with the client secrets above, only the shipped demo seed's password is printed.
      const customer = isDemo && spec.customers[0] ? `, as ${spec.customers[0].email} / ${spec.customers[0].password}` : '';
      const secret = client.type === 'confidential' ? ` -d client_secret=${isDemo ? client.secret : '<secret from your seed file>'}` : '';
      lines.push(
        '',
        `Customer sign-in through ${client.type} app client ${clientId} (tenant ${tenant}${customer}): open in a browser`,
        `  ${issuer}/oauth/authorize?${query}`,
        `then take the code from the address it redirects to (${redirectUri}…) and redeem it within 60 s:`,
        `  curl -s -X POST ${url}/oauth/token -d grant_type=authorization_code -d client_id=${clientId}${secret} \\`,
        `    --data-urlencode redirect_uri=${redirectUri} -d code_verifier=${verifier} -d code=<code>`,
      );
    }
  }
  console.error(lines.join('\n'));
}

function explain(error: unknown): string {
  if (error instanceof SeedError || error instanceof StoreError || error instanceof ConfigError) return error.message;
  if (error instanceof ServiceUnavailable) return `${error.message}: ${explain(error.cause)}`;
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') return 'the port is in use (set PORT to another one)';
  if (code === 'LEVEL_DATABASE_NOT_OPEN' || /lock/i.test(String((error as Error).message))) {
    return 'DATA_DIR is in use by another token-broker process';
  }
  return error instanceof Error ? error.message : String(error);
}
