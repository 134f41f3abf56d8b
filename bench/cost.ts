/**
 * What the broker costs on AWS per million requests, from measured CPU time and DynamoDB round
 * trips. Pure: no I/O, no clock; every price and assumption it uses is returned with the result.
 */
import type { CostRow, MemoryComparison } from './results-types.js';

export interface CostInput {
  /**
   * Broker CPU milliseconds per request, measured, per route: keys 'service-token-cached',
   * 'service-token-minted', 'introspection', 'anonymous-login', 'anonymous-refresh',
   * 'customer-login', 'customer-refresh', 'validate', 'logout'. Missing keys: DEFAULT_CPU_MS.
   */
  cpuMsPerRequest: Record<string, number>;
  /**
   * DynamoDB reads/writes per request per route (same keys), measured. They count calls (round
   * trips), as RoundTripRow does: a BatchGetItem is one read. Missing keys: DEFAULT_ROUND_TRIPS.
   */
  roundTrips: Record<string, { reads: number; writes: number }>;
  /** What-if overrides of the model's assumptions; by default MODEL_DEFAULTS. */
  overrides?: Partial<CostAssumptions>;
  /** Where `cpuMsPerRequest` comes from (which bench rows, which caveats), stated in the assumptions. */
  cpuSource?: string;
  /**
   * The memory size of the function serving each route (the stack's, lib/constructs/broker-functions.ts),
   * over `overrides.memoryMb`; its CPU scale follows unless `overrides.lambdaCpuScale` is given.
   */
  memoryMbByRoute?: Record<string, number>;
}

export type Route =
  | 'service-token-cached'
  | 'service-token-minted'
  | 'introspection'
  | 'anonymous-login'
  | 'anonymous-refresh'
  | 'customer-login'
  | 'customer-refresh'
  | 'validate'
  | 'logout';

export type CostModel = { prices: Record<string, string>; rows: CostRow[]; assumptions: string[] };

/** List prices, us-east-1, as known in 2025, in USD. */
export const PRICES = {
  /** API Gateway HTTP API, per million requests, first 300 million a month. */
  httpApiPerMillionRequests: 1.0,
  /** Lambda, per million invocations (any architecture). */
  lambdaPerMillionRequests: 0.2,
  /** Lambda arm64 duration, per GB-second, first 7.5 billion GB-seconds a month. */
  lambdaArm64PerGbSecond: 0.0000133334,
  /** DynamoDB on-demand, per million read request units (after the November 2024 price cut). */
  dynamoDbPerMillionRru: 0.125,
  /** DynamoDB on-demand, per million write request units (after the November 2024 price cut). */
  dynamoDbPerMillionWru: 0.625,
  /** Secrets Manager, per 10,000 API calls. */
  secretsManagerPer10kCalls: 0.05,
  /** Secrets Manager, per secret per month. */
  secretsManagerPerSecretMonth: 0.4,
  /** CloudWatch Logs, standard ingestion, per GB (2^30 bytes). */
  cloudWatchLogsPerGbIngested: 0.5,
} as const;

export interface CostAssumptions {
  /** Lambda memory size in MB (lib/constructs/broker-functions.ts). */
  memoryMb: number;
  /**
   * Wall time per measured CPU millisecond on Lambda. Lambda gives one vCPU at 1,769 MB and a
   * proportional share below, so CPU-bound work at 512 MB runs about 1769/512 = 3.46 times longer
   * than on a full core. 1 reproduces "billed duration = CPU time + …". By default
   * {@link cpuScaleAt} the memory size.
   */
  lambdaCpuScale?: number;
  /** In-region DynamoDB latency per call (round trip), in ms, during which Lambda bills. */
  dynamoDbLatencyMs: number;
  /** Added to every invocation's duration for Lambda's rounding up to the next 1 ms. */
  roundingMs: number;
  /** CloudWatch Logs bytes per request: access log + the broker's request line + START/END/REPORT. */
  logBytesPerRequest: number;
}

/** Memory at which Lambda gives one full vCPU. */
export const FULL_VCPU_MB = 1769;

/**
 * Wall time per CPU millisecond at `memoryMb`: 1769/memory below one vCPU; 1 above it (a single
 * Node thread cannot use a second vCPU; scrypt's one hash at a time runs on one thread-pool thread).
 */
export function cpuScaleAt(memoryMb: number): number {
  return Math.max(1, FULL_VCPU_MB / memoryMb);
}

export const MODEL_DEFAULTS: Required<CostAssumptions> = {
  memoryMb: 512,
  lambdaCpuScale: cpuScaleAt(512),
  dynamoDbLatencyMs: 4,
  roundingMs: 1,
  logBytesPerRequest: 1024,
};

/** The memory sizes the model compares (issue 13): which is cheapest per million of each item. */
export const MEMORY_SIZES_MB = [256, 512, 1024] as const;

/** The defaults with `overrides` on top; the CPU scale follows an overridden memory size unless given too. */
function assumptionsOf(overrides: Partial<CostAssumptions> = {}): Required<CostAssumptions> {
  const memoryMb = overrides.memoryMb ?? MODEL_DEFAULTS.memoryMb;
  return { ...MODEL_DEFAULTS, ...overrides, memoryMb, lambdaCpuScale: overrides.lambdaCpuScale ?? cpuScaleAt(memoryMb) };
}

/** CPU ms assumed for a route the input does not measure. */
export const DEFAULT_CPU_MS: Record<Route, number> = {
  'service-token-cached': 1,
  'service-token-minted': 1,
  introspection: 1,
  'anonymous-login': 1,
  'anonymous-refresh': 1,
  // One scrypt verification (N=2^17, r=8, p=1): README, measured median 438 ms.
  'customer-login': 440,
  'customer-refresh': 1,
  validate: 1,
  logout: 1,
};

/** DynamoDB calls per route on a warm function (README, test/integration/round-trips.test.ts). */
export const DEFAULT_ROUND_TRIPS: Record<Route, { reads: number; writes: number }> = {
  // A warm instance answers from its near cache (issue 13); the shared cache item is read once per
  // instance and client every few seconds (SERVICE_TOKEN_NEAR_CACHE_SECONDS): nothing per million.
  'service-token-cached': { reads: 0, writes: 0 },
  'service-token-minted': { reads: 1, writes: 2 },
  introspection: { reads: 1, writes: 0 },
  'anonymous-login': { reads: 0, writes: 1 },
  'anonymous-refresh': { reads: 0, writes: 1 },
  // Read ∥ reserve the attempt; family ∥ index entry ∥ clear the attempts; re-read the customer.
  'customer-login': { reads: 2, writes: 4 },
  'customer-refresh': { reads: 0, writes: 1 },
  validate: { reads: 1, writes: 0 },
  logout: { reads: 0, writes: 1 },
};

/**
 * Request units per call. Reads are strongly consistent (functions/adapters/dynamodb/table.ts),
 * so an item of at most 4 KB costs 1 RRU. Writes cost 1 WRU per started KB of the larger of
 * the old and new item; a storefront session item (hashes, context, sealed successor) is 1–2 KB,
 * taken as 2 WRU; a service-token record and a cache entry stay under 1 KB.
 */
export const UNITS_PER_CALL: Record<Route, { rruPerRead: number; wruPerWrite: number }> = {
  'service-token-cached': { rruPerRead: 1, wruPerWrite: 1 },
  'service-token-minted': { rruPerRead: 1, wruPerWrite: 1 },
  introspection: { rruPerRead: 1, wruPerWrite: 1 },
  'anonymous-login': { rruPerRead: 1, wruPerWrite: 2 },
  'anonymous-refresh': { rruPerRead: 1, wruPerWrite: 2 },
  // Reads: a BatchGetItem of session and customer (2 RRU), the re-read of the customer (1 RRU): 1.5 per
  // read. Writes: the family 2 WRU; the attempt reservation, its deletion and the index entry 1 each: 1.25.
  'customer-login': { rruPerRead: 1.5, wruPerWrite: 1.25 },
  'customer-refresh': { rruPerRead: 1, wruPerWrite: 2 },
  validate: { rruPerRead: 1, wruPerWrite: 1 },
  logout: { rruPerRead: 1, wruPerWrite: 2 },
};

/** One storefront session, as the model counts it. */
export const SESSION: Readonly<Partial<Record<Route, number>>> = {
  'anonymous-login': 1,
  'customer-login': 1,
  'customer-refresh': 4,
  validate: 20,
  logout: 1,
};

/** The components every breakdown has, in USD per million. */
export const COMPONENTS = [
  'httpApi',
  'lambdaRequests',
  'lambdaDuration',
  'dynamoDbReads',
  'dynamoDbWrites',
  'secretsManager',
  'cloudWatchLogs',
] as const;

type Breakdown = Record<(typeof COMPONENTS)[number], number>;

const GIB = 2 ** 30;

/** USD per million requests of one route, per component. */
export function routeCost(route: Route, input: CostInput): Breakdown {
  const memoryMb = input.memoryMbByRoute?.[route];
  const a = assumptionsOf(memoryMb === undefined ? input.overrides : { ...input.overrides, memoryMb });
  const cpuMs = input.cpuMsPerRequest[route] ?? DEFAULT_CPU_MS[route];
  const { reads, writes } = input.roundTrips[route] ?? DEFAULT_ROUND_TRIPS[route];
  const units = UNITS_PER_CALL[route];
  const billedMs = billedMsOf(cpuMs, reads + writes, a);
  return {
    httpApi: PRICES.httpApiPerMillionRequests,
    lambdaRequests: PRICES.lambdaPerMillionRequests,
    lambdaDuration: (billedMs / 1000) * (a.memoryMb / 1024) * PRICES.lambdaArm64PerGbSecond * 1e6,
    dynamoDbReads: reads * units.rruPerRead * PRICES.dynamoDbPerMillionRru,
    dynamoDbWrites: writes * units.wruPerWrite * PRICES.dynamoDbPerMillionWru,
    // Cached in memory per warm function (5 min for client secrets and signing key, 1 h for the
    // cache key): calls scale with warm instances over time, not with requests.
    secretsManager: 0,
    cloudWatchLogs: ((a.logBytesPerRequest * 1e6) / GIB) * PRICES.cloudWatchLogsPerGbIngested,
  };
}

/** Lambda's billed duration of one request: CPU stretched by the CPU share, DynamoDB waits, rounding. */
function billedMsOf(cpuMs: number, calls: number, a: Required<CostAssumptions>): number {
  return cpuMs * a.lambdaCpuScale + calls * a.dynamoDbLatencyMs + a.roundingMs;
}

/** `{ name: MB }` as `[MB, names][]`, in order of first appearance. */
export function groupBySize(sizes: Readonly<Record<string, number>>): [number, string[]][] {
  const groups = new Map<number, string[]>();
  for (const [name, mb] of Object.entries(sizes)) groups.set(mb, [...(groups.get(mb) ?? []), name]);
  return [...groups];
}

function sum(parts: readonly [Breakdown, number][]): Breakdown {
  const total = Object.fromEntries(COMPONENTS.map((c) => [c, 0])) as Breakdown;
  for (const [breakdown, times] of parts) for (const c of COMPONENTS) total[c] += breakdown[c] * times;
  return total;
}

function row(item: string, breakdown: Breakdown): CostRow {
  return { item, usdPerMillion: COMPONENTS.reduce((total, c) => total + breakdown[c], 0), breakdown };
}

export function costModel(input: CostInput): CostModel {
  const a = assumptionsOf(input.overrides);
  const session = Object.entries(SESSION) as [Route, number][];
  const sessionRequests = session.reduce((n, [, times]) => n + times, 0);
  const rows: CostRow[] = [
    row('service token served from the cache', routeCost('service-token-cached', input)),
    row('service token minted', routeCost('service-token-minted', input)),
    row('introspection', routeCost('introspection', input)),
    row(`storefront session (${sessionRequests} requests)`, sum(session.map(([route, times]) => [routeCost(route, input), times]))),
  ];

  const perRouteMemory = groupBySize(input.memoryMbByRoute ?? {});
  const unmeasured = (Object.keys(DEFAULT_CPU_MS) as Route[]).filter((r) => input.cpuMsPerRequest[r] === undefined);
  const uncounted = (Object.keys(DEFAULT_ROUND_TRIPS) as Route[]).filter((r) => input.roundTrips[r] === undefined);
  const assumptions = [
    "USD per million of the row's item; every request is one HTTP API request and one Lambda invocation.",
    `One storefront session = ${session.map(([route, times]) => `${times} × ${route}`).join(', ')} ` +
      `(${sessionRequests} requests: an anonymous visit that logs in, refreshes its tokens 4 ` +
      'times, has its access token validated 20 times by downstream services, and logs out).',
    `Lambda billed duration = CPU ms × the CPU factor + ${a.dynamoDbLatencyMs} ms per DynamoDB call ` +
      `(assumed in-region latency) + ${a.roundingMs} ms for rounding up to the next ms, on arm64, at ` +
      (perRouteMemory.length
        ? `the stack's memory sizes: ${perRouteMemory
            .map(
              ([mb, routes]) =>
                `${routes.join(', ')} at ${mb} MB (CPU factor ${(input.overrides?.lambdaCpuScale ?? cpuScaleAt(mb)).toFixed(3)})`,
            )
            .join('; ')}.`
        : `${a.memoryMb} MB (CPU factor ${a.lambdaCpuScale.toFixed(3)}).`) +
      (a.lambdaCpuScale === 1
        ? ''
        : ` The CPU factor is 1769/memory: Lambda gives one vCPU at 1,769 MB and a proportional share ` +
          'below, so CPU-bound work (scrypt at login) takes that much longer in wall time than on the bench ' +
          "machine's full core; it overstates short requests, which fit in a scheduler period, by a few ms at most. " +
          'It also takes a Lambda vCPU to be as fast as a bench-machine core.'),
    "CPU ms per request are measured broker CPU (user + system, scrypt's thread pool included); scrypt " +
      '(N=2^17, r=8, p=1, ~0.4 s) dominates customer login, and with it the session cost.' +
      (input.cpuSource ? ` ${input.cpuSource}` : ''),
    unmeasured.length
      ? `Not measured, assumed: CPU ms ${unmeasured.map((r) => `${r} ${DEFAULT_CPU_MS[r]}`).join(', ')}.`
      : 'CPU ms: all routes measured.',
    uncounted.length
      ? `Not counted, taken from the README's round-trip table: ${uncounted
          .map((r) => `${r} ${DEFAULT_ROUND_TRIPS[r].reads}R/${DEFAULT_ROUND_TRIPS[r].writes}W`)
          .join(', ')}.`
      : 'DynamoDB calls: all routes counted.',
    'DynamoDB reads and writes count calls. Reads are strongly consistent: 1 RRU per item of at most 4 KB; ' +
      'customer login: a BatchGetItem of session and customer (2 RRU) and a re-read of the customer (1 RRU). ' +
      'Writes: 1 WRU per ' +
      'started KB; service-token record and cache entry < 1 KB = 1 WRU each; a storefront session item with ' +
      'sealed successor is 1–2 KB, counted as 2 WRU for every session write (PutItem, conditional UpdateItem). ' +
      'Customer login writes the family (2 WRU), its session-index entry, the attempt reservation and its ' +
      'deletion (1 WRU each); a failed login from the 3rd failure adds a slow-down UpdateItem: not in the session.',
    'Service tokens served from the cache: a warm instance answers from its near cache (0 DynamoDB calls); the shared ' +
      'cache item is read once per instance and client at most every SERVICE_TOKEN_NEAR_CACHE_SECONDS (5 s), ' +
      'at most 720 reads an hour per instance and client ($0.00009): 0 per million.',
    'Secrets Manager: secrets are cached per warm function (1 min client secrets, so an incident revocation of a ' +
      'previous secret lands within a minute; 5 min signing key; 1 h cache key), at most ~61 GetSecretValue calls ' +
      'per warm instance-hour ($0.0003), independent of request count: 0 per million. Fixed: 3 secrets × $0.40 = ' +
      '$1.20 a month.',
    `CloudWatch Logs: ${a.logBytesPerRequest} bytes ingested per request (API access log line, the broker's ` +
      "request log line, Lambda START/END/REPORT); storage at $0.03/GB-month for a month's retention not included.",
    'Not included: data transfer out (~1 KB per response, $0.09/GB: ~$0.09 per million), CORS preflights, the ' +
      'warm-up function (8,640 runs a month plus its mints, fixed), point-in-time recovery and table storage, ' +
      'free tiers and volume tiers.',
  ];
  const asOf = 'list price, us-east-1, as known in 2025';
  const prices: Record<string, string> = {
    'API Gateway HTTP API': `$${PRICES.httpApiPerMillionRequests.toFixed(2)} per million requests, first 300 million a month (${asOf})`,
    'Lambda requests': `$${PRICES.lambdaPerMillionRequests.toFixed(2)} per million invocations (${asOf})`,
    'Lambda duration, arm64': `$${PRICES.lambdaArm64PerGbSecond} per GB-second, first 7.5 billion GB-s a month (${asOf})`,
    'DynamoDB on-demand reads': `$${PRICES.dynamoDbPerMillionRru.toFixed(3)} per million read request units (${asOf}, after the Nov 2024 cut)`,
    'DynamoDB on-demand writes': `$${PRICES.dynamoDbPerMillionWru.toFixed(3)} per million write request units (${asOf}, after the Nov 2024 cut)`,
    'Secrets Manager': `$${PRICES.secretsManagerPer10kCalls.toFixed(2)} per 10,000 API calls, $${PRICES.secretsManagerPerSecretMonth.toFixed(2)} per secret-month (${asOf})`,
    'CloudWatch Logs': `$${PRICES.cloudWatchLogsPerGbIngested.toFixed(2)} per GB ingested, standard class (${asOf})`,
  };
  return { prices, rows, assumptions };
}

const LABELS: Record<(typeof COMPONENTS)[number], string> = {
  httpApi: 'HTTP API',
  lambdaRequests: 'Lambda requests',
  lambdaDuration: 'Lambda duration',
  dynamoDbReads: 'DynamoDB reads',
  dynamoDbWrites: 'DynamoDB writes',
  secretsManager: 'Secrets Manager',
  cloudWatchLogs: 'CloudWatch Logs',
};

const usd = (value: number) => (value === 0 ? '0' : value < 0.01 ? value.toFixed(4) : value.toFixed(3));

/** Markdown lines for the results file: the table, then the prices and assumptions as lists. */
export function formatCost(model: CostModel): string[] {
  return [
    `| per million | total USD | ${COMPONENTS.map((c) => LABELS[c]).join(' | ')} |`,
    `|---|---:|${COMPONENTS.map(() => '---:').join('|')}|`,
    ...model.rows.map(
      (r) => `| ${r.item} | **${usd(r.usdPerMillion)}** | ${COMPONENTS.map((c) => usd(r.breakdown[c] ?? 0)).join(' | ')} |`,
    ),
    '',
    'Prices:',
    '',
    ...Object.entries(model.prices).map(([what, price]) => `- ${what}: ${price}`),
    '',
    'Assumptions:',
    '',
    ...model.assumptions.map((line) => `- ${line}`),
  ];
}

/** What the cost model needs of one throughput row (bench/results-types.ts ThroughputRow). */
export interface MeasuredCpu {
  scenario: string;
  store: 'memory' | 'dynalite';
  cpuMsPerRequest?: number;
}

/**
 * Lambda bills the CPU of the real SDK path, so the model takes each route's broker CPU from the
 * dynalite rows of the throughput bench (every call through @aws-sdk/client-dynamodb). A route
 * measured on the memory store only (the customer routes: scrypt makes them slow to load) gets its
 * memory-store CPU plus its DynamoDB calls times the SDK's CPU per call, estimated from the routes
 * measured on both stores: the median of (dynalite − memory) / calls. Pure.
 */
export function cpuOnSdkPath(
  measured: readonly MeasuredCpu[],
  scenarios: Readonly<Record<string, string>>,
  roundTrips: Readonly<Record<string, { reads: number; writes: number }>>,
): { cpuMsPerRequest: Record<string, number>; perCallMs: number | undefined; source: string } {
  const cpu = (store: MeasuredCpu['store'], scenario: string) =>
    measured.find((m) => m.store === store && m.scenario === scenario)?.cpuMsPerRequest;
  const callsOf = (route: string) => {
    const trips = roundTrips[route] ?? DEFAULT_ROUND_TRIPS[route as Route];
    return trips ? trips.reads + trips.writes : 0;
  };
  const perCall: number[] = [];
  for (const [route, scenario] of Object.entries(scenarios)) {
    const [onSdk, inMemory, calls] = [cpu('dynalite', scenario), cpu('memory', scenario), callsOf(route)];
    if (onSdk !== undefined && inMemory !== undefined && calls > 0) perCall.push((onSdk - inMemory) / calls);
  }
  perCall.sort((a, b) => a - b);
  const perCallMs = perCall.length ? perCall[Math.floor(perCall.length / 2)] : undefined;
  const cpuMsPerRequest: Record<string, number> = {};
  const direct: string[] = [];
  const derived: string[] = [];
  for (const [route, scenario] of Object.entries(scenarios)) {
    const onSdk = cpu('dynalite', scenario);
    const inMemory = cpu('memory', scenario);
    if (onSdk !== undefined) {
      cpuMsPerRequest[route] = onSdk;
      direct.push(route);
    } else if (inMemory !== undefined) {
      cpuMsPerRequest[route] = inMemory + callsOf(route) * (perCallMs ?? 0);
      derived.push(route);
    }
  }
  const source =
    `CPU source: the dynalite rows (the real SDK path) for ${direct.join(', ') || 'no route'}` +
    (derived.length
      ? `; memory-store CPU + DynamoDB calls × ${perCallMs === undefined ? 'nothing (no route measured on both stores)' : `${(perCallMs * 1000).toFixed(0)} µs`} ` +
        `per call (the median SDK-path cost per call of the routes measured on both stores) for ${derived.join(', ')}`
      : '') +
    '. The dynalite rows count the broker process only; while dynalite runs inside that process (before issue 13 moved it ' +
    'to a child process) they count the store too and overstate the SDK path.';
  return { cpuMsPerRequest, perCallMs, source };
}

/** The four rows of the model, at each memory size: the totals, and the cheapest size per row. */
export function costByMemory(input: CostInput, sizes: readonly number[] = MEMORY_SIZES_MB): MemoryComparison {
  const rows = sizes.map((memoryMb) => {
    const overrides = { ...input.overrides, memoryMb, lambdaCpuScale: cpuScaleAt(memoryMb) };
    const model = costModel({ ...input, overrides, memoryMbByRoute: {} });
    const a = assumptionsOf(overrides);
    const billed = (route: Route) => {
      const trips = input.roundTrips[route] ?? DEFAULT_ROUND_TRIPS[route];
      return billedMsOf(input.cpuMsPerRequest[route] ?? DEFAULT_CPU_MS[route], trips.reads + trips.writes, a);
    };
    return {
      memoryMb,
      cpuScale: a.lambdaCpuScale,
      usdPerMillion: Object.fromEntries(model.rows.map((r) => [r.item, r.usdPerMillion])),
      billedMs: { 'service-token-cached': billed('service-token-cached'), 'customer-login': billed('customer-login') },
    };
  });
  const items = Object.keys(rows[0]?.usdPerMillion ?? {});
  const cheapest = Object.fromEntries(
    items.map((item) => [item, rows.reduce((best, r) => (r.usdPerMillion[item]! < best.usdPerMillion[item]! ? r : best)).memoryMb]),
  );
  return { rows, cheapest };
}

/** Markdown: one row per memory size, the four totals, the cheapest of each column in bold with ✓. */
export function formatMemoryComparison(comparison: MemoryComparison, stackDefaults?: string): string[] {
  const items = Object.keys(comparison.cheapest);
  return [
    `| memory MB | CPU factor | ${items.map((i) => `${i} USD/M`).join(' | ')} | billed ms, cached token | billed ms, customer login |`,
    `|---:|---:|${items.map(() => '---:').join('|')}|---:|---:|`,
    ...comparison.rows.map((r) => {
      const totals = items.map((i) => {
        const value = usd(r.usdPerMillion[i]!);
        return comparison.cheapest[i] === r.memoryMb ? `**${value}** ✓` : value;
      });
      return (
        `| ${r.memoryMb} | ${r.cpuScale.toFixed(2)} | ${totals.join(' | ')} | ` +
        `${r.billedMs['service-token-cached']!.toFixed(1)} | ${r.billedMs['customer-login']!.toFixed(0)} |`
      );
    }),
    '',
    'CPU-bound time stretches by 1769/memory and is billed by memory, so its cost is the same at every size below ' +
      "one vCPU; what grows with memory is the time spent waiting (DynamoDB calls, the 1 ms rounding). The smallest size is cheapest for every row; the price of it is latency where CPU dominates (the login's scrypt), and scrypt's 128 MiB block must fit." +
      (stackDefaults ? ` ${stackDefaults}` : ''),
  ];
}
