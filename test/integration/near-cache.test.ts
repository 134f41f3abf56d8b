import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../functions/config.js';
import { lambdaHttpHandler } from '../../functions/http/lambda-adapter.js';
import { localSecretsSources } from '../../functions/local/broker.js';
import { createHttpBridge } from '../../functions/local/http-bridge.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import { jsonLogger } from '../../functions/log.js';
import { oauthRoutes } from '../../functions/routes/oauth.js';
import { buildDeps } from '../../functions/wiring.js';
import { basic, postForm, startTestBroker, TEST_SCRYPT, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';

/**
 * Issue 13's near cache across instances: two brokers on one store, as two warm Lambda instances
 * of the oauth function share one table. Instance A is local mode; instance B is the oauth
 * function's handlers built the same way over A's table and secrets file, behind its own HTTP
 * server, with its own in-process copy. Both run on the test's clock.
 */

let a: TestBroker;
const servers: Server[] = [];

/** Another instance of the oauth function over A's table and secrets, with its own near cache. */
async function startInstance(staleSeconds: number): Promise<string> {
  const log = jsonLogger(() => {});
  const deps = buildDeps(
    {
      table: { client: a.dynamoClient, tableName: 'token-broker' },
      keys: localSecretsSources(new LocalSecretsFile(join(a.dataDir, 'secrets.json'))),
    },
    {
      clock: a.clock.read,
      log,
      serviceTokenReuseShare: DEFAULTS.serviceTokenReuseShare,
      nearCache: { staleSeconds, nowMs: () => a.clock.now * 1000 },
      hold: DEFAULTS.localHold,
      passwordHashing: TEST_SCRYPT,
    },
    a.issuer,
  );
  const server = createHttpBridge({ oauth: lambdaHttpHandler(oauthRoutes(deps), log) }, lambdaHttpHandler({}, log), log);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  a = await startTestBroker();
});

afterAll(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await a.stop();
});

const reports = { authorization: basic('reports-svc', TEST_SECRETS.reports) };

async function tokenFrom(url: string): Promise<string> {
  const response = await postForm(`${url}/oauth/token`, { grant_type: 'client_credentials' }, reports);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function active(url: string, token: string): Promise<boolean> {
  const response = await postForm(`${url}/oauth/introspect`, { token }, reports);
  return ((await response.json()) as { active: boolean }).active;
}

describe('two instances on one store', () => {
  it('share the cached token, and a revocation on one reaches the other within the bound', async () => {
    const bUrl = await startInstance(DEFAULTS.serviceTokenNearCacheSeconds);
    const first = await tokenFrom(a.url);
    expect(await tokenFrom(bUrl)).toBe(first);

    // Revoked on B: B stops handing it out at once and mints anew.
    expect((await postForm(`${bUrl}/oauth/revoke`, { token: first }, reports)).status).toBe(200);
    const second = await tokenFrom(bUrl);
    expect(second).not.toBe(first);

    // A still holds its copy for at most the bound; the token it hands out is refused by
    // introspection, which always reads the table.
    a.clock.advance(DEFAULTS.serviceTokenNearCacheSeconds - 1);
    expect(await tokenFrom(a.url)).toBe(first);
    expect(await active(a.url, first)).toBe(false);

    // Past the bound, A reads the table again and serves B's new token.
    a.clock.advance(1);
    expect(await tokenFrom(a.url)).toBe(second);
    expect(await active(a.url, second)).toBe(true);
  });

  it('with the bound at 0, an instance honours a revocation elsewhere on its next request', async () => {
    const strictUrl = await startInstance(0);
    const first = await tokenFrom(strictUrl);
    expect(await tokenFrom(a.url)).toBe(first);
    expect((await postForm(`${a.url}/oauth/revoke`, { token: first }, reports)).status).toBe(200);
    expect(await tokenFrom(strictUrl)).not.toBe(first);
  });
});
