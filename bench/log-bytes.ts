import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker } from '../functions/local/broker.js';
import { jsonLogger } from '../functions/log.js';
import { BENCH_CUSTOMER, benchSeed } from './bench-seed.js';
import { PEER_CLIENT } from './peer.js';

/**
 * CloudWatch Logs bytes per request per route (issue 14, item 3), measured: the lines a local
 * broker writes while serving each route of the cost model (bench/cost.ts `Route`), captured as
 * the Lambda functions write them to stdout, at the default application log level (INFO).
 *
 * What a line costs in AWS: the stack uses Lambda's JSON log format with the system log level at
 * WARN, so there are no START/END/REPORT lines, and the broker writes its lines straight to stdout
 * as JSON objects, which Lambda passes on unwrapped (a `console.log` line would be wrapped in the
 * runtime's own object, about doubling it). Bytes here are each line's UTF-8 bytes, without the
 * newline; API Gateway access logs are not part of them (off by default: the request line has
 * what they would). The metrics (EMF) line is not per request: one per function instance a
 * minute with traffic; `METRICS_LINE_BYTES` says how long one is.
 */

/** The routes measured: the cost model's keys. */
export const LOG_BYTES_ROUTES = [
  'service-token-cached',
  'service-token-minted',
  'introspection',
  'anonymous-login',
  'anonymous-refresh',
  'customer-login',
  'customer-refresh',
  'validate',
  'logout',
] as const;

export type LogBytesRoute = (typeof LOG_BYTES_ROUTES)[number];

/** Requests measured per route: an average, as ids and latencies vary a digit or two in length. */
const REQUESTS_PER_ROUTE = 20;

export async function measureLogBytes(): Promise<Record<LogBytesRoute, number>> {
  return (await measureLogLines()).bytesPerRequest;
}

/** The bytes per request per route, and the lines themselves (one sample per route, for the report). */
export async function measureLogLines(): Promise<{
  bytesPerRequest: Record<LogBytesRoute, number>;
  linesPerRequest: Record<LogBytesRoute, number>;
  samples: Record<LogBytesRoute, string[]>;
  metricsLine: string | undefined;
}> {
  const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-logbytes-'));
  writeFileSync(join(dataDir, 'seed.json'), JSON.stringify(benchSeed()));
  const lines: string[] = [];
  const broker = await startLocalBroker({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    seedFile: join(dataDir, 'seed.json'),
    log: jsonLogger((line) => lines.push(line), 'info'),
    // scrypt's cost changes no byte of the log; the lowest usable one keeps the run short.
    scrypt: { N: 2 ** 10, r: 8, p: 1 },
  });
  const url = broker.url;
  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
  const ok = async (response: Promise<Response>): Promise<Record<string, string>> => {
    const answered = await response;
    if (answered.status >= 300) throw new Error(`${answered.url}: ${answered.status} ${(await answered.text()).slice(0, 200)}`);
    return answered.status === 204 ? {} : ((await answered.json()) as Record<string, string>);
  };
  const credentials = { client_id: PEER_CLIENT.id, client_secret: PEER_CLIENT.secret };
  const serviceToken = () => ok(fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials })));
  const anonymousLogin = () => ok(fetch(`${url}/customerlogin/auth/anonymous/login?tenant=acme&client_id=storefront-web`));
  const customerLogin = (anonymous: Record<string, string>) =>
    ok(
      fetch(`${url}/customer/acme/login`, {
        method: 'POST',
        headers: { authorization: `Bearer ${anonymous.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify(BENCH_CUSTOMER),
      }),
    );
  const login = async () => customerLogin(await anonymousLogin());

  const bytesPerRequest = {} as Record<LogBytesRoute, number>;
  const linesPerRequest = {} as Record<LogBytesRoute, number>;
  const samples = {} as Record<LogBytesRoute, string[]>;
  /**
   * Runs `prepare` (not measured), then the request `measured` makes, `REQUESTS_PER_ROUTE`
   * times; counts the lines written during the measured requests only.
   */
  const measure = async <T>(route: LogBytesRoute, prepare: () => Promise<T>, measured: (prepared: T) => Promise<unknown>) => {
    let bytes = 0;
    let count = 0;
    for (let i = 0; i < REQUESTS_PER_ROUTE; i++) {
      const prepared = await prepare();
      const from = lines.length;
      await measured(prepared);
      const written = lines.slice(from).filter((line) => !line.includes('"_aws"'));
      bytes += written.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
      count += written.length;
      if (i === 0) samples[route] = written;
    }
    bytesPerRequest[route] = Math.round(bytes / REQUESTS_PER_ROUTE);
    linesPerRequest[route] = count / REQUESTS_PER_ROUTE;
  };
  try {
    // Warm every function and cache, as on running instances (and their first metrics lines).
    await serviceToken();
    await login();

    await measure('service-token-cached', async () => undefined, serviceToken);
    await measure(
      'service-token-minted',
      async () => {
        // A reuse share near zero: the cached token is never reused, each request mints.
        broker.deps.serviceTokenReuseShare = Number.MIN_VALUE;
      },
      serviceToken,
    );
    broker.deps.serviceTokenReuseShare = 0.5;
    await measure('introspection', serviceToken, (token) =>
      ok(fetch(`${url}/oauth/introspect`, form({ token: token.access_token!, ...credentials }))),
    );
    await measure('anonymous-login', async () => undefined, anonymousLogin);
    await measure('anonymous-refresh', anonymousLogin, (anonymous) =>
      ok(
        fetch(`${url}/customerlogin/auth/anonymous/refresh?tenant=acme&client_id=storefront-web&refresh_token=${anonymous.refresh_token}`),
      ),
    );
    await measure('customer-login', anonymousLogin, customerLogin);
    await measure('customer-refresh', login, (customer) =>
      ok(fetch(`${url}/customer/acme/refreshauthtoken?refreshToken=${customer.refresh_token}`)),
    );
    await measure('validate', login, (customer) =>
      ok(fetch(`${url}/customer/acme/validateauthtoken`, { headers: { authorization: `Bearer ${customer.access_token}` } })),
    );
    await measure('logout', login, (customer) => ok(fetch(`${url}/customer/acme/logout?accessToken=${customer.access_token}`)));
    const metricsLine = lines.find((line) => line.includes('"_aws"') && line.includes('"Service":"oauth"'));
    return { bytesPerRequest, linesPerRequest, samples, metricsLine };
  } finally {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The result as a markdown table, with a sample line per route. */
export function formatLogBytes(bytesPerRequest: Record<string, number>, samples: Partial<Record<string, string[]>> = {}): string[] {
  return [
    '| route | log bytes per request | sample line |',
    '|---|---:|---|',
    ...Object.entries(bytesPerRequest).map(
      ([route, bytes]) => `| ${route} | ${bytes} | ${(samples[route] ?? []).map((line) => `\`${line}\``).join('<br>')} |`,
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { bytesPerRequest, linesPerRequest, samples, metricsLine } = await measureLogLines();
  for (const line of formatLogBytes(bytesPerRequest, samples)) console.log(line);
  console.log('');
  console.log(`lines per request: ${JSON.stringify(linesPerRequest)}`);
  if (metricsLine) {
    console.log(`metrics (EMF) line, one per function instance a minute with traffic: ${Buffer.byteLength(metricsLine)} bytes`);
    console.log(metricsLine);
  }
  process.exit(0);
}
