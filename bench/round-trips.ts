import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InitializeMiddleware } from '@smithy/types';
import { DEFAULTS } from '../functions/config.js';
import { pkceChallenge } from '../functions/domain/authorization.js';
import { lambdaHttpHandler } from '../functions/http/lambda-adapter.js';
import { type LocalBroker, localSecretsSources, startLocalBroker } from '../functions/local/broker.js';
import { createHttpBridge } from '../functions/local/http-bridge.js';
import { LocalSecretsFile } from '../functions/local/secrets-file.js';
import { silentLogger } from '../functions/log.js';
import { systemClock } from '../functions/ports.js';
import { oauthRoutes } from '../functions/routes/oauth.js';
import { buildDeps } from '../functions/wiring.js';
import { BENCH_APPS, BENCH_CUSTOMER, BENCH_JWT_SERVICE, benchSeed } from './bench-seed.js';
import { PEER_CLIENT } from './peer.js';
import type { RoundTripRow } from './results-types.js';

/**
 * What each row's route key means, as the results table shows it. The keys are the cost model's
 * (bench/cost.ts `Route`) where it has one, so they stay as they are; a row without a label fails
 * the run rather than showing up unreadable.
 */
export const ROUTE_LABELS: Record<string, string> = {
  'service-token-minted': 'client_credentials, cache miss (minted), warm instance',
  'service-token-cached': 'client_credentials, cache hit, warm instance (near cache)',
  'service-token-cached-cold': 'client_credentials, cache hit, cold instance',
  introspection: 'introspection of a service token',
  'anonymous-login': 'anonymous login',
  'anonymous-refresh': 'anonymous refresh',
  'customer-login': 'customer login',
  'customer-login-after-failure': 'customer login after a failed one',
  'customer-refresh': 'customer refresh',
  validate: 'validate',
  logout: 'logout',
  'service-token-jwt-minted': 'client_credentials, JWT client, cache miss (minted), warm instance',
  'service-token-jwt-cached': 'client_credentials, JWT client, cache hit, warm instance (near cache)',
  'authorize-page': '`GET /oauth/authorize` (a valid request: the sign-in page)',
  'authorize-sign-in': '`POST /oauth/authorize`, sign-in (303 with a code)',
  'authorize-wrong-password': '`POST /oauth/authorize`, wrong password (the page again)',
  'authorization-code': 'authorization_code, public app client, opaque tokens',
  'authorization-code-jwt': 'authorization_code, public app client, JWT access token',
  'grant-refresh': 'refresh_token grant, opaque app client',
  'grant-refresh-jwt': 'refresh_token grant, JWT app client',
  'grant-introspection': "introspection of a grant's access token",
};

/**
 * DynamoDB calls per request per route, counted by an SDK middleware on local mode's client
 * (dynalite), on warm caches as a running function would have them.
 */
export async function measureRoundTrips(): Promise<RoundTripRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-rt-'));
  writeFileSync(join(dataDir, 'seed.json'), JSON.stringify(benchSeed()));
  // The near cache at its default bound, on a clock that stands still: what it holds stays fresh
  // however long the scrypt-bound rows take, so a warm row never depends on the machine's speed.
  const nearCacheNowMs = Date.now();
  const broker = await startLocalBroker({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    seedFile: join(dataDir, 'seed.json'),
    log: silentLogger,
    nearCacheSeconds: DEFAULTS.serviceTokenNearCacheSeconds,
    clockMs: () => nearCacheNowMs,
  });
  const cold = await startOAuthInstance(broker, dataDir);
  let calls: string[] = [];
  const count: InitializeMiddleware<any, any> = (next, context) => (args) => {
    calls.push((context.commandName as string).replace(/Command$/, ''));
    return next(args);
  };
  broker.dynamoClient!.middlewareStack.add(count, { step: 'initialize', name: 'countRoundTrips' });
  const url = broker.url;
  const json = async (response: Promise<Response>) => (await response).json() as Promise<Record<string, string>>;
  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
  const credentials = { client_id: PEER_CLIENT.id, client_secret: PEER_CLIENT.secret };
  const anonymousLogin = () => json(fetch(`${url}/customerlogin/auth/anonymous/login?tenant=acme&client_id=storefront-web`));
  const login = (bearer: string, password = BENCH_CUSTOMER.password) =>
    json(
      fetch(`${url}/customer/acme/login`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...BENCH_CUSTOMER, password }),
      }),
    );

  /** A row of a failed request would count the wrong path: every measured new route checks its answer. */
  const expectStatus = async (status: number, response: Promise<Response>): Promise<Response> => {
    const answered = await response;
    if (answered.status !== status) {
      throw new Error(`${answered.url || 'request'}: expected ${status}, got ${answered.status}: ${(await answered.text()).slice(0, 300)}`);
    }
    return answered;
  };
  const ok = async (response: Promise<Response>) => (await expectStatus(200, response)).json() as Promise<Record<string, any>>;

  // The code flow (contract section 8) as a browser drives it: GET the page (the hidden request
  // token and the `tb_csrf` cookie), POST the form back (303 to the redirect URI with the code),
  // then the app redeems the code with its PKCE verifier (RFC 7636).
  type App = (typeof BENCH_APPS)[keyof typeof BENCH_APPS];
  const startAuthorization = async (app: App) => {
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: app.clientId,
      redirect_uri: app.redirectUri,
      scope: app.scopes.join(' '),
      state: randomBytes(8).toString('base64url'),
      code_challenge: pkceChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const page = await expectStatus(200, fetch(`${url}/oauth/authorize?${query}`, { redirect: 'manual' }));
    const html = await page.text();
    const request = /name="request" value="([^"]*)"/.exec(html)?.[1];
    const cookie = page.headers
      .getSetCookie()
      .find((c) => c.startsWith('tb_csrf='))
      ?.split(';')[0];
    if (!request || !cookie) throw new Error('the sign-in page has no request token or no tb_csrf cookie');
    return { app, verifier, request, cookie };
  };
  type Started = Awaited<ReturnType<typeof startAuthorization>>;
  const postSignIn = (started: Started, password: string) =>
    fetch(`${url}/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: started.cookie },
      body: new URLSearchParams({ request: started.request, email: BENCH_CUSTOMER.email, password }).toString(),
    });
  const signIn = async (started: Started) => {
    const posted = await expectStatus(303, postSignIn(started, BENCH_CUSTOMER.password));
    const code = new URL(posted.headers.get('location') ?? '', url).searchParams.get('code');
    if (!code) throw new Error(`the sign-in redirected without a code: ${posted.headers.get('location')}`);
    return { ...started, code };
  };
  const redeem = (signedIn: Started & { code: string }) =>
    ok(
      fetch(
        `${url}/oauth/token`,
        form({
          grant_type: 'authorization_code',
          client_id: signedIn.app.clientId,
          code: signedIn.code,
          redirect_uri: signedIn.app.redirectUri,
          code_verifier: signedIn.verifier,
        }),
      ),
    );
  const refreshGrant = (app: App, refreshToken: string) =>
    ok(fetch(`${url}/oauth/token`, form({ grant_type: 'refresh_token', client_id: app.clientId, refresh_token: refreshToken })));
  const jwtCredentials = { client_id: BENCH_JWT_SERVICE.id, client_secret: BENCH_JWT_SERVICE.secret };
  const jwtServiceToken = () =>
    ok(fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...jwtCredentials, scope: BENCH_JWT_SERVICE.scope })));

  const rows: RoundTripRow[] = [];
  const measure = async <T>(route: string, request: () => Promise<T>): Promise<T> => {
    const label = ROUTE_LABELS[route];
    if (!label) throw new Error(`round-trip row "${route}" has no label in ROUTE_LABELS`);
    calls = [];
    const result = await request();
    const sorted = [...calls].sort();
    rows.push({
      route,
      label,
      reads: sorted.filter((c) => /^(Get|BatchGet|Query|Scan)/.test(c)).length,
      writes: sorted.filter((c) => /^(Put|Update|Delete)/.test(c)).length,
      calls: sorted,
    });
    return result;
  };
  try {
    // Warm the in-memory directory, secrets and keys, as on a running function.
    const warm = await anonymousLogin();
    await login(warm.access_token!);
    await fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials }));
    // And the app clients, the JWT service client and the signing key: one whole code flow each.
    await jwtServiceToken();
    for (const app of [BENCH_APPS.opaque, BENCH_APPS.jwt]) {
      const tokens = await redeem(await signIn(await startAuthorization(app)));
      await refreshGrant(app, tokens.refresh_token);
    }

    // The warm-up above cached the token; a share near zero makes the next request mint.
    broker.deps.serviceTokenReuseShare = Number.MIN_VALUE;
    await measure('service-token-minted', () =>
      fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials, scope: PEER_CLIENT.scope })),
    );
    broker.deps.serviceTokenReuseShare = 0.5;
    const serviceToken = () =>
      json(fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials, scope: PEER_CLIENT.scope })));
    // The mint above left its entry in this instance's near cache: a warm instance reads nothing.
    const token = await measure('service-token-cached', serviceToken);
    // A second oauth instance on the same table, as a newly started Lambda instance beside the
    // first: its directory and secrets warmed by a token request the scope check refuses before
    // any cache is read, its near cache empty. Its first client_credentials reads the shared item.
    await expectStatus(
      400,
      fetch(`${cold.url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials, scope: 'not.granted' })),
    );
    const coldToken = await measure('service-token-cached-cold', () =>
      json(fetch(`${cold.url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials, scope: PEER_CLIENT.scope }))),
    );
    if (coldToken.access_token !== token.access_token) throw new Error('the cold instance did not serve the cached token');
    await measure('introspection', () => fetch(`${url}/oauth/introspect`, form({ token: token.access_token!, ...credentials })));
    const anonymous = await measure('anonymous-login', anonymousLogin);
    await measure('anonymous-refresh', () =>
      fetch(`${url}/customerlogin/auth/anonymous/refresh?tenant=acme&client_id=storefront-web&refresh_token=${anonymous.refresh_token}`),
    );
    const customer = await measure('customer-login', () => login(anonymous.access_token!));
    await measure('customer-login-after-failure', async () => {
      await login(anonymous.access_token!, 'wrong-password');
      calls = [];
      return login(anonymous.access_token!);
    });
    const refreshed = await measure('customer-refresh', () =>
      json(fetch(`${url}/customer/acme/refreshauthtoken?refreshToken=${customer.refresh_token}`)),
    );
    await measure('validate', () =>
      fetch(`${url}/customer/acme/validateauthtoken`, { headers: { authorization: `Bearer ${refreshed.access_token}` } }),
    );
    await measure('logout', () => fetch(`${url}/customer/acme/logout?accessToken=${refreshed.access_token}`));

    // Issue 10: JWT service tokens and the code flow, after every row above so theirs stay as they were.
    broker.deps.serviceTokenReuseShare = Number.MIN_VALUE;
    await measure('service-token-jwt-minted', jwtServiceToken);
    broker.deps.serviceTokenReuseShare = 0.5;
    await measure('service-token-jwt-cached', jwtServiceToken);

    const started = await measure('authorize-page', () => startAuthorization(BENCH_APPS.opaque));
    const signedIn = await measure('authorize-sign-in', () => signIn(started));
    const granted = await measure('authorization-code', () => redeem(signedIn));
    const rotated = await measure('grant-refresh', () => refreshGrant(BENCH_APPS.opaque, granted.refresh_token));
    await measure('grant-introspection', async () => {
      const body = await ok(fetch(`${url}/oauth/introspect`, form({ token: rotated.access_token, ...credentials })));
      if (body.active !== true) throw new Error("a grant's access token introspected inactive");
      return body;
    });
    const jwtSignedIn = await signIn(await startAuthorization(BENCH_APPS.jwt));
    const jwtGranted = await measure('authorization-code-jwt', () => redeem(jwtSignedIn));
    await measure('grant-refresh-jwt', () => refreshGrant(BENCH_APPS.jwt, jwtGranted.refresh_token));
    // Last: the failed attempt is counted against the customer, and nothing after it signs in.
    const again = await startAuthorization(BENCH_APPS.opaque);
    await measure('authorize-wrong-password', async () => {
      const page = await expectStatus(200, postSignIn(again, 'wrong-password'));
      await page.arrayBuffer();
    });
    return rows;
  } finally {
    await cold.close();
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Another instance of the oauth function over `broker`'s table and secrets file, with its own
 * caches and near cache, behind its own HTTP server (as test/integration/near-cache.test.ts
 * builds one). It uses the broker's DynamoDB client, so the counting middleware sees its calls.
 */
async function startOAuthInstance(broker: LocalBroker, dataDir: string): Promise<{ url: string; close(): Promise<void> }> {
  if (!broker.dynamoClient) throw new Error('round trips are counted on dynalite');
  const deps = buildDeps(
    {
      table: { client: broker.dynamoClient, tableName: 'token-broker' },
      keys: localSecretsSources(new LocalSecretsFile(join(dataDir, 'secrets.json'))),
    },
    {
      clock: systemClock,
      log: silentLogger,
      serviceTokenReuseShare: DEFAULTS.serviceTokenReuseShare,
      nearCache: { staleSeconds: DEFAULTS.serviceTokenNearCacheSeconds },
      hold: DEFAULTS.localHold,
    },
    broker.issuer,
  );
  const server = createHttpBridge(
    { oauth: lambdaHttpHandler(oauthRoutes(deps), silentLogger) },
    lambdaHttpHandler({}, silentLogger),
    silentLogger,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function formatRoundTrips(rows: readonly RoundTripRow[]): string[] {
  return [
    '| route | reads | writes | DynamoDB calls |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.label ?? r.route} | ${r.reads} | ${r.writes} | ${r.calls.join(', ') || 'none'} |`),
  ];
}
