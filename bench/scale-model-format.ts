/** Markdown for the scale model's results (bench/scale-model.ts prints it and writes bench/results/scale-model.md). */
import { ASSUMPTIONS, firstBite, type LimitUse, type ScaleResult } from './scale-model-core.js';

/** 12,345 · 123 · 12.3 · 1.23 · 0.012 · 0. */
export function num(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.1) return value.toFixed(2);
  return value.toPrecision(2);
}

const pct = (use: number) => `${use >= 10 ? Math.round(use * 100).toLocaleString('en-US') : (use * 100).toFixed(use < 0.01 ? 2 : 1)}%`;
const bites = (l: LimitUse | undefined) => (l?.bitesAtRps === undefined ? 'beyond 1000× the mix' : num(l.bitesAtRps));

export function formatSummary(results: readonly ScaleResult[]): string[] {
  const over = (r: ScaleResult) => {
    const all = r.limits.filter((l) => l.use >= 1);
    if (all.length === 0) return 'none';
    const shown = all.slice(0, 3).map((l) => `${l.limit} (${pct(l.use)})`);
    return all.length > 3 ? `${shown.join('; ')}; +${all.length - 3} more` : shown.join('; ');
  };
  const named = (l: LimitUse | undefined) => (l ? `${l.service}: ${l.limit} at ${bites(l)}` : 'none within 1000× the mix');
  return [
    "| mix | req/s | first stack setting to bite (req/s) | first AWS quota to bite (req/s) | first single item to bite (req/s) | over 100% at the mix's own rate |",
    '|---|---:|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.mix.name} | ${num(r.totalRps)} | ${named(firstBite(r, ['stack']))} | ${named(firstBite(r, ['quota']))} | ${named(firstBite(r, ['item']))} | ${over(r)} |`,
    ),
  ];
}

export function formatResult(r: ScaleResult): string[] {
  const st = r.serviceTokens;
  const near = r.mix.nearCacheSeconds;
  return [
    `### ${r.mix.name}`,
    '',
    `${r.mix.description}.`,
    '',
    '| route | req/s | function | billed ms | concurrency | RRU/s | WRU/s | CPU |',
    '|---|---:|---|---:|---:|---:|---:|---|',
    ...r.routes
      .filter((x) => x.rps > 0)
      .map(
        (x) =>
          `| ${x.route} | ${num(x.rps)} | ${x.fn} | ${num(x.durationMs)} | ${num(x.concurrency)} | ${num(x.rru)} | ${num(x.wru)} | ${x.cpuSource} |`,
      ),
    '',
    `Service tokens: ${num(st.pairs)} client+scope pairs, each minted once per ${num(r.mix.serviceTokenReuseShare * r.mix.serviceAccessSeconds)} s ` +
      `(reuse share × lifetime): ${num(st.mintedRps)} mints/s, ${num(st.cachedRps)} cached/s. ` +
      (near > 0
        ? `Near cache ${near} s: the busiest entry is read ${num(st.cacheItemReads)} times/s (without: ${num(st.cacheItemReadsWithout)}).`
        : `Near cache off: the busiest entry is read ${num(st.cacheItemReads)} times/s.`),
    '',
    '| Lambda function | concurrency needed | reserved | use | warm instances (model) | from cold (1,000 per 10 s) |',
    '|---|---:|---:|---:|---:|---|',
    ...r.functions.map(
      (f) =>
        `| ${f.fn} | ${num(f.concurrency)} | ${f.reserved} | ${pct(f.concurrency / f.reserved)} | ${f.warmInstances} | ${f.rampSeconds === 0 ? 'at once' : `${f.rampSeconds} s`} |`,
    ),
    '',
    '| API Gateway route | req/s | throttle | use |',
    '|---|---:|---:|---:|',
    ...r.api.map((a) => `| \`${a.routeKey}\` | ${num(a.rps)} | ${num(a.limit)} | ${pct(a.rps / a.limit)} |`),
    '',
    `Sessions the refresh rates imply (each refreshes once per access-token lifetime): ${num(r.liveSessions.anonymous)} anonymous ` +
      `(${num(r.mix.anonymousAccessSeconds)} s), ${num(r.liveSessions.customer)} customer (${num(r.mix.customerAccessSeconds)} s).`,
    '',
    `DynamoDB table: ${num(r.table.rru)} RRU/s (${num(r.table.rruWithoutGuards)} without the near cache), ${num(r.table.wru)} WRU/s.`,
    '',
    '| hot item | key | RCU/s | WCU/s | use of one partition | RCU/s without its guard | RCU/s at every reservation full | kept off the hot path by |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...r.hotItems.map(
      (h) =>
        `| ${h.item} | \`${h.key}\` | ${num(h.rcu)} | ${num(h.wcu)} | ${pct(h.use)} | ${h.rcuWithout === undefined ? '–' : num(h.rcuWithout)} | ${h.rcuBound === undefined ? '–' : num(h.rcuBound)} | ${h.keptOffBy} |`,
    ),
    '',
    `A viral session (${r.viralSession.tabs} tabs, each validating ${r.mix.viralSession.validatesPerTabPerSecond}/s): ${num(r.viralSession.validateRcu)} RCU/s; ` +
      `in the second all tabs refresh the same token, ${num(r.viralSession.burstRcu)} RCU and ${num(r.viralSession.burstWcu)} WCU on its item ` +
      `(${pct(r.viralSession.burstUse)} of one partition). One write wins, the others get the same successor within the grace window; ` +
      `about ${num(r.viralSession.tabsAtLimit)} tabs refreshing in one second fill the partition, and the excess is throttled (503, Retry-After) ` +
      `and retried; a retry within the ${r.mix.refreshGraceSeconds} s grace window gets the successor, a later one reads as reuse and ends the session. ` +
      `The burst comes once per access-token lifetime (${num(r.mix.customerAccessSeconds)} s for a customer).`,
    '',
    'Limits, soonest first (demand of the mix at its own rate; "bites at" scales every route of the mix together):',
    '',
    '| limit | service | demand | capacity | use | bites at req/s | raise |',
    '|---|---|---:|---:|---:|---:|---|',
    ...r.limits.map(
      (l) => `| ${l.limit} | ${l.service} | ${num(l.demand)} ${l.unit} | ${num(l.capacity)} | ${pct(l.use)} | ${bites(l)} | ${l.raise} |`,
    ),
  ];
}

export function formatScaleModel(results: readonly ScaleResult[], meta: { command: string; measuredOn: string }): string[] {
  return [
    `Computed by \`${meta.command}\` from the durations and round trips measured on ${meta.measuredOn} ` +
      "(bench/results/latest.json) and the stack's default limits (lib/constructs).",
    '',
    '**Where the first limit bites:**',
    '',
    ...formatSummary(results),
    '',
    ...results.flatMap((r) => [...formatResult(r), '']),
    'Assumptions:',
    '',
    ...ASSUMPTIONS.map((a) => `- ${a}`),
  ];
}

/** The README's generated part of "Scaling": the summary, and one line of load per mix. */
export function formatReadme(results: readonly ScaleResult[], meta: { command: string; measuredOn: string }): string[] {
  const fn = (r: ScaleResult, name: string) => {
    const f = r.functions.find((x) => x.fn === name);
    return f ? `${num(f.concurrency)} / ${f.reserved}` : '–';
  };
  const busiestRoute = (r: ScaleResult) => [...r.api].sort((a, b) => b.rps / b.limit - a.rps / a.limit)[0];
  const busiestItem = (r: ScaleResult) => [...r.hotItems].sort((a, b) => b.use - a.use)[0]!;
  return [
    `Computed by \`${meta.command}\` from the durations and round trips measured on ${meta.measuredOn} ` +
      "(bench/results/latest.json) and the stack's default limits; full output in `bench/results/scale-model.md`.",
    '',
    ...formatSummary(results),
    '',
    '| mix | API Gateway req/s (account 10,000) | busiest route vs its throttle | Lambda concurrency / reserved: oauth, storefront, authorize | table RRU/s, WRU/s | busiest single item (use of one partition) |',
    '|---|---:|---|---|---|---|',
    ...results.map((r) => {
      const route = busiestRoute(r);
      const item = busiestItem(r);
      return (
        `| ${r.mix.name} | ${num(r.totalRps)} | ${route ? `\`${route.routeKey}\` ${num(route.rps)} / ${num(route.limit)}` : '–'} | ` +
        `${fn(r, 'oauth')}, ${fn(r, 'storefront')}, ${fn(r, 'authorize')} | ${num(r.table.rru)}, ${num(r.table.wru)} | ${item.item}: ${pct(item.use)} |`
      );
    }),
  ];
}
