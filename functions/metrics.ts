import { APPLICATION_LOG_LEVEL, stdoutLine, unfilteredLevel } from './log.js';
import { currentRequest, withRequestContext } from './request-context.js';

/**
 * The broker's CloudWatch metrics (issue 14), in the embedded metric format (EMF): counted in
 * memory per function instance and written as JSON log lines that CloudWatch turns into metrics,
 * at most once a minute per instance, so metrics add almost nothing to the log bill. Hand-written:
 * Powertools Metrics would add 13 KB and its cold start for what is a few counters and a line.
 *
 * Names (issue 14's design note; the stack's alarms and dashboard use them): namespace
 * `TokenBroker`, every metric a Count, dimension `Service` (the function: oauth, storefront,
 * authorize, federation, signup, discovery, warmup) and for two metrics one more (`Grant`,
 * `Tier`), all of bounded cardinality: no tenant or client dimension.
 *
 * Counting is an increment on the hot path and nothing else. The line is written by `flushIfDue`,
 * which the Lambda adapter calls after each request (the first request of an instance flushes, then
 * at most one line a minute), and by `flush`, which the warm-up calls at the end of each run. A
 * metric that was not counted since the last line is left out (no datapoint, not a zero): alarms
 * on these metrics treat missing data as not breaching. Counts made after an instance's last line
 * are lost if the instance is never invoked again (at most a minute of that instance's counts).
 */

export const NAMESPACE = 'TokenBroker';
/** Counts are written at most this often per instance. */
export const FLUSH_INTERVAL_MS = 60_000;

/** Which grant handed out a token (or pair). */
export type Grant =
  | 'client_credentials'
  | 'authorization_code'
  | 'refresh_token'
  | 'anonymous'
  | 'login'
  | 'social_login'
  | 'token_exchange'
  | 'signup_optin';

/** Where a cached service token was found (adapters/near-cache.ts `NearCacheTier`). */
export type CacheTier = 'near' | 'table' | 'miss';

/** Metrics with the `Service` dimension only. */
export type Counter =
  | 'RefreshRotations'
  | 'GraceRetries'
  | 'RefreshReuseDetected'
  | 'FamiliesRevoked'
  | 'LoginsFailed'
  | 'LoginsLocked'
  | 'ClientAuthFailures'
  | 'StoreUnavailable'
  | 'IdentityProviderCalls'
  | 'IdentityProviderFailures'
  | 'MailsSent'
  | 'MailsFailed'
  | 'WarmupFailures'
  | 'WarmupRefreshed';

/** Metrics with one more dimension, and its name. */
const EXTRA_DIMENSION = { TokensIssued: 'Grant', ServiceTokenCache: 'Tier' } as const;
type DimensionedCounter = keyof typeof EXTRA_DIMENSION;

export interface MetricsOptions {
  /** Where a line goes: stdout in Lambda (not through console, which would wrap it), the log locally. */
  write: (line: string) => void;
  /** Milliseconds; `Date.now` by default. */
  nowMs?: () => number;
  intervalMs?: number;
  /**
   * The `level` the line carries. Lambda's JSON log format filters application lines by it (a
   * line without one counts as INFO): the application log level in force, so no level setting
   * drops the metrics. `info` by default.
   */
  level?: string;
}

/** One function instance's counters. */
export class Metrics {
  /** `Name` or `Name\tdimension value` → count since the last line. */
  private readonly counts = new Map<string, number>();
  private lastFlushMs = Number.NEGATIVE_INFINITY;
  private readonly nowMs: () => number;
  private readonly intervalMs: number;
  private readonly level: string;

  constructor(
    readonly service: string,
    private readonly options: MetricsOptions,
  ) {
    this.nowMs = options.nowMs ?? Date.now;
    this.intervalMs = options.intervalMs ?? FLUSH_INTERVAL_MS;
    this.level = options.level ?? 'info';
  }

  count(name: Counter, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  countTokensIssued(grant: Grant): void {
    const key = `TokensIssued\t${grant}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  countCacheLookup(tier: CacheTier): void {
    const key = `ServiceTokenCache\t${tier}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Writes the counts if a minute has passed since the last line (or there was none yet). */
  flushIfDue(): void {
    if (this.counts.size > 0 && this.nowMs() - this.lastFlushMs >= this.intervalMs) this.flush();
  }

  /** Writes whatever was counted since the last line, now. */
  flush(): void {
    if (this.counts.size === 0) return;
    const now = this.nowMs();
    this.lastFlushMs = now;
    for (const line of emfLines(this.service, this.counts, now, this.level)) this.options.write(line);
    this.counts.clear();
  }
}

/**
 * The EMF documents for `counts`. A document holds one value per member, so one `Grant` and one
 * `Tier`: the first document carries the plain counters and the first grant and tier counted, each
 * further grant or tier goes in a further document (a busy oauth instance: up to three lines).
 */
export function emfLines(service: string, counts: ReadonlyMap<string, number>, timestampMs: number, level = 'info'): string[] {
  const plain: [string, number][] = [];
  const byDimension: Record<DimensionedCounter, [string, number][]> = { TokensIssued: [], ServiceTokenCache: [] };
  for (const [key, value] of counts) {
    const tab = key.indexOf('\t');
    if (tab === -1) plain.push([key, value]);
    else byDimension[key.slice(0, tab) as DimensionedCounter].push([key.slice(tab + 1), value]);
  }
  const documents = Math.max(plain.length > 0 ? 1 : 0, byDimension.TokensIssued.length, byDimension.ServiceTokenCache.length);
  const lines: string[] = [];
  for (let i = 0; i < documents; i++) {
    const directives: object[] = [];
    const members: Record<string, string | number> = { Service: service };
    if (i === 0 && plain.length > 0) {
      directives.push(
        directive(
          ['Service'],
          plain.map(([name]) => name),
        ),
      );
      for (const [name, value] of plain) members[name] = value;
    }
    for (const name of ['TokensIssued', 'ServiceTokenCache'] as const) {
      const entry = byDimension[name][i];
      if (!entry) continue;
      const dimension = EXTRA_DIMENSION[name];
      directives.push(directive(['Service', dimension], [name]));
      members[dimension] = entry[0];
      members[name] = entry[1];
    }
    lines.push(
      JSON.stringify({
        level,
        message: 'metrics',
        _aws: { Timestamp: timestampMs, CloudWatchMetrics: directives },
        ...members,
      }),
    );
  }
  return lines;
}

function directive(dimensions: string[], names: string[]): object {
  return { Namespace: NAMESPACE, Dimensions: [dimensions], Metrics: names.map((Name) => ({ Name, Unit: 'Count' })) };
}

// --- Counting from anywhere in a request ---------------------------------------------------------
// The use cases and adapters do not hold the instance's Metrics: the Lambda adapter (and the
// warm-up) put it in the request context, and these find it there. Outside one, nothing is counted.

export function count(name: Counter, by = 1): void {
  currentRequest()?.metrics?.count(name, by);
}

export function countTokensIssued(grant: Grant): void {
  currentRequest()?.metrics?.countTokensIssued(grant);
}

/**
 * A client's cached service token looked up. The warm-up's own look-ups are not counted: in AWS
 * it reads the table without the near cache (and so without counting); locally it shares the
 * oauth function's near cache, whose counts would otherwise show a `warmup` service AWS never has.
 */
export function countCacheLookup(tier: CacheTier): void {
  const metrics = currentRequest()?.metrics;
  if (metrics && metrics.service !== WARMUP) metrics.countCacheLookup(tier);
}

const WARMUP = 'warmup';

/** Runs `work` (the warm-up, which no request starts) with its counts going to `metrics`. */
export function withMetrics<T>(metrics: Metrics, work: () => T): T {
  return withRequestContext({ requestId: 'none', sourceIp: 'internal', metrics }, work);
}

/** A Lambda function instance's counters: EMF lines to stdout, labelled to pass the application log level. */
export function lambdaMetrics(service: string): Metrics {
  return new Metrics(service, { write: stdoutLine, level: unfilteredLevel(APPLICATION_LOG_LEVEL) });
}
