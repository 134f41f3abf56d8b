import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { measuredFrom, stackLimits } from '../../bench/scale-model.js';
import {
  AWS_LIMITS,
  COMMERCE_SHARES,
  type DurationModel,
  evaluate,
  firstBite,
  heldReads,
  type Limits,
  type Measured,
  PRESETS,
  ROUTE_FACTS,
  SCALE_ROUTES,
  scaleModel,
  type TrafficMix,
} from '../../bench/scale-model-core.js';
import { formatScaleModel } from '../../bench/scale-model-format.js';
import type { BenchResults } from '../../bench/results-types.js';
import { ROUTES, routeKey } from '../../functions/http/route-table.js';

/** Plain durations: billed ms = CPU ms + 4 ms per call + 1 ms. */
const PLAIN: DurationModel = { lambdaCpuScale: 1, dynamoDbLatencyMs: 4, roundingMs: 1, sdkCpuMsPerCall: 0 };

const LIMITS: Limits = {
  ...AWS_LIMITS,
  stageRouteRps: 1000,
  stageRouteBurst: 2000,
  routeRps: { 'POST /customer/{tenant}/login': 50, 'POST /oauth/authorize': 50 },
  reserved: { oauth: 200, storefront: 200, authorize: 100, discovery: 20 },
};

const MEASURED: Measured = {
  cpuMs: {
    validate: 1,
    introspection: 1,
    'service-token-cached': 1,
    'service-token-minted': 2,
    'anonymous-login': 1,
    'customer-login': 300,
  },
  roundTrips: {
    validate: { reads: 1, writes: 0 },
    introspection: { reads: 1, writes: 0 },
    'service-token-minted': { reads: 1, writes: 2 },
    'anonymous-login': { reads: 0, writes: 1 },
    'customer-login': { reads: 2, writes: 4 },
  },
};

const mix = (over: Partial<TrafficMix>): TrafficMix => ({
  name: 'test',
  description: 'test',
  rps: {},
  tenants: 10,
  hottestTenantShare: 0.5,
  serviceClients: 10,
  scopeSetsPerClient: 1,
  hottestClientShare: 0.5,
  hottestIntrospectorShare: 0.5,
  appClients: 1,
  hottestAppClientShare: 1,
  serviceAccessSeconds: 1000,
  anonymousAccessSeconds: 3600,
  customerAccessSeconds: 14_400,
  refreshGraceSeconds: 10,
  serviceTokenReuseShare: 0.5,
  nearCacheSeconds: 5,
  directoryHoldSeconds: 60,
  publishedKeysHoldSeconds: 60,
  warmFactor: 2,
  viralSession: { tabs: 100, validatesPerTabPerSecond: 1 },
  ...over,
});

const limit = (r: ReturnType<typeof evaluate>, id: string) => {
  const found = r.limits.find((l) => l.id === id);
  if (!found) throw new Error(`no limit ${id}`);
  return found;
};
const hot = (r: ReturnType<typeof evaluate>, key: string) => {
  const found = r.hotItems.find((h) => h.key === key);
  if (!found) throw new Error(`no hot item ${key}`);
  return found;
};

describe('scale model', () => {
  it('held reads: every request reads when they are rare, each instance once per hold when they are many', () => {
    expect(heldReads(0.0001, 10, 60) / 0.0001).toBeCloseTo(1, 2);
    expect(heldReads(1e6, 10, 60)).toBeCloseTo(10 / 60, 3);
    // r / (1 + r·T / N): 30 req/s over 4 instances held 5 s.
    expect(heldReads(30, 4, 5)).toBeCloseTo(30 / (1 + (30 * 5) / 4), 12);
    expect(heldReads(30, 4, 0)).toBe(30);
  });

  it('one validate route by hand: duration, concurrency, read units, the stage throttle and where it bites', () => {
    const r = scaleModel(mix({ rps: { validate: 500 } }), MEASURED, LIMITS, PLAIN);
    const validate = r.routes.find((x) => x.route === 'validate')!;
    // 1 ms CPU + 4 ms for the GetItem + 1 ms rounding = 6 ms; 500 req/s × 6 ms = 3 executions.
    expect(validate.durationMs).toBe(6);
    expect(validate.concurrency).toBeCloseTo(3, 12);
    expect(r.table).toEqual({ rru: 500, wru: 0, rruWithoutGuards: 500 });
    const stage = limit(r, 'api-route:GET /customer/{tenant}/validateauthtoken');
    expect(stage.use).toBeCloseTo(0.5, 12);
    expect(stage.bitesAtRps).toBeCloseTo(1000, 3);
    expect(limit(r, 'api-account').bitesAtRps).toBeCloseTo(10_000, 2);
    // Reserved storefront 200 at 6 ms a request: 200 / 0.006 req/s.
    expect(limit(r, 'lambda-reserved:storefront').bitesAtRps).toBeCloseTo(200 / 0.006, 0);
    expect(firstBite(r)?.id).toBe('api-route:GET /customer/{tenant}/validateauthtoken');
    const order = r.limits.map((l) => l.bitesAtRps ?? Number.POSITIVE_INFINITY);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('the tenant item: every request without the directory cache, each warm instance once per hold with it', () => {
    const r = evaluate(mix({ rps: { validate: 500 }, warmInstances: { storefront: 12 } }), MEASURED, LIMITS, PLAIN);
    const tenant = hot(r, 'TENANT / <tenant>');
    expect(tenant.rcuWithout).toBe(250);
    expect(tenant.rcu).toBeCloseTo(heldReads(250, 12, 60), 12);
    expect(tenant.rcu).toBeLessThan(12 / 60);
    // At the storefront's full reservation: 200 instances, once a minute each.
    expect(tenant.rcuBound).toBeCloseTo(200 / 60, 12);
    expect(tenant.use).toBeCloseTo(tenant.rcu / 3000, 12);
  });

  it('warm instances: needed concurrency × warm factor, rounded up, at most the reservation', () => {
    // 3 executions × 2 = 6.
    expect(evaluate(mix({ rps: { validate: 500 } }), MEASURED, LIMITS, PLAIN).functions[0]!.warmInstances).toBe(6);
    // 100,000 req/s × 6 ms = 600 executions: capped at 200.
    expect(evaluate(mix({ rps: { validate: 100_000 } }), MEASURED, LIMITS, PLAIN).functions[0]!.warmInstances).toBe(200);
  });

  it('service tokens: one mint per pair per reuse window; the near cache bounds the busiest entry by instances / staleness', () => {
    const m = mix({ rps: { 'service-token': 1000 }, warmInstances: { oauth: 10 } });
    const r = evaluate(m, MEASURED, LIMITS, PLAIN);
    // 10 pairs, each minted once per 0.5 × 1000 s.
    expect(r.serviceTokens.mintedRps).toBeCloseTo(10 / 500, 12);
    expect(r.serviceTokens.cacheItemReadsWithout).toBeCloseTo(r.serviceTokens.cachedRps * 0.5, 12);
    expect(r.serviceTokens.cacheItemReads).toBeLessThan(10 / 5);
    expect(r.serviceTokens.cacheItemReads).toBeCloseTo(heldReads(r.serviceTokens.cachedRps * 0.5, 10, 5), 12);
    expect(hot(r, 'CACHE#<client id> / <scopes>').rcuBound).toBe(200 / 5);
    // Writes: the mints' record and cache entry, 1 WRU each.
    expect(r.table.wru).toBeCloseTo((10 / 500) * 2, 12);

    const off = evaluate({ ...m, nearCacheSeconds: 0 }, MEASURED, LIMITS, PLAIN);
    expect(off.serviceTokens.cacheItemReads).toBeCloseTo(off.serviceTokens.cachedRps * 0.5, 12);
    expect(off.table.rru).toBeCloseTo(1000, 9);
    expect(hot(off, 'CACHE#<client id> / <scopes>').rcuBound).toBeUndefined();
    // The near cache takes reads off the table, and time off the request.
    expect(r.table.rru).toBeLessThan(off.table.rru);
    expect(r.routes.find((x) => x.route === 'service-token')!.durationMs).toBeLessThan(
      off.routes.find((x) => x.route === 'service-token')!.durationMs,
    );
  });

  it("a cache entry's renewal: every warm instance holding the old entry mints once; without the near cache, the requests during the first mint", () => {
    const m = mix({ rps: { 'service-token': 1000 }, warmInstances: { oauth: 10 } });
    const near = hot(evaluate(m, MEASURED, LIMITS, PLAIN), 'CACHE#<client id> / <scopes>');
    // The busiest pair (~500 req/s) reaches all 10 instances within the 5 s hold.
    expect(near.wcu).toBe(10);
    const off = hot(evaluate({ ...m, nearCacheSeconds: 0 }, MEASURED, LIMITS, PLAIN), 'CACHE#<client id> / <scopes>');
    // A mint: 2 ms CPU + 3 calls × 4 ms + 1 ms = 15 ms; ~500 req/s × 15 ms = 7 more, floored.
    expect(off.wcu).toBe(1 + Math.floor((1000 - 10 / 500) * 0.5 * 0.015));
  });

  it("introspection of the busiest client's shared token reads one item: nothing keeps it off, so it bites at 3,000 reads a second", () => {
    const r = scaleModel(mix({ rps: { introspection: 1000 }, hottestClientShare: 0.5 }), MEASURED, LIMITS, PLAIN);
    const shared = hot(r, 'T#<selector> / T');
    expect(shared.rcu).toBe(500);
    expect(shared.rcuWithout).toBeUndefined();
    expect(limit(r, 'item:T#<selector> / T').bitesAtRps).toBeCloseTo(6000, 2);
  });

  it('a login-throttled route reaches its function at most at its throttle', () => {
    const r = evaluate(mix({ rps: { 'customer-login': 500 } }), MEASURED, LIMITS, PLAIN);
    const login = r.routes.find((x) => x.route === 'customer-login')!;
    // 300 ms CPU + 6 calls × 4 ms + 1 ms = 325 ms.
    expect(login.durationMs).toBe(325);
    expect(login.concurrency).toBeCloseTo(500 * 0.325, 9);
    expect(r.functions.find((f) => f.fn === 'storefront')!.concurrency).toBeCloseTo(50 * 0.325, 9);
    expect(limit(r, 'api-route:POST /customer/{tenant}/login').use).toBe(10);
  });

  it('a viral session: the tab count at which one second of refreshes fills the partition', () => {
    const at = (tabs: number) =>
      evaluate(mix({ viralSession: { tabs, validatesPerTabPerSecond: 1 } }), MEASURED, LIMITS, PLAIN).viralSession;
    const v = at(100);
    // 100 validations + 99 losers' reads; 100 conditional writes of a 2 WRU family item.
    expect(v).toMatchObject({ validateRcu: 100, burstRcu: 199, burstWcu: 200 });
    expect(v.burstUse).toBeCloseTo(199 / 3000 + 200 / 1000, 12);
    expect(at(v.tabsAtLimit).burstUse).toBeLessThanOrEqual(1);
    expect(at(v.tabsAtLimit + 1).burstUse).toBeGreaterThan(1);
  });

  it("the sessions a mix's refresh rates imply: one refresh per access-token lifetime each (Little's law)", () => {
    const r = evaluate(
      mix({ rps: { 'anonymous-refresh': 2, 'customer-refresh': 1 } }),
      {
        ...MEASURED,
        roundTrips: { ...MEASURED.roundTrips, 'anonymous-refresh': { reads: 0, writes: 1 }, 'customer-refresh': { reads: 0, writes: 1 } },
      },
      LIMITS,
      PLAIN,
    );
    expect(r.liveSessions).toEqual({ anonymous: 2 * 3600, customer: 14_400 });
  });

  it('every route the model names is in the route table, served by the function the model says', () => {
    for (const route of SCALE_ROUTES) {
      const facts = ROUTE_FACTS[route];
      const table = ROUTES.find((r) => routeKey(r) === facts.routeKey);
      expect(table?.fn, route).toBe(facts.fn);
    }
  });

  it('the presets: the commerce shares add up to one, at 1k, 10k and 100k req/s', () => {
    expect(Object.values(COMMERCE_SHARES).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(PRESETS.map((p) => Object.values(p.rps).reduce((a, b) => a + (b ?? 0), 0))).toEqual([
      expect.closeTo(1000, 6),
      expect.closeTo(10_000, 6),
      expect.closeTo(100_000, 6),
    ]);
  });

  it("the script takes the stack's own limits and the measured results, and prints every preset", () => {
    const limits = stackLimits();
    expect(limits.reserved).toEqual({ oauth: 200, storefront: 200, authorize: 100, discovery: 20 });
    expect(limits.stageRouteRps).toBe(1000);
    expect(limits.routeRps['POST /customer/{tenant}/login']).toBe(50);
    const latest = JSON.parse(readFileSync(new URL('../../bench/results/latest.json', import.meta.url), 'utf8')) as BenchResults;
    const measured = measuredFrom(latest);
    expect(measured.cpuMs.validate).toBeGreaterThan(0);
    expect(measured.roundTrips['customer-login']).toBeDefined();
    const results = PRESETS.map((p) => scaleModel(p, measured, limits));
    for (const r of results) expect(firstBite(r)).toBeDefined();
    const text = formatScaleModel(results, { command: 'npm run scale-model', measuredOn: '2026-11-29' }).join('\n');
    for (const p of PRESETS) expect(text).toContain(`### ${p.name}`);
    expect(text).toContain('first stack setting to bite');
  });
});
