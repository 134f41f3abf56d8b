/** The shape of bench/results/latest.json; every part of `npm run bench` fills one member. */

export interface ThroughputRow {
  scenario: string;
  /** 'memory' (the fair comparison with the peer's memory adapter) or 'dynalite' (local default). */
  store: 'memory' | 'dynalite';
  broker: LoadStats;
  /** undefined where the peer has no equivalent route. */
  peer?: LoadStats;
  /** broker req/s divided by peer req/s. */
  ratio?: number;
  /** The target for this ratio, if it sets one. */
  target?: number;
}

export interface LoadStats {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  /** Server CPU time per request (user + system), from the server process itself. */
  cpuMsPerRequest?: number;
}

/** One layer of the cached-token path (bench/layers.ts), the broker itself last. */
export interface LayerRow {
  layer: string;
  adds: string;
  stats: LoadStats;
}

export interface RoundTripRow {
  /** The route's key (the cost model's, bench/cost.ts, where it has one). */
  route: string;
  /** What the results table shows (bench/round-trips.ts ROUTE_LABELS); absent in results before issue 10. */
  label?: string;
  reads: number;
  writes: number;
  calls: string[];
}

export interface ColdStartRow {
  fn: string;
  bundleKB: number;
  importMedianMs: number;
  floorKB: number;
  floorImportMedianMs: number;
  /** importMedianMs / floorImportMedianMs; the target is at most 1.25. */
  ratio: number;
}

export interface CostRow {
  item: string;
  usdPerMillion: number;
  breakdown: Record<string, number>;
}

/** The cost model's rows at several Lambda memory sizes (bench/cost.ts costByMemory). */
export interface MemoryComparison {
  rows: {
    memoryMb: number;
    /** Wall time per CPU ms at this size (1769/memory, at least 1). */
    cpuScale: number;
    /** Total USD per million of each cost-model row, by its item. */
    usdPerMillion: Record<string, number>;
    /** Billed duration of one request, ms, for a few routes. */
    billedMs: Record<string, number>;
  }[];
  /** The cheapest memory size per item. */
  cheapest: Record<string, number>;
}

export interface BenchResults {
  date: string;
  cores: number;
  node: string;
  throughput: ThroughputRow[];
  layers: LayerRow[];
  roundTrips: RoundTripRow[];
  coldStart: ColdStartRow[];
  cost: { prices: Record<string, string>; rows: CostRow[]; assumptions: string[] };
  /** Issue 13: the cost rows at 256, 512 and 1024 MB; absent in results before it. */
  costByMemory?: MemoryComparison;
  /** Issue 13: a JWT access token verified locally against introspection over HTTP; absent before it. */
  jwtVerify?: JwtVerifyResult;
}

/** One way a downstream service checks an access token (bench/jwt-verify.ts). */
export interface JwtVerifyRow {
  method: string;
  /** The broker's store for introspection; 'none' for local verification (no broker involved). */
  store: 'none' | 'memory' | 'dynalite';
  /** CPU µs per check in the caller (the downstream service). */
  callerCpuMicros: number;
  /** CPU µs per check in the broker process (near 0 for local verification). */
  brokerCpuMicros: number;
  /** 1e6 / (caller + broker CPU µs): checks per second one core can carry. */
  perSecondPerCore: number;
  /** Measured wall-clock rate on the (shared) bench machine. */
  measuredPerSecond: number;
  /** Whether a token revoked at the broker fails this check at once. */
  seesRevocation: boolean;
}

export interface JwtVerifyResult {
  /** Length of the JWT access token checked, in characters. */
  tokenBytes: number;
  rows: JwtVerifyRow[];
}
