/**
 * The scale model (issue 13, item 6): from a traffic mix, the load it puts on DynamoDB (per table
 * and on the hottest single items), on Lambda (concurrency per function) and on API Gateway, each
 * against the limit that applies, and at what request rate of the same mix each limit bites.
 * Pure: no I/O, no clock. bench/scale-model.ts feeds it the measured durations and round trips
 * (bench/results/latest.json) and the stack's own limits (lib/constructs), and prints it.
 */
import { DEFAULTS } from '../functions/config.js';
import { DEFAULT_LIFETIMES, DEFAULT_SETTINGS } from '../functions/domain/tenant.js';
import { MODEL_DEFAULTS, UNITS_PER_CALL } from './cost.js';

/** The routes a mix may name (requests per second each). */
export const SCALE_ROUTES = [
  'validate',
  'introspection',
  'service-token',
  'anonymous-login',
  'anonymous-refresh',
  'customer-login',
  'customer-refresh',
  'logout',
  'authorize-page',
  'authorize-sign-in',
  'authorization-code',
  'grant-refresh',
  'discovery',
] as const;
export type ScaleRoute = (typeof SCALE_ROUTES)[number];

export type ModelFunction = 'oauth' | 'storefront' | 'authorize' | 'discovery';

interface RouteFacts {
  label: string;
  fn: ModelFunction;
  /** The API Gateway route key (functions/http/route-table.ts). */
  routeKey: string;
  /** Which directory items a request reads (held in memory per warm instance for the directory hold). */
  reads: { tenant: boolean; client: boolean; appClient: boolean };
  /** Request units per DynamoDB call (see UNITS). */
  units: { rruPerRead: number; wruPerWrite: number };
}

/**
 * Request units per call of the routes bench/cost.ts does not price. Reads are strongly
 * consistent, items under 4 KB: 1 RRU. Writes: 1 WRU per started KB; a family item 2 WRU.
 */
const CODE_FLOW_UNITS = {
  // The pending request (< 1 KB).
  'authorize-page': { rruPerRead: 1, wruPerWrite: 1 },
  // Pending request, customer, customer re-read; attempt reservation, code, index entry, attempts cleared.
  'authorize-sign-in': { rruPerRead: 1, wruPerWrite: 1 },
  // The authorization; family (2 WRU), index entry (1), redemption (1): 4 WRU over 3 writes.
  'authorization-code': { rruPerRead: 1, wruPerWrite: 4 / 3 },
  // The family's conditional write (2 WRU); a JWT app client also reads the family (1 RRU).
  'grant-refresh': { rruPerRead: 1, wruPerWrite: 2 },
  discovery: { rruPerRead: 1, wruPerWrite: 1 },
} as const;

const none = { tenant: false, client: false, appClient: false };
const tenantOnly = { tenant: true, client: false, appClient: false };

export const ROUTE_FACTS: Record<ScaleRoute, RouteFacts> = {
  validate: {
    label: 'validate (storefront token, by a downstream service)',
    fn: 'storefront',
    routeKey: 'GET /customer/{tenant}/validateauthtoken',
    reads: tenantOnly,
    units: UNITS_PER_CALL.validate,
  },
  introspection: {
    label: 'introspection (RFC 7662, of a service token)',
    fn: 'oauth',
    routeKey: 'POST /oauth/introspect',
    reads: { tenant: true, client: true, appClient: false },
    units: UNITS_PER_CALL.introspection,
  },
  'service-token': {
    label: 'service token (client_credentials), cached or minted',
    fn: 'oauth',
    routeKey: 'POST /oauth/token',
    reads: { tenant: false, client: true, appClient: false },
    units: UNITS_PER_CALL['service-token-minted'],
  },
  'anonymous-login': {
    label: 'anonymous login (storefront)',
    fn: 'storefront',
    routeKey: 'GET /customerlogin/auth/anonymous/login',
    reads: tenantOnly,
    units: UNITS_PER_CALL['anonymous-login'],
  },
  'anonymous-refresh': {
    label: 'anonymous refresh',
    fn: 'storefront',
    routeKey: 'GET /customerlogin/auth/anonymous/refresh',
    reads: tenantOnly,
    units: UNITS_PER_CALL['anonymous-refresh'],
  },
  'customer-login': {
    label: 'customer login (scrypt)',
    fn: 'storefront',
    routeKey: 'POST /customer/{tenant}/login',
    reads: tenantOnly,
    units: UNITS_PER_CALL['customer-login'],
  },
  'customer-refresh': {
    label: 'customer refresh',
    fn: 'storefront',
    routeKey: 'GET /customer/{tenant}/refreshauthtoken',
    reads: tenantOnly,
    units: UNITS_PER_CALL['customer-refresh'],
  },
  logout: {
    label: 'logout',
    fn: 'storefront',
    routeKey: 'GET /customer/{tenant}/logout',
    reads: tenantOnly,
    units: UNITS_PER_CALL.logout,
  },
  'authorize-page': {
    label: 'code flow: GET /oauth/authorize (sign-in page)',
    fn: 'authorize',
    routeKey: 'GET /oauth/authorize',
    reads: { tenant: true, client: false, appClient: true },
    units: CODE_FLOW_UNITS['authorize-page'],
  },
  'authorize-sign-in': {
    label: 'code flow: POST /oauth/authorize (sign-in, scrypt)',
    fn: 'authorize',
    routeKey: 'POST /oauth/authorize',
    reads: { tenant: true, client: false, appClient: true },
    units: CODE_FLOW_UNITS['authorize-sign-in'],
  },
  'authorization-code': {
    label: 'code flow: authorization_code grant',
    fn: 'oauth',
    routeKey: 'POST /oauth/token',
    reads: { tenant: true, client: false, appClient: true },
    units: CODE_FLOW_UNITS['authorization-code'],
  },
  'grant-refresh': {
    label: 'code flow: refresh_token grant',
    fn: 'oauth',
    routeKey: 'POST /oauth/token',
    reads: { tenant: true, client: false, appClient: true },
    units: CODE_FLOW_UNITS['grant-refresh'],
  },
  discovery: {
    label: 'discovery: JWKS and metadata',
    fn: 'discovery',
    routeKey: 'GET /.well-known/jwks.json',
    reads: none,
    units: CODE_FLOW_UNITS.discovery,
  },
};

/** A traffic mix: what arrives, and the counts and settings that decide where it lands. */
export interface TrafficMix {
  name: string;
  description: string;
  /** Requests per second per route; a route left out gets none. */
  rps: Partial<Record<ScaleRoute, number>>;
  tenants: number;
  /** Share of all tenant-bound traffic that belongs to the busiest tenant. */
  hottestTenantShare: number;
  serviceClients: number;
  /** Distinct scope sets each service client asks for (one cache item each). */
  scopeSetsPerClient: number;
  /**
   * Share of service-token requests made by the busiest client (all with one scope set), and
   * share of introspections that present that client's (shared, cached) token.
   */
  hottestClientShare: number;
  /** Share of introspections made by the busiest introspecting client (a resource server, an API gateway). */
  hottestIntrospectorShare: number;
  appClients: number;
  /** Share of the code-flow traffic of the busiest app client. */
  hottestAppClientShare: number;
  /** Service access-token lifetime, seconds (tenant setting lifetimes.serviceAccess). */
  serviceAccessSeconds: number;
  /** Storefront access-token lifetimes, seconds: a live session refreshes once per lifetime. */
  anonymousAccessSeconds: number;
  customerAccessSeconds: number;
  /** The tenant's refresh grace window, seconds (settings.refreshGraceSeconds). */
  refreshGraceSeconds: number;
  /** SERVICE_TOKEN_REUSE_SHARE: a cached token is reused for this share of its life. */
  serviceTokenReuseShare: number;
  /** SERVICE_TOKEN_NEAR_CACHE_SECONDS: the in-process near cache's staleness; 0 = off. */
  nearCacheSeconds: number;
  /** How long a warm instance holds a tenant or client (config.ts DEFAULTS.awsHold.directory). */
  directoryHoldSeconds: number;
  /** How long discovery holds the published keys (DEFAULTS.awsHold.publishedKeys). */
  publishedKeysHoldSeconds: number;
  /**
   * Warm instances per function. Left out: the needed concurrency × warmFactor, rounded up, at
   * most the reservation (Lambda keeps more environments warm than are busy at any instant).
   */
  warmInstances?: Partial<Record<ModelFunction, number>>;
  warmFactor: number;
  /** One storefront session used by many tabs at once (a shared link, a kiosk, a bot). */
  viralSession: {
    tabs: number;
    /** Validations of its access token per tab per second. */
    validatesPerTabPerSecond: number;
  };
}

/** What bench/results/latest.json measured. */
export interface Measured {
  /** Broker CPU ms per request (memory store), by cost-model route key. */
  cpuMs: Partial<Record<string, number>>;
  /** DynamoDB calls per request on a warm function, by round-trip route key. */
  roundTrips: Partial<Record<string, { reads: number; writes: number }>>;
}

/** Duration model, as bench/cost.ts: billed ms = CPU ms × scale + calls × latency + rounding. */
export interface DurationModel {
  lambdaCpuScale: number;
  dynamoDbLatencyMs: number;
  roundingMs: number;
  /** SDK client CPU per DynamoDB call not in the memory-store CPU; 0 as bench/cost.ts counts it. */
  sdkCpuMsPerCall: number;
}

export const DEFAULT_DURATION_MODEL: DurationModel = {
  lambdaCpuScale: MODEL_DEFAULTS.lambdaCpuScale,
  dynamoDbLatencyMs: MODEL_DEFAULTS.dynamoDbLatencyMs,
  roundingMs: MODEL_DEFAULTS.roundingMs,
  sdkCpuMsPerCall: 0,
};

export interface Limits {
  /** API Gateway: requests per second per account and Region (all APIs), adjustable. */
  apiAccountRps: number;
  apiAccountBurst: number;
  /** The stage's default throttle, applied to each route (lib/constructs/broker-api.ts). */
  stageRouteRps: number;
  stageRouteBurst: number;
  /** Route settings that override the stage's throttle, by route key. */
  routeRps: Record<string, number>;
  /** Lambda: concurrent executions per account and Region, adjustable; at least 100 stay unreserved. */
  lambdaAccountConcurrency: number;
  lambdaUnreservedMinimum: number;
  /** Lambda: new execution environments per function per 10 seconds. */
  lambdaScalingPer10s: number;
  /** Reserved concurrency per function (lib/constructs/broker-functions.ts). */
  reserved: Record<ModelFunction, number>;
  /** DynamoDB: per partition (so per item), a linear combination of both. */
  partitionRcu: number;
  partitionWcu: number;
  /** DynamoDB on-demand: per-table throughput quota (default, adjustable). */
  tableRru: number;
  tableWru: number;
  /** DynamoDB on-demand: what a new table serves at once before it has seen a higher peak. */
  newTableRru: number;
  newTableWru: number;
}

/** AWS's published defaults (see ASSUMPTIONS); the stack's own numbers come from lib/ in the script. */
export const AWS_LIMITS: Omit<Limits, 'stageRouteRps' | 'stageRouteBurst' | 'routeRps' | 'reserved'> = {
  apiAccountRps: 10_000,
  apiAccountBurst: 5_000,
  lambdaAccountConcurrency: 1_000,
  lambdaUnreservedMinimum: 100,
  lambdaScalingPer10s: 1_000,
  partitionRcu: 3_000,
  partitionWcu: 1_000,
  tableRru: 40_000,
  tableWru: 40_000,
  newTableRru: 12_000,
  newTableWru: 4_000,
};

// --- results -----------------------------------------------------------------------------------

export interface RouteLoad {
  route: ScaleRoute;
  rps: number;
  fn: ModelFunction;
  routeKey: string;
  /** Billed duration per request, ms (mean over cached and minted for service tokens). */
  durationMs: number;
  concurrency: number;
  rru: number;
  wru: number;
  /** Where the CPU figure came from: measured, or assumed from another route. */
  cpuSource: string;
}

export interface FunctionLoad {
  fn: ModelFunction;
  /** Concurrency needed, with each login-throttled route at most at its throttle. */
  concurrency: number;
  reserved: number;
  warmInstances: number;
  /** From zero to the needed concurrency at Lambda's scaling rate, seconds. */
  rampSeconds: number;
}

export interface HotItem {
  item: string;
  key: string;
  rcu: number;
  wcu: number;
  /** rcu / partition RCU + wcu / partition WCU. */
  use: number;
  /** Reads per second without what keeps the item off the hot path (undefined: nothing does). */
  rcuWithout?: number;
  /** Its reads at every function at its full reservation: a bound that no request rate moves. */
  rcuBound?: number;
  keptOffBy: string;
}

export interface LimitUse {
  id: string;
  /**
   * A setting of the stack (its props), an AWS quota (raised on request), a per-item limit nothing
   * raises, or a new table's starting capacity (soft: it grows with traffic, or is pre-warmed).
   */
  kind: 'stack' | 'quota' | 'item' | 'ramp';
  service: 'API Gateway' | 'Lambda' | 'DynamoDB';
  limit: string;
  demand: number;
  capacity: number;
  unit: string;
  use: number;
  /** Total request rate of this mix at which the limit bites (undefined: not within 1000× the mix). */
  bitesAtRps?: number;
  raise: string;
}

export interface ViralSession {
  tabs: number;
  validateRcu: number;
  /** In the second all tabs refresh the same token at once (its access token expired for all of them). */
  burstRcu: number;
  burstWcu: number;
  burstUse: number;
  /** Tabs that, refreshing in the same second, take the item to its partition limit. */
  tabsAtLimit: number;
}

export interface ScaleResult {
  mix: TrafficMix;
  totalRps: number;
  routes: RouteLoad[];
  serviceTokens: { pairs: number; mintedRps: number; cachedRps: number; cacheItemReads: number; cacheItemReadsWithout: number };
  functions: FunctionLoad[];
  api: { routeKey: string; rps: number; limit: number }[];
  table: { rru: number; wru: number; rruWithoutGuards: number };
  hotItems: HotItem[];
  viralSession: ViralSession;
  /**
   * Live sessions the refresh rates imply (Little's law: each refreshes once per access-token
   * lifetime), a check that the mix's refresh rates fit its logins.
   */
  liveSessions: { anonymous: number; customer: number };
  /** Sorted by the request rate at which each bites, soonest first. */
  limits: LimitUse[];
}

// --- the model ---------------------------------------------------------------------------------

/** Which measured scenario stands in for a route's CPU when it has none of its own. */
const CPU_STAND_IN: Partial<Record<string, string>> = {
  'authorize-page': 'anonymous-login',
  'authorize-sign-in': 'customer-login',
  'authorization-code': 'service-token-minted',
  'grant-refresh': 'customer-refresh',
  discovery: 'validate',
};

function cpuOf(measured: Measured, key: string): { ms: number; source: string } {
  const own = measured.cpuMs[key];
  if (own !== undefined) return { ms: own, source: 'measured' };
  const standIn = CPU_STAND_IN[key];
  const borrowed = standIn === undefined ? undefined : measured.cpuMs[standIn];
  if (standIn !== undefined && borrowed !== undefined) return { ms: borrowed, source: `as ${standIn}` };
  return { ms: 1, source: 'assumed 1 ms' };
}

/**
 * DynamoDB calls per request: measured, or structural (discovery: keys held in memory). A route
 * the mix does not use (`used` false) may lack a count.
 */
function callsOf(measured: Measured, key: string, used = true): { reads: number; writes: number } {
  if (key === 'discovery') return { reads: 0, writes: 0 };
  // The near cache makes a warm hit cost 0 calls; the model counts the store reads itself.
  if (key === 'service-token-cached') return { reads: 1, writes: 0 };
  const counted = measured.roundTrips[key];
  if (counted) return counted;
  if (!used) return { reads: 0, writes: 0 };
  throw new Error(`no round-trip count for ${key} in the measured results`);
}

function billedMs(cpuMs: number, calls: number, d: DurationModel): number {
  return cpuMs * d.lambdaCpuScale + calls * (d.dynamoDbLatencyMs + d.sdkCpuMsPerCall * d.lambdaCpuScale) + d.roundingMs;
}

const FUNCTIONS: readonly ModelFunction[] = ['oauth', 'storefront', 'authorize', 'discovery'];

/** Every route's rate multiplied by k; counts and settings unchanged. */
export function scaleMix(mix: TrafficMix, k: number): TrafficMix {
  const rps = Object.fromEntries(Object.entries(mix.rps).map(([route, r]) => [route, (r ?? 0) * k]));
  return { ...mix, rps };
}

export function totalRps(mix: TrafficMix): number {
  return Object.values(mix.rps).reduce<number>((sum, r) => sum + (r ?? 0), 0);
}

/**
 * Store reads of one item that each of `instances` warm instances holds for `holdSeconds` after
 * reading it, when `requestRps` requests for it (Poisson, spread evenly) reach those instances.
 * Each instance reads once per hold plus the wait for its next request: r / (1 + r·hold / N)
 * in all. Few requests: every one reads (r); many: each instance once per hold (N / hold).
 */
export function heldReads(requestRps: number, instances: number, holdSeconds: number): number {
  if (holdSeconds <= 0 || instances <= 0 || requestRps <= 0) return requestRps;
  return requestRps / (1 + (requestRps * holdSeconds) / instances);
}

/** The model at the mix's own rates, without bite points. */
export function evaluate(mix: TrafficMix, measured: Measured, limits: Limits, d: DurationModel = DEFAULT_DURATION_MODEL): ScaleResult {
  const rps = (route: ScaleRoute) => mix.rps[route] ?? 0;

  // Service tokens: one mint per client+scope pair per reuse window; the rest are cache hits.
  const pairs = mix.serviceClients * mix.scopeSetsPerClient;
  const reuseWindow = mix.serviceTokenReuseShare * mix.serviceAccessSeconds;
  const mintedRps = Math.min(rps('service-token'), pairs / reuseWindow);
  const cachedRps = rps('service-token') - mintedRps;
  const minted = cpuOf(measured, 'service-token-minted');
  const cached = cpuOf(measured, 'service-token-cached');
  const mintCalls = callsOf(measured, 'service-token-minted', rps('service-token') > 0);
  const mintMs = billedMs(minted.ms, mintCalls.reads + mintCalls.writes, d);

  // Pass 1 sizes the warm instances as if every cached request read the store (an upper bound on
  // duration, so on instances, so on the reads instances make): more instances only add reads.
  const perRoute = (cacheStoreShare: number) =>
    SCALE_ROUTES.map((route) => {
      const r = rps(route);
      if (route === 'service-token') {
        const hitMs = billedMs(cached.ms, cacheStoreShare, d);
        const durationMs = r > 0 ? (cachedRps * hitMs + mintedRps * mintMs) / r : hitMs;
        return { route, r, durationMs, cpuSource: `cached ${cached.source}, minted ${minted.source}` };
      }
      const cpu = cpuOf(measured, route);
      const calls = callsOf(measured, route, r > 0);
      return { route, r, durationMs: billedMs(cpu.ms, calls.reads + calls.writes, d), cpuSource: cpu.source };
    });
  // A route with its own throttle (the logins: scrypt) reaches its function at most at that rate;
  // the reservations are sized for it (README "Deploy"), and its excess is the throttle's row.
  const admitted = (route: ScaleRoute, r: number) => {
    const own = limits.routeRps[ROUTE_FACTS[route].routeKey];
    return own === undefined ? r : Math.min(r, own);
  };
  const concurrencyOf = (rows: ReturnType<typeof perRoute>) => {
    const byFn = Object.fromEntries(FUNCTIONS.map((fn) => [fn, 0])) as Record<ModelFunction, number>;
    for (const row of rows) byFn[ROUTE_FACTS[row.route].fn] += (admitted(row.route, row.r) * row.durationMs) / 1000;
    return byFn;
  };
  const firstPass = concurrencyOf(perRoute(1));
  const warm = Object.fromEntries(
    FUNCTIONS.map((fn) => [
      fn,
      mix.warmInstances?.[fn] ??
        (firstPass[fn] > 0 ? Math.min(limits.reserved[fn], Math.max(1, Math.ceil(firstPass[fn] * mix.warmFactor))) : 0),
    ]),
  ) as Record<ModelFunction, number>;

  // The service-token cache items: the busiest client's one pair, and the others evenly.
  const near = mix.nearCacheSeconds;
  const hottestCachedRps = cachedRps * mix.hottestClientShare;
  const otherPairRps = pairs > 1 ? (cachedRps - hottestCachedRps) / (pairs - 1) : 0;
  const pairReads = (pairRps: number) => (near > 0 ? heldReads(pairRps, warm.oauth, near) : pairRps);
  const cacheItemReads = pairReads(hottestCachedRps);
  const cacheReadsTotal = cacheItemReads + (pairs > 1 ? (pairs - 1) * pairReads(otherPairRps) : 0);
  const cacheStoreShare = cachedRps > 0 ? cacheReadsTotal / cachedRps : 1;

  const rows = perRoute(cacheStoreShare);
  const byFn = concurrencyOf(rows);
  const routes: RouteLoad[] = rows.map((row) => {
    const facts = ROUTE_FACTS[row.route];
    let rru: number;
    let wru: number;
    if (row.route === 'service-token') {
      rru = cacheReadsTotal * facts.units.rruPerRead + mintedRps * mintCalls.reads * facts.units.rruPerRead;
      wru = mintedRps * mintCalls.writes * facts.units.wruPerWrite;
    } else {
      const calls = callsOf(measured, row.route, row.r > 0);
      rru = row.r * calls.reads * facts.units.rruPerRead;
      wru = row.r * calls.writes * facts.units.wruPerWrite;
    }
    return {
      route: row.route,
      rps: row.r,
      fn: facts.fn,
      routeKey: facts.routeKey,
      durationMs: row.durationMs,
      concurrency: (row.r * row.durationMs) / 1000,
      rru,
      wru,
      cpuSource: row.cpuSource,
    };
  });

  const functions: FunctionLoad[] = FUNCTIONS.filter((fn) => byFn[fn] > 0).map((fn) => ({
    fn,
    concurrency: byFn[fn],
    reserved: limits.reserved[fn],
    warmInstances: warm[fn],
    rampSeconds: Math.max(0, Math.ceil(byFn[fn] / limits.lambdaScalingPer10s) - 1) * 10,
  }));

  const apiByKey = new Map<string, number>();
  for (const r of routes) if (r.rps > 0) apiByKey.set(r.routeKey, (apiByKey.get(r.routeKey) ?? 0) + r.rps);
  const api = [...apiByKey].map(([routeKey, r]) => ({ routeKey, rps: r, limit: limits.routeRps[routeKey] ?? limits.stageRouteRps }));

  // --- hot items -------------------------------------------------------------------------------
  const readersOf = (pick: (reads: RouteFacts['reads']) => boolean) => {
    const fns = new Set(
      SCALE_ROUTES.filter((route) => rps(route) > 0 && pick(ROUTE_FACTS[route].reads)).map((route) => ROUTE_FACTS[route].fn),
    );
    const instances = [...fns].reduce((n, fn) => n + warm[fn], 0);
    const bound = [...fns].reduce((n, fn) => n + limits.reserved[fn], 0);
    return { instances, bound };
  };
  const routeRpsWhere = (pick: (route: ScaleRoute) => boolean) => SCALE_ROUTES.filter(pick).reduce((n, route) => n + rps(route), 0);
  const hold = mix.directoryHoldSeconds;
  const use = (rcu: number, wcu: number) => rcu / limits.partitionRcu + wcu / limits.partitionWcu;
  const item = (h: Omit<HotItem, 'use'>): HotItem => ({ ...h, use: use(h.rcu, h.wcu) });

  const tenantRps = mix.hottestTenantShare * routeRpsWhere((route) => ROUTE_FACTS[route].reads.tenant);
  const tenantReaders = readersOf((reads) => reads.tenant);
  // The busiest client item: as a token's client (its requests, its token introspected) or as an introspecting caller.
  const clientRps = Math.max(
    mix.hottestClientShare * (rps('service-token') + rps('introspection')),
    mix.hottestIntrospectorShare * rps('introspection'),
  );
  const clientReaders = readersOf((reads) => reads.client);
  const appClientRps = mix.hottestAppClientShare * routeRpsWhere((route) => ROUTE_FACTS[route].reads.appClient);
  const appClientReaders = readersOf((reads) => reads.appClient);
  const jwksRps = rps('discovery');
  const hottestPairRps = rps('service-token') * mix.hottestClientShare;
  // A cache entry's renewal, once per reuse window, for a client without warm-up (the warm-up
  // renews before the reuse point, off the request path). Without the near cache, every request
  // that reads the entry while the first new mint is in flight mints too. With it, every warm
  // instance holding the old entry mints its own once (README "The near cache"; a Lambda instance
  // serves one request at a time): the instances that see the client within the hold.
  const stampedeWrites =
    near > 0 && warm.oauth > 0
      ? Math.max(1, Math.round(warm.oauth * (1 - Math.exp((-hottestPairRps * near) / warm.oauth))))
      : 1 + Math.floor(hottestPairRps * (mintMs / 1000));
  const sharedTokenReads = mix.hottestClientShare * rps('introspection');

  const hotItems: HotItem[] = [
    item({
      item: 'tenant (busiest tenant)',
      key: 'TENANT / <tenant>',
      rcu: heldReads(tenantRps, tenantReaders.instances, hold),
      wcu: 0,
      rcuWithout: tenantRps,
      rcuBound: tenantReaders.bound / hold,
      keptOffBy: `directory cache: each warm instance reads it once per ${hold} s`,
    }),
    item({
      item: 'service client (busiest client or introspecting caller)',
      key: 'CLIENT / <client id>',
      rcu: heldReads(clientRps, clientReaders.instances, hold),
      wcu: 0,
      rcuWithout: clientRps,
      rcuBound: clientReaders.bound / hold,
      keptOffBy: `directory cache (${hold} s per warm instance)`,
    }),
    item({
      item: 'app client (busiest app client)',
      key: 'APPCLIENT / <client id>',
      rcu: heldReads(appClientRps, appClientReaders.instances, hold),
      wcu: 0,
      rcuWithout: appClientRps,
      rcuBound: appClientReaders.bound / hold,
      keptOffBy: `directory cache (${hold} s per warm instance)`,
    }),
    item({
      item: 'published keys',
      key: 'JWKS / K',
      rcu: heldReads(jwksRps, warm.discovery, mix.publishedKeysHoldSeconds),
      wcu: 0,
      rcuWithout: jwksRps,
      rcuBound: limits.reserved.discovery / mix.publishedKeysHoldSeconds,
      keptOffBy: `discovery's key cache (${mix.publishedKeysHoldSeconds} s per warm instance); verifiers cache the JWK Set (max-age)`,
    }),
    item({
      item: "service-token cache entry (busiest client's scope set)",
      key: 'CACHE#<client id> / <scopes>',
      rcu: cacheItemReads,
      wcu: stampedeWrites,
      rcuWithout: hottestCachedRps,
      ...(near > 0 ? { rcuBound: limits.reserved.oauth / near } : {}),
      keptOffBy:
        near > 0
          ? `near cache: each warm instance reads it at most once per ${near} s. Writes (shown: the renewal burst, once per reuse window): each warm instance holding the old entry mints once; the warm-up renews it before that, off the request path`
          : 'nothing (near cache off): every cached request reads it',
    }),
    item({
      item: "service-token record of the busiest client's shared token (introspected)",
      key: 'T#<selector> / T',
      rcu: sharedTokenReads,
      wcu: 0,
      keptOffBy:
        'nothing in the broker: every introspection reads it (strongly consistent). Relief: JWT access tokens verified with the JWK Set, or more clients/scope sets',
    }),
  ];

  // A viral session: every tab validates; at its access token's expiry all tabs refresh the same
  // refresh token in one second: one conditional write wins, each loser's write fails (a failed
  // conditional write still consumes write units of the item's size, 2 WRU) and reads the family
  // (1 RRU) to answer the grace retry with the same successor.
  const familyWru = UNITS_PER_CALL['customer-refresh'].wruPerWrite;
  const tabs = mix.viralSession.tabs;
  const validateRcu = tabs * mix.viralSession.validatesPerTabPerSecond;
  const burstRcu = validateRcu + Math.max(0, tabs - 1);
  const burstWcu = tabs * familyWru;
  const perTabUse =
    1 / limits.partitionRcu + familyWru / limits.partitionWcu + mix.viralSession.validatesPerTabPerSecond / limits.partitionRcu;
  const viralSession: ViralSession = {
    tabs,
    validateRcu,
    burstRcu,
    burstWcu,
    burstUse: use(burstRcu, burstWcu),
    tabsAtLimit: Math.floor((1 + 1 / limits.partitionRcu) / perTabUse),
  };

  // --- table ---------------------------------------------------------------------------------
  const rru = routes.reduce((n, r) => n + r.rru, 0);
  const wru = routes.reduce((n, r) => n + r.wru, 0);
  // Without the near cache every cached request reads its entry (directory and key reads, also
  // held in memory, are not in the per-request counts at all).
  const rruWithoutGuards = rru - cacheReadsTotal + cachedRps;

  // --- limits --------------------------------------------------------------------------------
  const total = totalRps(mix);
  const limitUses: LimitUse[] = [
    {
      id: 'api-account',
      kind: 'quota',
      service: 'API Gateway',
      limit: 'account throttle per Region (all APIs)',
      demand: total,
      capacity: limits.apiAccountRps,
      unit: 'req/s',
      use: total / limits.apiAccountRps,
      raise: `Service Quotas increase (burst ${limits.apiAccountBurst})`,
    },
    ...api.map((a) => ({
      id: `api-route:${a.routeKey}`,
      kind: 'stack' as const,
      service: 'API Gateway' as const,
      limit: `${limits.routeRps[a.routeKey] !== undefined ? 'route throttle' : 'stage throttle, per route'}: ${a.routeKey}`,
      demand: a.rps,
      capacity: a.limit,
      unit: 'req/s',
      use: a.rps / a.limit,
      raise:
        limits.routeRps[a.routeKey] !== undefined
          ? 'loginRateLimit (stack prop); each login holds ~1.1 s of Lambda, so raise reserved concurrency with it'
          : 'rateLimit / burstLimit (stack props)',
    })),
    ...functions.map((f) => ({
      id: `lambda-reserved:${f.fn}`,
      kind: 'stack' as const,
      service: 'Lambda' as const,
      limit: `reserved concurrency: ${f.fn}`,
      demand: f.concurrency,
      capacity: f.reserved,
      unit: 'executions',
      use: f.concurrency / f.reserved,
      raise: 'reservedConcurrency (stack prop), within the account quota less 100 unreserved',
    })),
    {
      id: 'lambda-account',
      kind: 'quota',
      service: 'Lambda',
      limit: 'account concurrency per Region',
      demand: functions.reduce((n, f) => n + f.concurrency, 0),
      capacity: limits.lambdaAccountConcurrency,
      unit: 'executions',
      use: functions.reduce((n, f) => n + f.concurrency, 0) / limits.lambdaAccountConcurrency,
      raise: 'Service Quotas increase, then raise the reservations',
    },
    ...hotItems.map((h) => ({
      id: `item:${h.key}`,
      kind: 'item' as const,
      service: 'DynamoDB' as const,
      limit: `one item: ${h.item}`,
      demand: h.use * limits.partitionRcu,
      capacity: limits.partitionRcu,
      unit: 'RCU-eq/s',
      use: h.use,
      raise: 'no quota raises it: spread the key (see keptOffBy)',
    })),
    {
      id: 'table-rru',
      kind: 'quota',
      service: 'DynamoDB',
      limit: 'table read quota (on-demand)',
      demand: rru,
      capacity: limits.tableRru,
      unit: 'RRU/s',
      use: rru / limits.tableRru,
      raise: 'Service Quotas increase (table-level read throughput)',
    },
    {
      id: 'table-wru',
      kind: 'quota',
      service: 'DynamoDB',
      limit: 'table write quota (on-demand)',
      demand: wru,
      capacity: limits.tableWru,
      unit: 'WRU/s',
      use: wru / limits.tableWru,
      raise: 'Service Quotas increase (table-level write throughput)',
    },
    {
      id: 'new-table-rru',
      kind: 'ramp',
      service: 'DynamoDB',
      limit: "a new on-demand table's instant reads (soft: until pre-warmed or ramped)",
      demand: rru,
      capacity: limits.newTableRru,
      unit: 'RRU/s',
      use: rru / limits.newTableRru,
      raise: 'pre-warm (warm throughput) before launch, or ramp: on-demand follows twice the previous peak',
    },
    {
      id: 'new-table-wru',
      kind: 'ramp',
      service: 'DynamoDB',
      limit: "a new on-demand table's instant writes (soft: until pre-warmed or ramped)",
      demand: wru,
      capacity: limits.newTableWru,
      unit: 'WRU/s',
      use: wru / limits.newTableWru,
      raise: 'pre-warm (warm throughput) before launch, or ramp: on-demand follows twice the previous peak',
    },
  ];

  return {
    mix,
    totalRps: total,
    routes,
    serviceTokens: { pairs, mintedRps, cachedRps, cacheItemReads, cacheItemReadsWithout: hottestCachedRps },
    functions,
    api,
    table: { rru, wru, rruWithoutGuards },
    hotItems,
    viralSession,
    liveSessions: {
      anonymous: rps('anonymous-refresh') * mix.anonymousAccessSeconds,
      customer: rps('customer-refresh') * mix.customerAccessSeconds,
    },
    limits: limitUses,
  };
}

/** The mix's multiple at which one limit's use reaches 1 (bisection; every use grows with the rates). */
function biteFactor(useAt: (k: number) => number | undefined): number | undefined {
  const top = 1000;
  const at = useAt(top);
  if (at === undefined || at < 1) return undefined;
  let lo = 0;
  let hi = top;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if ((useAt(mid) ?? 0) >= 1) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The model, each limit with the request rate of this mix at which it bites, soonest first. */
export function scaleModel(mix: TrafficMix, measured: Measured, limits: Limits, d: DurationModel = DEFAULT_DURATION_MODEL): ScaleResult {
  const result = evaluate(mix, measured, limits, d);
  const useAt = (id: string) => (k: number) => evaluate(scaleMix(mix, k), measured, limits, d).limits.find((l) => l.id === id)?.use;
  for (const limit of result.limits) {
    const k = biteFactor(useAt(limit.id));
    if (k !== undefined) limit.bitesAtRps = k * result.totalRps;
  }
  result.limits.sort((a, b) => (a.bitesAtRps ?? Number.POSITIVE_INFINITY) - (b.bitesAtRps ?? Number.POSITIVE_INFINITY) || b.use - a.use);
  return result;
}

/** The first limit that bites, if any does within 1000× the mix; of some kinds only, if given. */
export function firstBite(result: ScaleResult, kinds?: readonly LimitUse['kind'][]): LimitUse | undefined {
  return result.limits.find((l) => l.bitesAtRps !== undefined && (kinds === undefined || kinds.includes(l.kind)));
}

// --- presets -----------------------------------------------------------------------------------

/**
 * A commerce platform's mix, as shares of all requests. Storefront pages call the commerce API,
 * which validates the shopper's token on most calls (validate dominates); back-end services call
 * each other with cached service tokens and introspect the tokens they receive; every new visit
 * starts an anonymous session; a small share of visits log in (scrypt), refresh and log out; a few
 * apps use the code flow; verifiers fetch the JWK Set now and then. An assumption, not a
 * measurement: name your own with --mix.
 */
export const COMMERCE_SHARES: Readonly<Record<ScaleRoute, number>> = {
  validate: 0.42,
  introspection: 0.2,
  'service-token': 0.15,
  'anonymous-login': 0.1,
  'anonymous-refresh': 0.04,
  'customer-refresh': 0.04,
  'grant-refresh': 0.02,
  'customer-login': 0.008,
  logout: 0.005,
  'authorize-page': 0.005,
  'authorize-sign-in': 0.004,
  'authorization-code': 0.004,
  discovery: 0.004,
};

/** The broker's own defaults (functions/config.ts, domain/tenant.ts). */
const COMMON = {
  scopeSetsPerClient: 1,
  serviceAccessSeconds: DEFAULT_LIFETIMES.serviceAccess,
  anonymousAccessSeconds: DEFAULT_LIFETIMES.anonymousAccess,
  customerAccessSeconds: DEFAULT_LIFETIMES.customerAccess,
  refreshGraceSeconds: DEFAULT_SETTINGS.refreshGraceSeconds,
  serviceTokenReuseShare: DEFAULTS.serviceTokenReuseShare,
  nearCacheSeconds: DEFAULTS.serviceTokenNearCacheSeconds,
  directoryHoldSeconds: DEFAULTS.awsHold.directory,
  publishedKeysHoldSeconds: DEFAULTS.awsHold.publishedKeys,
  warmFactor: 2,
  viralSession: { tabs: 200, validatesPerTabPerSecond: 1 },
};

function commerce(
  total: number,
  counts: Pick<
    TrafficMix,
    | 'tenants'
    | 'hottestTenantShare'
    | 'serviceClients'
    | 'hottestClientShare'
    | 'hottestIntrospectorShare'
    | 'appClients'
    | 'hottestAppClientShare'
  >,
): TrafficMix {
  const rps = Object.fromEntries(SCALE_ROUTES.map((route) => [route, COMMERCE_SHARES[route] * total])) as Record<ScaleRoute, number>;
  return {
    name: `commerce-${total >= 1000 ? `${total / 1000}k` : total}`,
    description:
      `${total.toLocaleString('en-US')} req/s of the commerce mix; ${counts.tenants} tenants (busiest ${counts.hottestTenantShare * 100}%), ` +
      `${counts.serviceClients} service clients (busiest ${counts.hottestClientShare * 100}% of service-token requests and introspected tokens; ` +
      `busiest introspecting caller ${counts.hottestIntrospectorShare * 100}%), ${counts.appClients} app clients`,
    rps,
    ...COMMON,
    ...counts,
  };
}

export const PRESETS: readonly TrafficMix[] = [
  commerce(1_000, {
    tenants: 50,
    hottestTenantShare: 0.2,
    serviceClients: 100,
    hottestClientShare: 0.2,
    hottestIntrospectorShare: 0.5,
    appClients: 20,
    hottestAppClientShare: 0.3,
  }),
  commerce(10_000, {
    tenants: 200,
    hottestTenantShare: 0.1,
    serviceClients: 400,
    hottestClientShare: 0.1,
    hottestIntrospectorShare: 0.3,
    appClients: 50,
    hottestAppClientShare: 0.2,
  }),
  commerce(100_000, {
    tenants: 1_000,
    hottestTenantShare: 0.05,
    serviceClients: 2_000,
    hottestClientShare: 0.05,
    hottestIntrospectorShare: 0.2,
    appClients: 200,
    hottestAppClientShare: 0.1,
  }),
];

/** What the model takes as given, printed with every run. */
export const ASSUMPTIONS: readonly string[] = [
  'Durations as bench/cost.ts models them: billed ms = broker CPU ms (memory store, bench/results/latest.json) × the Lambda CPU factor + 4 ms per DynamoDB call + 1 ms rounding; SDK client CPU per call is not in the memory-store CPU (issue 13 item 2 measures it). Routes the bench does not time borrow a similar route\'s CPU (column "CPU").',
  "Concurrency = req/s × billed duration (Little's law), per function, for the demand of the mix, except that a login-throttled route (customer login, the sign-in form: scrypt, ~1.1 s each) reaches its function at most at its throttle (50 req/s): the reservations are sized for that, and the excess demand shows in the throttle's own row. The route table's concurrency column is the unthrottled demand.",
  'Warm instances = needed concurrency × warm factor, at most the reservation; each one reads every tenant, client and key it serves once per hold, and each service-token cache entry once per near-cache staleness.',
  'DynamoDB reads are strongly consistent (1 RRU per item ≤ 4 KB); writes 1 WRU per started KB; a family item 2 WRU; a failed conditional write consumes write units as a write of the item would.',
  'Hot items use one partition each: 3,000 RCU or 1,000 WCU per second, or a linear mix (use = RCU/3000 + WCU/1000). Adaptive capacity isolates a hot item in its own partition, but nothing lets one item exceed that.',
  "AWS defaults as documented (check your account's Service Quotas): API Gateway 10,000 req/s per account and Region, burst 5,000; Lambda 1,000 concurrent executions per account and Region (100 stay unreserved), each function scales by 1,000 execution environments per 10 s; DynamoDB on-demand 40,000 RRU and 40,000 WRU per table; a new on-demand table serves 12,000 RRU and 4,000 WRU at once, more after it has seen a higher peak (or when pre-warmed).",
  "The stack's own limits come from lib/constructs: the stage throttle per route, the login route throttles, the reserved concurrency per function.",
];
