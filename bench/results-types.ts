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

export interface BenchResults {
  date: string;
  cores: number;
  node: string;
  throughput: ThroughputRow[];
  layers: LayerRow[];
  roundTrips: RoundTripRow[];
  coldStart: ColdStartRow[];
  cost: { prices: Record<string, string>; rows: CostRow[]; assumptions: string[] };
}
