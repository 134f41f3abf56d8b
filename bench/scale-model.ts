/**
 * `npm run scale-model`: where the first limit bites for a traffic mix (issue 13, item 6).
 *   (no argument)      the commerce presets at 1k, 10k and 100k req/s
 *   --mix <file.json>  one mix, or an array of them (fields left out: the 1k preset's)
 *   --preset <name>    one preset (commerce-1k, commerce-10k, commerce-100k)
 *   --json             the results as JSON on stdout instead of Markdown
 *   --no-write         do not write bench/results/scale-model.md nor the README's generated block
 * With no mix or preset named, it also rewrites the README's block between the scale-model markers.
 * Durations and round trips come from bench/results/latest.json (`npm run bench`); the stack's
 * limits from lib/constructs; the arithmetic is bench/scale-model-core.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LOGIN_THROTTLE, DEFAULT_STAGE_THROTTLE, LOGIN_THROTTLED_ROUTE_KEYS } from '../lib/constructs/broker-api.js';
import { DEFAULT_RESERVED_CONCURRENCY } from '../lib/constructs/broker-functions.js';
import type { BenchResults } from './results-types.js';
import { type Limits, type Measured, AWS_LIMITS, PRESETS, type TrafficMix, scaleModel } from './scale-model-core.js';
import { formatReadme, formatScaleModel } from './scale-model-format.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Which measured throughput scenario (memory store) gives each route its CPU: as bench/run.ts. */
const CPU_SOURCES: Record<string, string> = {
  'service-token-cached': 'service token, cached',
  'service-token-minted': 'service token, cache bypassed',
  introspection: 'introspection',
  'anonymous-login': 'anonymous login',
  'anonymous-refresh': 'anonymous refresh',
  'customer-login': 'customer login',
  'customer-refresh': 'customer refresh',
  validate: 'validate',
  logout: 'logout',
};

export function measuredFrom(results: Pick<BenchResults, 'throughput' | 'roundTrips'>): Measured {
  const cpuMs: Record<string, number> = {};
  for (const [route, scenario] of Object.entries(CPU_SOURCES)) {
    const cpu = results.throughput.find((r) => r.store === 'memory' && r.scenario === scenario)?.broker.cpuMsPerRequest;
    if (cpu !== undefined) cpuMs[route] = cpu;
  }
  const roundTrips = Object.fromEntries(results.roundTrips.map((r) => [r.route, { reads: r.reads, writes: r.writes }]));
  return { cpuMs, roundTrips };
}

/** The deployed stack's limits with its defaults, and AWS's account defaults. */
export function stackLimits(): Limits {
  return {
    ...AWS_LIMITS,
    stageRouteRps: DEFAULT_STAGE_THROTTLE.rateLimit,
    stageRouteBurst: DEFAULT_STAGE_THROTTLE.burstLimit,
    routeRps: Object.fromEntries(LOGIN_THROTTLED_ROUTE_KEYS.map((key) => [key, DEFAULT_LOGIN_THROTTLE.rateLimit])),
    reserved: {
      oauth: DEFAULT_RESERVED_CONCURRENCY.oauth,
      storefront: DEFAULT_RESERVED_CONCURRENCY.storefront,
      authorize: DEFAULT_RESERVED_CONCURRENCY.authorize,
      discovery: DEFAULT_RESERVED_CONCURRENCY.discovery,
    },
  };
}

function mixesFromArgs(argv: readonly string[]): TrafficMix[] {
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const file = at('--mix');
  if (file) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<TrafficMix> | Partial<TrafficMix>[];
    const base = PRESETS[0]!;
    return (Array.isArray(parsed) ? parsed : [parsed]).map((m, i) => ({ ...base, name: `mix-${i + 1}`, description: file, ...m }));
  }
  const preset = at('--preset');
  if (preset) {
    const found = PRESETS.find((p) => p.name === preset);
    if (!found) throw new Error(`no preset ${preset}; presets: ${PRESETS.map((p) => p.name).join(', ')}`);
    return [found];
  }
  return [...PRESETS];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const latest = JSON.parse(readFileSync(here('results/latest.json'), 'utf8')) as BenchResults;
  const measured = measuredFrom(latest);
  const limits = stackLimits();
  const results = mixesFromArgs(argv).map((mix) => scaleModel(mix, measured, limits));
  const command = `npm run scale-model${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const markdown = formatScaleModel(results, { command, measuredOn: latest.date.slice(0, 10) }).join('\n');
  if (argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
  else console.log(markdown);
  if (!argv.includes('--no-write')) {
    writeFileSync(here('results/scale-model.md'), `${markdown}\n`);
    if (!argv.includes('--mix') && !argv.includes('--preset')) {
      const readmePath = here('../README.md');
      const readme = readFileSync(readmePath, 'utf8');
      const start = '<!-- scale-model:start -->';
      const end = '<!-- scale-model:end -->';
      const from = readme.indexOf(start);
      const to = readme.indexOf(end);
      if (from >= 0 && to > from) {
        const block = formatReadme(results, { command, measuredOn: latest.date.slice(0, 10) }).join('\n');
        writeFileSync(readmePath, `${readme.slice(0, from + start.length)}\n${block}\n${readme.slice(to)}`);
      }
    }
  }
}
