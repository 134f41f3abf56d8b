import { describe, expect, it } from 'vitest';
import {
  costByMemory,
  costModel,
  cpuOnSdkPath,
  cpuScaleAt,
  formatCost,
  formatMemoryComparison,
  routeCost,
  type CostInput,
} from '../../bench/cost.js';

/** Every figure below is computed by hand from the prices the model states (USD per million). */
const HTTP_API = 1.0;
const LAMBDA_REQUESTS = 0.2;
const GB_SECOND = 0.0000133334;
const RRU = 0.125;
const WRU = 0.625;

const row = (input: CostInput, item: string) => {
  const found = costModel(input).rows.find((r) => r.item.startsWith(item));
  if (!found) throw new Error(`no row ${item}`);
  return found;
};

describe('cost model', () => {
  it('one read, no write, 1 ms CPU: exactly the sum of the stated prices (plain duration, no logs)', () => {
    const input: CostInput = {
      cpuMsPerRequest: { introspection: 1 },
      roundTrips: { introspection: { reads: 1, writes: 0 } },
      overrides: { lambdaCpuScale: 1, logBytesPerRequest: 0 },
    };
    // Billed: 1 ms CPU + 4 ms for the read + 1 ms rounding = 6 ms at 0.5 GB, a million times.
    const duration = 0.006 * 0.5 * GB_SECOND * 1e6;
    expect(duration).toBeCloseTo(0.0400002, 10);
    const r = row(input, 'introspection');
    expect(r.breakdown).toEqual({
      httpApi: HTTP_API,
      lambdaRequests: LAMBDA_REQUESTS,
      lambdaDuration: expect.closeTo(duration, 12),
      dynamoDbReads: RRU,
      dynamoDbWrites: 0,
      secretsManager: 0,
      cloudWatchLogs: 0,
    });
    expect(r.usdPerMillion).toBeCloseTo(1.3650002, 10);
  });

  it('with the defaults: CPU scaled by 1769/512 and 1 KiB of logs per request', () => {
    const input: CostInput = { cpuMsPerRequest: { introspection: 1 }, roundTrips: { introspection: { reads: 1, writes: 0 } } };
    const billedMs = 1769 / 512 + 4 + 1; // 8.455078125 ms
    const duration = (billedMs / 1000) * 0.5 * GB_SECOND * 1e6;
    const logs = ((1024 * 1e6) / 2 ** 30) * 0.5; // 0.4768… USD
    const r = row(input, 'introspection');
    expect(r.breakdown.lambdaDuration).toBeCloseTo(duration, 12);
    expect(r.breakdown.cloudWatchLogs).toBeCloseTo(0.476837158203125, 12);
    expect(r.usdPerMillion).toBeCloseTo(HTTP_API + LAMBDA_REQUESTS + duration + RRU + logs, 12);
  });

  it('a minted service token: one read, two 1-WRU writes, three round trips billed', () => {
    const input: CostInput = {
      cpuMsPerRequest: { 'service-token-minted': 2 },
      roundTrips: { 'service-token-minted': { reads: 1, writes: 2 } },
      overrides: { lambdaCpuScale: 1, logBytesPerRequest: 0 },
    };
    const r = row(input, 'service token minted');
    expect(r.breakdown.dynamoDbReads).toBe(RRU);
    expect(r.breakdown.dynamoDbWrites).toBe(2 * WRU);
    expect(r.breakdown.lambdaDuration).toBeCloseTo(((2 + 3 * 4 + 1) / 1000) * 0.5 * GB_SECOND * 1e6, 12);
  });

  it('a session: 27 requests; 3 RRU for the login reads, 20 validations; 2 WRU per session write, 5 for the login', () => {
    const input: CostInput = { cpuMsPerRequest: {}, roundTrips: {}, overrides: { lambdaCpuScale: 1, logBytesPerRequest: 0 } };
    const r = row(input, 'storefront session');
    expect(r.breakdown.httpApi).toBeCloseTo(27 * HTTP_API, 12);
    expect(r.breakdown.lambdaRequests).toBeCloseTo(27 * LAMBDA_REQUESTS, 12);
    // Reads: login's two reads (3 RRU) + 20 GetItem. Writes: anonymous login, 4 refreshes and logout 2 WRU
    // each; customer login 5 WRU (family 2, attempt reservation, its deletion, session-index entry).
    expect(r.breakdown.dynamoDbReads).toBeCloseTo((3 + 20) * RRU, 12);
    expect(r.breakdown.dynamoDbWrites).toBeCloseTo((6 * 2 + 5) * WRU, 12);
    // Defaults: 440 ms for the login, 1 ms elsewhere; calls: customer login 6, 20 validations, 6 other writes.
    const billedMs = 440 + 26 * 1 + (6 + 20 + 6) * 4 + 27 * 1;
    expect(r.breakdown.lambdaDuration).toBeCloseTo((billedMs / 1000) * 0.5 * GB_SECOND * 1e6, 12);
  });

  it('states the defaults it used for missing routes, and formats a table', () => {
    const model = costModel({ cpuMsPerRequest: { validate: 0.5 }, roundTrips: {} });
    expect(model.assumptions.join('\n')).toContain('customer-login 440');
    expect(model.assumptions.join('\n')).not.toMatch(/CPU ms.*\bvalidate \d/);
    expect(Object.values(model.prices).every((p) => p.includes('us-east-1, as known in 2025'))).toBe(true);
    const lines = formatCost(model);
    expect(lines[0]).toMatch(/^\| per million \| total USD \|/);
    expect(lines.filter((l) => l.startsWith('| ') && !l.startsWith('| per million'))).toHaveLength(model.rows.length);
  });

  it('memory sizes: CPU-bound time costs the same below one vCPU; the waits grow with memory, so 256 MB is cheapest', () => {
    const input: CostInput = {
      cpuMsPerRequest: { introspection: 1 },
      roundTrips: { introspection: { reads: 1, writes: 0 } },
      overrides: { logBytesPerRequest: 0 },
    };
    const comparison = costByMemory(input);
    expect(comparison.rows.map((r) => r.memoryMb)).toEqual([256, 512, 1024]);
    for (const r of comparison.rows) {
      // 1 ms × 1769/memory, billed per GB: 1769/1024 GB-ms whatever the size; + (4 + 1) ms of waits at memory/1024 GB.
      const duration = ((1769 / 1024 + (5 * r.memoryMb) / 1024) / 1000) * GB_SECOND * 1e6;
      expect(r.usdPerMillion.introspection).toBeCloseTo(HTTP_API + LAMBDA_REQUESTS + RRU + duration, 12);
      expect(r.billedMs['service-token-cached']).toBeGreaterThan(0);
    }
    expect(new Set(Object.values(comparison.cheapest))).toEqual(new Set([256]));
    expect(cpuScaleAt(2048)).toBe(1);
    const lines = formatMemoryComparison(comparison, 'The stack follows.');
    expect(lines.filter((l) => /^\| 256 \|/.test(l))[0]).toContain('✓');
    expect(lines.at(-1)).toContain('The stack follows.');
  });

  it("per-route memory: each route at its function's size, its CPU factor following", () => {
    const base: CostInput = { cpuMsPerRequest: { validate: 2 }, roundTrips: { validate: { reads: 1, writes: 0 } } };
    const at256 = routeCost('validate', { ...base, memoryMbByRoute: { validate: 256 } });
    expect(at256.lambdaDuration).toBeCloseTo(((2 * (1769 / 256) + 4 + 1) / 1000) * 0.25 * GB_SECOND * 1e6, 12);
    expect(costModel({ ...base, memoryMbByRoute: { validate: 256 } }).assumptions.join('\n')).toContain('validate at 256 MB');
  });

  it('CPU on the SDK path: dynalite rows where measured, else memory + calls × the median SDK cost per call', () => {
    const measured = [
      { scenario: 'cached', store: 'memory' as const, cpuMsPerRequest: 0.1 },
      { scenario: 'cached', store: 'dynalite' as const, cpuMsPerRequest: 0.6 },
      { scenario: 'minted', store: 'memory' as const, cpuMsPerRequest: 0.2 },
      { scenario: 'minted', store: 'dynalite' as const, cpuMsPerRequest: 1.7 },
      { scenario: 'login', store: 'memory' as const, cpuMsPerRequest: 300 },
    ];
    const scenarios = { 'service-token-cached': 'cached', 'service-token-minted': 'minted', 'customer-login': 'login' };
    const trips = {
      'service-token-cached': { reads: 1, writes: 0 },
      'service-token-minted': { reads: 1, writes: 2 },
      'customer-login': { reads: 2, writes: 4 },
    };
    const { cpuMsPerRequest, perCallMs, source } = cpuOnSdkPath(measured, scenarios, trips);
    // Per call: cached (0.6 − 0.1) / 1 = 0.5, minted (1.7 − 0.2) / 3 = 0.5.
    expect(perCallMs).toBeCloseTo(0.5, 12);
    expect(cpuMsPerRequest['service-token-cached']).toBe(0.6);
    expect(cpuMsPerRequest['service-token-minted']).toBe(1.7);
    expect(cpuMsPerRequest['customer-login']).toBeCloseTo(300 + 6 * 0.5, 12);
    expect(source).toContain('500 µs per call');
    expect(source).toContain('customer-login');
  });
});
