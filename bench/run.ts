/**
 * `npm run bench`: token-broker measured against node-oidc-provider and against itself.
 *   --quick   shorter runs (1 round of 2 s), for a smoke test of the harness
 * Writes bench/results/latest.json and latest.md, and the README's results section.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MEMORY_MB } from '../lib/constructs/broker-functions.js';
import { formatColdStart, measureColdStart } from './cold-start.js';
import { formatLogBytes, measureLogLines } from './log-bytes.js';
import { CPU_SOURCES, costByMemory, costModel, cpuOnSdkPath, formatCost, formatMemoryComparison, groupBySize } from './cost.js';
import { formatJwtVerify, JWT_VERIFY_DEFAULTS, JWT_VERIFY_QUICK, measureJwtVerify } from './jwt-verify.js';
import type { BenchResults, LayerRow, ThroughputRow } from './results-types.js';
import { formatRoundTrips, measureRoundTrips } from './round-trips.js';
import { formatSdkCalls, measureSdkCalls } from './sdk-call.js';
import { measureLayers, measureThroughput } from './throughput.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const quick = process.argv.includes('--quick');
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const log = (line: string) => console.error(line);

/** The function that serves each cost-model route, for its memory size in the stack. */
const ROUTE_FUNCTIONS: Record<string, keyof typeof DEFAULT_MEMORY_MB> = {
  'service-token-cached': 'oauth',
  'service-token-minted': 'oauth',
  introspection: 'oauth',
  'anonymous-login': 'storefront',
  'anonymous-refresh': 'storefront',
  'customer-login': 'storefront',
  'customer-refresh': 'storefront',
  validate: 'storefront',
  logout: 'storefront',
};
const STACK_MEMORY_BY_ROUTE = Object.fromEntries(Object.entries(ROUTE_FUNCTIONS).map(([route, fn]) => [route, DEFAULT_MEMORY_MB[fn]]));
const STACK_MEMORY_NOTE =
  'The stack (lib/constructs/broker-functions.ts DEFAULT_MEMORY_MB) follows: ' +
  groupBySize(DEFAULT_MEMORY_MB)
    .map(([mb, fns]) => `${fns.join(', ')} at ${mb} MB`)
    .join('; ') +
  ' (scrypt).';

const loadOptions = { durationSeconds: quick ? 2 : 4, connections: 10, rounds: quick ? 1 : 3 };
log(`throughput (${loadOptions.rounds} rounds of ${loadOptions.durationSeconds} s, ${loadOptions.connections} connections)…`);
const throughput = await measureThroughput(loadOptions, log);
log('layers of the cached path…');
const layers = await measureLayers(loadOptions, log);
log('round trips…');
const roundTrips = await measureRoundTrips();
log('DynamoDB client CPU per call…');
const sdkCalls = await measureSdkCalls({ rounds: quick ? 1 : 3, calls: quick ? 300 : 2000, warmup: quick ? 100 : 500 });
log('JWT verification against introspection…');
const jwtVerify = await measureJwtVerify(quick ? JWT_VERIFY_QUICK : JWT_VERIFY_DEFAULTS, log);
log('log bytes per request…');
const logLines = await measureLogLines();
log('cold start…');
const coldStart = await measureColdStart({ runs: quick ? 3 : 10 });

// A benchmark that counted errors as throughput would lie: every request must have succeeded.
const failed = throughput.filter((r) => r.broker.non2xx > 0 || (r.peer?.non2xx ?? 0) > 0);
for (const r of failed)
  log(`!! ${r.store} ${r.scenario}: ${r.broker.non2xx} broker and ${r.peer?.non2xx ?? 0} peer responses were not 2xx`);
const failedLayers = layers.filter((r) => r.stats.non2xx > 0);
for (const r of failedLayers) log(`!! layer ${r.layer}: ${r.stats.non2xx} responses were not 2xx`);
if (failed.length + failedLayers.length > 0) process.exitCode = 1;

const measuredTrips = Object.fromEntries(roundTrips.map((r) => [r.route, { reads: r.reads, writes: r.writes }]));
const sdkPath = cpuOnSdkPath(
  throughput.map((r) => ({ scenario: r.scenario, store: r.store, cpuMsPerRequest: r.broker.cpuMsPerRequest })),
  CPU_SOURCES,
  measuredTrips,
);
const costInput = {
  cpuMsPerRequest: sdkPath.cpuMsPerRequest,
  roundTrips: measuredTrips,
  cpuSource: sdkPath.source,
  memoryMbByRoute: STACK_MEMORY_BY_ROUTE,
  logBytesByRoute: logLines.bytesPerRequest,
};
const cost = costModel(costInput);
const costAtSizes = costByMemory(costInput);

const results: BenchResults = {
  date: new Date().toISOString(),
  cores: cpus().length,
  node: process.version,
  throughput,
  layers,
  roundTrips,
  coldStart,
  cost,
  costByMemory: costAtSizes,
  logBytes: logLines.bytesPerRequest,
  jwtVerify,
};

const markdown = [
  `Measured ${results.date.slice(0, 10)} on ${results.cores} cores, Node ${results.node}, by \`npm run bench${quick ? ' -- --quick' : ''}\`.`,
  '',
  '**Throughput** (autocannon, 10 connections, loopback; broker and peer alternate, median of rounds):',
  '',
  ...formatThroughput(throughput),
  '',
  "**Where a cached token's CPU goes** (each layer answers the same request with the same bytes; alternating, median of rounds):",
  '',
  ...formatLayers(layers),
  '',
  '**DynamoDB round trips per request** (warm function):',
  '',
  ...formatRoundTrips(roundTrips),
  '',
  '**Log bytes per request** (the one request line at the default level; `npx tsx bench/log-bytes.ts`):',
  '',
  ...formatLogBytes(logLines.bytesPerRequest, logLines.samples),
  '',
  '**DynamoDB client CPU per call** (`npx tsx bench/sdk-call.ts`; issue 13):',
  '',
  ...formatSdkCalls(sdkCalls),
  '',
  '**Checking an access token downstream** (a JWT verified in process with `jose` against introspection over HTTP; CPU per check from each process itself):',
  '',
  ...formatJwtVerify(jwtVerify),
  '',
  '**Cold start** (each Lambda bundle as CDK builds it; median import time in a fresh Node process):',
  '',
  ...formatColdStart(coldStart),
  '',
  '**Cost model by memory size** (the totals of the cost model below with every function at 256, 512 or 1024 MB; CPU on the SDK path; ✓ the cheapest):',
  '',
  ...formatMemoryComparison(costAtSizes, STACK_MEMORY_NOTE),
  '',
  "**Cost model** (from the CPU time measured above, at the stack's memory sizes):",
  '',
  ...formatCost(cost),
].join('\n');

writeFileSync(here('./results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(here('./results/latest.md'), `${markdown}\n`);
writeFileSync(here('./results/sdk-call.json'), `${JSON.stringify({ date: results.date, node: results.node, ...sdkCalls }, null, 2)}\n`);
const readmePath = here('../README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
if (readme.includes(start) && readme.includes(end)) {
  writeFileSync(readmePath, `${readme.slice(0, readme.indexOf(start) + start.length)}\n${markdown}\n${readme.slice(readme.indexOf(end))}`);
}
log('wrote bench/results/latest.json, bench/results/latest.md and the README section');

function formatThroughput(rows: readonly ThroughputRow[]): string[] {
  const stats = (s: ThroughputRow['broker'] | undefined) => (s ? `${s.requestsPerSecond} | ${s.p50Ms} | ${s.p99Ms}` : '– | – | –');
  const cpu = (s: ThroughputRow['broker'] | undefined) => (s?.cpuMsPerRequest === undefined ? '–' : s.cpuMsPerRequest.toFixed(3));
  return [
    '| scenario | store | broker req/s | p50 ms | p99 ms | peer req/s | p50 ms | p99 ms | req/s broker/peer (target) | CPU ms/req broker | CPU ms/req peer | CPU peer/broker |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const target = r.target === undefined ? '' : ` ${(r.ratio ?? 0) >= r.target ? '✓' : '✗'} (≥ ${r.target})`;
      const efficiency =
        r.peer?.cpuMsPerRequest && r.broker.cpuMsPerRequest ? (r.peer.cpuMsPerRequest / r.broker.cpuMsPerRequest).toFixed(2) : '–';
      return `| ${r.scenario} | ${r.store} | ${stats(r.broker)} | ${stats(r.peer)} | ${r.ratio ?? '–'}${target} | ${cpu(r.broker)} | ${cpu(r.peer)} | ${efficiency} |`;
    }),
  ];
}

function formatLayers(rows: readonly LayerRow[]): string[] {
  const micros = (row: LayerRow | undefined) => (row?.stats.cpuMsPerRequest ?? 0) * 1000;
  return [
    '| layer | adds | req/s | CPU µs/req | µs added |',
    '|---|---|---:|---:|---:|',
    ...rows.map((row, i) => {
      const added = i === 0 ? '–' : (micros(row) - micros(rows[i - 1])).toFixed(0);
      return `| ${row.layer} | ${row.adds} | ${row.stats.requestsPerSecond} | ${micros(row).toFixed(0)} | ${added} |`;
    }),
  ];
}
