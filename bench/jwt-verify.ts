/**
 * Issue 13, item 4: what checking an access token costs a downstream service, per core.
 *
 *  - A JWT access token (RFC 9068, contract section 9, issued to an `accessTokenFormat: jwt`
 *    client) verified in process with `jose` against the broker's JWK Set, fetched once
 *    (`createLocalJWKSet`) or through `createRemoteJWKSet`, warmed: what a resource server does.
 *  - The same token introspected over HTTP (RFC 7662, `POST /oauth/introspect`, authenticated as
 *    a service client) at a running local broker, on the memory store and on dynalite: the
 *    caller's CPU and the broker's CPU per introspection.
 *
 * CPU time is process.cpuUsage (user + system, the thread pool included: WebCrypto verifies on
 * it) of each process itself, robust to other load; the wall-clock rates are not (shared machine).
 * Runnable alone:
 *
 *   npx tsx bench/jwt-verify.ts [--quick]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { ACCESS_TOKEN_TYP } from '../functions/domain/access-token-jwt.js';
import { BENCH_JWT_SERVICE } from './bench-seed.js';
import { PEER_CLIENT } from './peer.js';
import type { JwtVerifyResult, JwtVerifyRow } from './results-types.js';
import { serverBundle } from './throughput.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface JwtVerifyOptions {
  /** Verifications per round. */
  verifications: number;
  /** Introspections per round. */
  introspections: number;
  /** Introspection requests in flight at once (keep-alive connections). */
  concurrency: number;
  /** Rounds; each row reports its median round (by CPU per operation). */
  rounds: number;
}

export const JWT_VERIFY_DEFAULTS: JwtVerifyOptions = { verifications: 5000, introspections: 2000, concurrency: 8, rounds: 3 };
export const JWT_VERIFY_QUICK: JwtVerifyOptions = { verifications: 1000, introspections: 400, concurrency: 8, rounds: 1 };

/**
 * The broker runs as bench/serve.ts in its own process (as in the throughput bench), so its CPU
 * is its own; from a bundle of its own name, so the two benches can build side by side.
 */
interface Broker {
  url: string;
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

async function startBroker(store: 'memory' | 'dynalite'): Promise<Broker> {
  const child: ChildProcess = fork(await serverBundle('serve-jwt-verify.mjs'), ['broker', store], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`broker (${store}) exited with ${code}`)));
  });
  return {
    url,
    cpuMicros: () =>
      new Promise((resolve) => {
        child.once('message', (reply: { micros: number }) => resolve(reply.micros));
        child.send({ type: 'cpu' });
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

const ownCpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

function median<T>(values: readonly T[], by: (value: T) => number): T {
  return [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)]!;
}

async function postForm(url: string, fields: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/** A JWT access token for the bench's JWT service client, and the broker's issuer and JWK Set URL. */
async function jwtAccessToken(broker: Broker): Promise<{ token: string; issuer: string; jwksUri: string }> {
  const metadata = (await (await fetch(`${broker.url}/.well-known/oauth-authorization-server`)).json()) as {
    issuer: string;
    jwks_uri: string;
  };
  const answer = await postForm(`${broker.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: BENCH_JWT_SERVICE.id,
    client_secret: BENCH_JWT_SERVICE.secret,
    scope: BENCH_JWT_SERVICE.scope,
  });
  const token = answer.access_token as string;
  if (token.split('.').length !== 3) throw new Error(`not a JWT: ${token.slice(0, 40)}…`);
  return { token, issuer: metadata.issuer, jwksUri: metadata.jwks_uri };
}

/** CPU µs and wall time of `count` sequential verifications in this process. */
async function verifyRound(count: number, verify: () => Promise<unknown>): Promise<{ cpuMicros: number; seconds: number }> {
  const cpuBefore = ownCpuMicros();
  const started = performance.now();
  for (let i = 0; i < count; i++) await verify();
  const seconds = (performance.now() - started) / 1000;
  return { cpuMicros: (ownCpuMicros() - cpuBefore) / count, seconds };
}

/**
 * `count` introspections of `token`, `concurrency` at a time over keep-alive connections, with
 * node:http (a leaner client than fetch: it favours introspection). Every answer must be
 * `active: true`: a bench that counted refusals would lie.
 */
async function introspectRound(
  broker: Broker,
  token: string,
  count: number,
  concurrency: number,
  agent: Agent,
): Promise<{ callerMicros: number; brokerMicros: number; seconds: number }> {
  const target = new URL('/oauth/introspect', broker.url);
  const body = new URLSearchParams({ token, client_id: PEER_CLIENT.id, client_secret: PEER_CLIENT.secret }).toString();
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200 || !text.includes('"active":true')) {
              reject(new Error(`introspection answered ${res.statusCode}: ${text.slice(0, 200)}`));
            } else resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const brokerBefore = await broker.cpuMicros();
  const callerBefore = ownCpuMicros();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await one();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const callerMicros = (ownCpuMicros() - callerBefore) / count;
  const brokerMicros = ((await broker.cpuMicros()) - brokerBefore) / count;
  return { callerMicros, brokerMicros, seconds };
}

const round1 = (value: number) => Math.round(value * 10) / 10;

export async function measureJwtVerify(
  options: JwtVerifyOptions = JWT_VERIFY_DEFAULTS,
  log: (line: string) => void = () => {},
): Promise<JwtVerifyResult> {
  const rows: JwtVerifyRow[] = [];
  let tokenBytes = 0;
  for (const store of ['memory', 'dynalite'] as const) {
    const broker = await startBroker(store);
    const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
    try {
      const { token, issuer, jwksUri } = await jwtAccessToken(broker);
      tokenBytes = token.length;
      if (store === 'memory') {
        // Local verification does not involve the broker: measured once, against the first broker.
        const jwks = (await (await fetch(jwksUri)).json()) as JSONWebKeySet;
        const expected = { issuer, audience: BENCH_JWT_SERVICE.audience, typ: ACCESS_TOKEN_TYP, algorithms: ['ES256'] };
        const keySets = {
          'jose `jwtVerify`, `createLocalJWKSet` (JWK Set fetched once)': createLocalJWKSet(jwks),
          'jose `jwtVerify`, `createRemoteJWKSet` (warmed, cached)': createRemoteJWKSet(new URL(jwksUri)),
        };
        for (const [method, keySet] of Object.entries(keySets)) {
          const verify = async () => {
            const { payload } = await jwtVerify(token, keySet, expected);
            if (payload.client_id !== BENCH_JWT_SERVICE.id) throw new Error('verified a token of another client');
          };
          // Warm-up, not counted: the JIT, the imported key, the remote set's first fetch.
          await verifyRound(Math.min(500, options.verifications), verify);
          const brokerBefore = await broker.cpuMicros();
          const runs = [];
          for (let round = 0; round < options.rounds; round++) runs.push(await verifyRound(options.verifications, verify));
          const brokerMicros = ((await broker.cpuMicros()) - brokerBefore) / (options.verifications * options.rounds);
          const run = median(runs, (r) => r.cpuMicros);
          rows.push({
            method,
            store: 'none',
            callerCpuMicros: round1(run.cpuMicros),
            brokerCpuMicros: round1(brokerMicros),
            perSecondPerCore: Math.round(1e6 / (run.cpuMicros + brokerMicros)),
            measuredPerSecond: Math.round(options.verifications / run.seconds),
            seesRevocation: false,
          });
          log(`jwt-verify ${method}: ${round1(run.cpuMicros)} µs CPU per verification`);
        }
      }
      const introspect = () => introspectRound(broker, token, options.introspections, options.concurrency, agent);
      await introspect(); // warm-up: the JIT, the connections, the broker's directory caches
      const runs = [];
      for (let round = 0; round < options.rounds; round++) runs.push(await introspect());
      const run = median(runs, (r) => r.callerMicros + r.brokerMicros);
      rows.push({
        method: `introspection over HTTP (RFC 7662), node:http keep-alive, ${options.concurrency} in flight`,
        store,
        callerCpuMicros: round1(run.callerMicros),
        brokerCpuMicros: round1(run.brokerMicros),
        perSecondPerCore: Math.round(1e6 / (run.callerMicros + run.brokerMicros)),
        measuredPerSecond: Math.round(options.introspections / run.seconds),
        seesRevocation: true,
      });
      log(`jwt-verify introspection (${store}): caller ${round1(run.callerMicros)} µs, broker ${round1(run.brokerMicros)} µs CPU`);
    } finally {
      agent.destroy();
      await broker.stop();
    }
  }
  return { tokenBytes, rows };
}

/** Markdown lines for the results file. */
export function formatJwtVerify(result: JwtVerifyResult): string[] {
  const local = result.rows.find((r) => r.store === 'none');
  const times = (r: JwtVerifyRow) =>
    local && r !== local
      ? `${((r.callerCpuMicros + r.brokerCpuMicros) / (local.callerCpuMicros + local.brokerCpuMicros)).toFixed(1)}×`
      : '1×';
  return [
    '| check | broker store | caller CPU µs | broker CPU µs | checks/s per core (1e6 / total CPU µs) | CPU vs local verify | measured checks/s (shared machine) | sees a revocation |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...result.rows.map(
      (r) =>
        `| ${r.method} | ${r.store === 'none' ? '– (no broker)' : r.store} | ${r.callerCpuMicros.toFixed(1)} | ${r.brokerCpuMicros.toFixed(1)} | ` +
        `${r.perSecondPerCore} | ${times(r)} | ${r.measuredPerSecond} | ${r.seesRevocation ? 'yes, at once' : 'no: valid until `exp`'} |`,
    ),
    '',
    `One ES256 JWT access token of ${result.tokenBytes} characters (RFC 9068, a JWT service client's) throughout. ` +
      'Local verification checks signature, `iss`, `aud`, `typ`, `exp`; the broker sees none of it (its CPU column stays near 0). ' +
      "Introspection costs CPU on both sides; the broker's on dynalite includes the SDK call (and dynalite itself while it runs " +
      "in the broker's process). A revoked JWT keeps verifying until it expires: services that must see revocation at once introspect.",
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const result = await measureJwtVerify(quick ? JWT_VERIFY_QUICK : JWT_VERIFY_DEFAULTS, (line) => console.error(line));
  console.log(`\nNode ${process.version}, ${quick ? 'quick' : 'default'} options\n`);
  for (const line of formatJwtVerify(result)) console.log(line);
}
