import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { STORE_ENTRY } from '../functions/local/embedded-dynamodb.js';
import { BENCH_CUSTOMER } from './bench-seed.js';
import { PEER_CLIENT } from './peer.js';
import { BROKER_ADDS, LAYERS } from './layers.js';
import type { LayerRow, LoadStats, ThroughputRow } from './results-types.js';

/**
 * token-broker against node-oidc-provider, side by side on loopback, loaded alternately by
 * autocannon at the same connection count. Each server runs in its own process; the numbers
 * of each scenario are the median of `rounds` alternating runs.
 */

export interface ThroughputOptions {
  durationSeconds: number;
  connections: number;
  rounds: number;
  /** Only these stores' rows (default both); `BENCH_ONLY=dynalite` sets it from the environment. */
  stores?: readonly ThroughputRow['store'][];
}

/**
 * The ratios the issues ask the broker to reach against the peer, per store. Memory (issue 4):
 * the fair comparison, the broker's own code against the peer's memory adapter. dynalite (issue
 * 13 item 3): what `npm start` runs, every token persisted through the real DynamoDB API.
 */
const TARGETS: Record<ThroughputRow['store'], Record<string, number>> = {
  memory: {
    'service token, cache bypassed': 1.5,
    'service token, cached': 3,
    introspection: 1.5,
  },
  dynalite: {
    'service token, cached': 3,
    introspection: 0.5,
    'anonymous login': 0.5,
  },
};

/** The stores `BENCH_ONLY` (a comma-separated list: memory, dynalite) selects; both when unset. */
export function storesFromEnvironment(value = process.env.BENCH_ONLY): ThroughputRow['store'][] {
  const all: ThroughputRow['store'][] = ['memory', 'dynalite'];
  if (!value) return all;
  const chosen = value.split(',').map((s) => s.trim());
  const unknown = chosen.filter((s) => !all.includes(s as ThroughputRow['store']));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY names no store: ${unknown.join(', ')} (memory, dynalite)`);
  return all.filter((s) => chosen.includes(s));
}

/**
 * The servers run from an esbuild bundle of bench/serve.ts, compiled as the Lambda functions are
 * (no tsx loader, no keep-names wrappers on every closure); packages stay external, so the peer's
 * code runs exactly as published.
 */
const bundles = new Map<string, Promise<string>>();
/**
 * Builds bench/serve.ts once per output name (bench/jwt-verify.ts builds its own, so the two benches
 * can build side by side) and puts the embedded store's entry beside it.
 */
export function serverBundle(name = 'serve.mjs'): Promise<string> {
  let bundled = bundles.get(name);
  if (!bundled) {
    bundled = (async () => {
      // Inside the project, so the bundle resolves the external packages from node_modules.
      const outfile = fileURLToPath(new URL(`./.build/${name}`, import.meta.url));
      await build({
        entryPoints: [fileURLToPath(new URL('./serve.ts', import.meta.url))],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'error',
      });
      // The broker starts dynalite from this plain module beside itself (functions/local/embedded-dynamodb.ts).
      copyFileSync(STORE_ENTRY, join(dirname(outfile), basename(STORE_ENTRY)));
      return outfile;
    })();
    bundles.set(name, bundled);
  }
  return bundled;
}

class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(...args: string[]): Promise<ServerProcess> {
    const child = fork(await serverBundle(), args, {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (message: { type: string; url: string }) => resolve(message.url));
      child.once('exit', (code) => reject(new Error(`server ${args.join(' ')} exited with ${code}`)));
    });
    return new ServerProcess(child, url);
  }

  private ask<T>(message: object): Promise<T> {
    return new Promise((resolve) => {
      this.child.once('message', (reply: T) => resolve(reply));
      this.child.send(message);
    });
  }

  /**
   * CPU time so far of the server process, and separately of its store process (a broker on
   * dynalite runs the store in a child process of its own, whose CPU is not the broker's).
   */
  cpu(): Promise<{ micros: number; storeMicros?: number }> {
    return this.ask<{ micros: number; storeMicros?: number }>({ type: 'cpu' });
  }

  async setReuseShare(value: number): Promise<void> {
    await this.ask({ type: 'reuseShare', value });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' });
    });
  }
}

type Load = Omit<autocannon.Options, 'url'> & { path?: string };

/**
 * A run's numbers. `cpuMsPerRequest` is the server process's own CPU: for a broker on dynalite
 * that is the handlers and the DynamoDB client (the real SDK path the cost model prices), not
 * dynalite, which runs in its own child process and is reported apart as `storeCpuMsPerRequest`.
 */
export type ServerLoadStats = LoadStats & { storeCpuMsPerRequest?: number };

async function load(server: ServerProcess, spec: Load, options: ThroughputOptions): Promise<ServerLoadStats> {
  const { path = '/', ...rest } = spec;
  const cpuBefore = await server.cpu();
  // A run sized by `amount` must not also carry a duration.
  const size = rest.amount !== undefined ? {} : { duration: options.durationSeconds };
  const result = await autocannon({
    url: `${server.url}${path}`,
    connections: options.connections,
    ...size,
    ...rest,
  });
  const cpuAfter = await server.cpu();
  const cpuMicros = cpuAfter.micros - cpuBefore.micros;
  const requests = result.requests.total;
  const perRequest = (micros: number) => (requests > 0 ? Number((micros / 1000 / requests).toFixed(3)) : 0);
  const store =
    cpuAfter.storeMicros !== undefined && cpuBefore.storeMicros !== undefined
      ? { storeCpuMsPerRequest: perRequest(cpuAfter.storeMicros - cpuBefore.storeMicros) }
      : {};
  return {
    requestsPerSecond: Math.round(requests / (result.duration || options.durationSeconds)),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests,
    non2xx: result.non2xx + result.errors + result.timeouts,
    cpuMsPerRequest: perRequest(cpuMicros),
    ...store,
  };
}

function median(runs: LoadStats[]): LoadStats {
  return [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)]!;
}

const form = (fields: Record<string, string>) => ({
  method: 'POST' as const,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

const clientCredentials = {
  grant_type: 'client_credentials',
  client_id: PEER_CLIENT.id,
  client_secret: PEER_CLIENT.secret,
  scope: PEER_CLIENT.scope,
};
/** The broker's service-token request; its first answer fills the cache the cached runs read. */
const brokerTokenRequest = { path: '/oauth/token', ...form(clientCredentials) };

async function tokenFrom(url: string): Promise<string> {
  const response = await fetch(url, form(clientCredentials));
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Runs broker and peer alternately, `rounds` times each, and keeps the median of each side. */
async function compare(
  scenario: string,
  store: ThroughputRow['store'],
  broker: { server: ServerProcess; spec: Load },
  peer: { server: ServerProcess; spec: Load } | undefined,
  options: ThroughputOptions,
): Promise<ThroughputRow> {
  const brokerRuns: LoadStats[] = [];
  const peerRuns: LoadStats[] = [];
  // One unmeasured second each, so neither side is measured on a cold JIT. Runs sized by
  // `amount` (each request consumes a token) get none: warming would spend their pool.
  if (broker.spec.amount === undefined) {
    await load(broker.server, broker.spec, { ...options, durationSeconds: 1 });
    if (peer) await load(peer.server, peer.spec, { ...options, durationSeconds: 1 });
  }
  for (let round = 0; round < options.rounds; round++) {
    brokerRuns.push(await load(broker.server, broker.spec, options));
    if (peer) peerRuns.push(await load(peer.server, peer.spec, options));
  }
  const row: ThroughputRow = { scenario, store, broker: median(brokerRuns) };
  if (peer) {
    row.peer = median(peerRuns);
    row.ratio = Number((row.broker.requestsPerSecond / row.peer.requestsPerSecond).toFixed(2));
  }
  const target = TARGETS[store][scenario];
  if (target !== undefined && peer) row.target = target;
  return row;
}

export async function measureThroughput(options: ThroughputOptions, log: (line: string) => void = () => {}): Promise<ThroughputRow[]> {
  const peer = await ServerProcess.start('peer');
  const rows: ThroughputRow[] = [];
  try {
    for (const store of options.stores ?? storesFromEnvironment()) {
      const broker = await ServerProcess.start('broker', store);
      try {
        rows.push(...(await storeScenarios(broker, peer, store, options, log)));
      } finally {
        await broker.stop();
      }
    }
  } finally {
    await peer.stop();
  }
  return rows;
}

/**
 * The cached-token request against each layer under the broker (bench/layers.ts) and against
 * the broker on its memory store, alternately, median of rounds: the CPU each layer adds.
 */
export async function measureLayers(options: ThroughputOptions, log: (line: string) => void = () => {}): Promise<LayerRow[]> {
  const servers: { layer: string; adds: string; server: ServerProcess; runs: LoadStats[] }[] = [];
  try {
    for (const [layer, adds] of Object.entries(LAYERS)) {
      servers.push({ layer, adds, server: await ServerProcess.start('layer', layer), runs: [] });
    }
    const broker = await ServerProcess.start('broker', 'memory');
    servers.push({ layer: 'broker', adds: BROKER_ADDS, server: broker, runs: [] });
    await fetch(`${broker.url}/oauth/token`, form(clientCredentials));
    for (const { server } of servers) await load(server, brokerTokenRequest, { ...options, durationSeconds: 1 });
    for (let round = 0; round < options.rounds; round++) {
      for (const entry of servers) entry.runs.push(await load(entry.server, brokerTokenRequest, options));
    }
  } finally {
    await Promise.all(servers.map(({ server }) => server.stop()));
  }
  return servers.map(({ layer, adds, runs }) => {
    const stats = median(runs);
    log(`layer    ${layer.padEnd(30)} ${stats.requestsPerSecond} req/s, ${stats.cpuMsPerRequest} CPU ms/req`);
    return { layer, adds, stats };
  });
}

async function storeScenarios(
  broker: ServerProcess,
  peer: ServerProcess,
  store: ThroughputRow['store'],
  options: ThroughputOptions,
  log: (line: string) => void,
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  const storeCpu = ({ storeCpuMsPerRequest }: ServerLoadStats) =>
    storeCpuMsPerRequest === undefined ? '' : ` (+ ${storeCpuMsPerRequest} in the store process)`;
  const record = (row: ThroughputRow) => {
    rows.push(row);
    log(
      `${store.padEnd(8)} ${row.scenario.padEnd(30)} broker ${row.broker.requestsPerSecond} req/s ${row.broker.cpuMsPerRequest} CPU ms/req` +
        storeCpu(row.broker) +
        (row.peer ? `, peer ${row.peer.requestsPerSecond} req/s ${row.peer.cpuMsPerRequest} CPU ms/req, ratio ${row.ratio}` : '') +
        (row.target === undefined ? '' : ` (target ≥ ${row.target})`),
    );
  };
  const peerTokenRequest = { path: '/token', ...form(clientCredentials) };

  // Scenarios that write nothing run first: the memory store keeps every token it mints (the
  // peer's memory adapter is an LRU of 1000), and a grown heap would tax the later runs' GC.
  await fetch(`${broker.url}/oauth/token`, form(clientCredentials));
  // The peer has no cache: minting is all it does, which is the point of the comparison.
  record(
    await compare(
      'service token, cached',
      store,
      { server: broker, spec: brokerTokenRequest },
      { server: peer, spec: peerTokenRequest },
      options,
    ),
  );

  const credentials = { client_id: PEER_CLIENT.id, client_secret: PEER_CLIENT.secret };
  const brokerToken = await tokenFrom(`${broker.url}/oauth/token`);
  const peerToken = await tokenFrom(`${peer.url}/token`);
  record(
    await compare(
      'introspection',
      store,
      { server: broker, spec: { path: '/oauth/introspect', ...form({ token: brokerToken, ...credentials }) } },
      { server: peer, spec: { path: '/token/introspection', ...form({ token: peerToken, ...credentials }) } },
      options,
    ),
  );

  // A share near zero: every call is past its reuse point, so every call mints.
  await broker.setReuseShare(Number.MIN_VALUE);
  record(
    await compare(
      'service token, cache bypassed',
      store,
      { server: broker, spec: brokerTokenRequest },
      { server: peer, spec: peerTokenRequest },
      options,
    ),
  );
  await broker.setReuseShare(0.5);

  // The peer has no anonymous login: it is compared with the peer's cheapest token-issuing
  // request, a client-credentials token (minted and kept in its memory adapter), as issue 13
  // does. Its responses fill the pool the refresh run uses.
  const refreshTokens: string[] = [];
  const loginPath = '/customerlogin/auth/anonymous/login?tenant=acme&client_id=storefront-web';
  const anonymousLogin: Load = {
    requests: [
      {
        method: 'GET',
        path: loginPath,
        onResponse: (status: number, body: string) => {
          if (status === 200) refreshTokens.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
        },
      },
    ],
  };
  record(
    await compare(
      'anonymous login',
      store,
      { server: broker, spec: { path: loginPath, ...anonymousLogin } },
      { server: peer, spec: peerTokenRequest },
      options,
    ),
  );

  // Each refresh consumes one token, so the run is sized by the pool, not by time.
  let next = 0;
  const refresh: Load = {
    amount: refreshTokens.length,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({
          ...request,
          path: `/customerlogin/auth/anonymous/refresh?tenant=acme&client_id=storefront-web&refresh_token=${refreshTokens[next++ % refreshTokens.length]}`,
        }),
      },
    ],
  };
  record(await compare('anonymous refresh', store, { server: broker, spec: refresh }, undefined, { ...options, rounds: 1 }));

  if (store === 'memory') await customerCpu(broker, options, record);
  return rows;
}

/**
 * The customer routes, for the cost model's CPU figures: login (scrypt dominates), refresh,
 * validate, logout. Small fixed amounts: login costs ~0.4 s of CPU each.
 */
async function customerCpu(broker: ServerProcess, options: ThroughputOptions, record: (row: ThroughputRow) => void): Promise<void> {
  const anonymous = (await (
    await fetch(`${broker.url}/customerlogin/auth/anonymous/login?tenant=acme&client_id=storefront-web`)
  ).json()) as {
    access_token: string;
  };
  const sessions: { access_token: string; refresh_token: string }[] = [];
  const login: Load = {
    amount: 20,
    connections: 2,
    requests: [
      {
        method: 'POST',
        path: '/customer/acme/login',
        headers: { authorization: `Bearer ${anonymous.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify(BENCH_CUSTOMER),
        onResponse: (status: number, body: string) => {
          if (status === 200) sessions.push(JSON.parse(body) as { access_token: string; refresh_token: string });
        },
      },
    ],
  };
  const one = async (scenario: string, spec: Load, sample?: Partial<ThroughputOptions>) => {
    record({ scenario, store: 'memory', broker: await load(broker, spec, { ...options, ...sample }) });
  };
  await one('customer login', login, { connections: 2 });
  const validate = {
    path: '/customer/acme/validateauthtoken',
    method: 'GET' as const,
    headers: { authorization: `Bearer ${sessions[0]!.access_token}` },
  };
  await one('validate', validate);
  let refreshIndex = 0;
  await one('customer refresh', {
    amount: sessions.length,
    requests: [
      {
        method: 'GET',
        setupRequest: (r) => ({ ...r, path: `/customer/acme/refreshauthtoken?refreshToken=${sessions[refreshIndex++]!.refresh_token}` }),
      },
    ],
  });
  let logoutIndex = 0;
  await one('logout', {
    amount: sessions.length,
    requests: [
      {
        method: 'GET',
        setupRequest: (r) => ({ ...r, path: `/customer/acme/logout?accessToken=${sessions[logoutIndex++]!.access_token}` }),
      },
    ],
  });
}
