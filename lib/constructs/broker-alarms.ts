import { type Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, type IMetric, MathExpression, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { brokerMetric, brokerMetricTotal, FIVE_MINUTES } from './broker-metrics.js';
import { TABLE_GRANTS, type BrokerFunctionName } from './table-grants.js';

/** The thresholds an operator may tune (stack prop `alarmThresholds`). */
export interface AlarmThresholds {
  /** HTTP API 5xx answers, percent of requests in 5 minutes. @default 1 */
  readonly apiServerErrorPercent: number;
  /** The 5xx rate is judged only over at least this many requests in 5 minutes. @default 20 */
  readonly apiServerErrorMinRequests: number;
  /** HTTP API p99 latency in milliseconds over 5 minutes. @default 1000 */
  readonly apiLatencyP99Ms: number;
  /** Lambda errors (unhandled: a crash or a timeout) per function in 5 minutes. @default 1 */
  readonly functionErrors: number;
  /** Lambda throttles (reserved concurrency full) per function in 5 minutes. @default 1 */
  readonly functionThrottles: number;
  /** Refresh tokens presented again after their grace window (theft), in 5 minutes. @default 5 */
  readonly refreshReuse: number;
  /** Lockout refusals and locking failures, in 5 minutes. @default 20 */
  readonly lockouts: number;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  apiServerErrorPercent: 1,
  apiServerErrorMinRequests: 20,
  apiLatencyP99Ms: 1000,
  functionErrors: 1,
  functionThrottles: 1,
  refreshReuse: 5,
  lockouts: 20,
};

export interface BrokerAlarmsProps {
  readonly api: HttpApi;
  readonly functions: Readonly<Record<BrokerFunctionName, IFunction>>;
  readonly table: ITable;
  /** The warm-up's dead-letter queue (lib/constructs/warmup-schedule.ts). */
  readonly warmupDeadLetters: IQueue;
  /** Every alarm, and its return to OK, is published here. */
  readonly topic: ITopic;
  readonly thresholds?: Partial<AlarmThresholds>;
}

/** `oauth` -> `Oauth`: the prefix of the function's alarm names. */
export const alarmPrefix = (name: BrokerFunctionName) => name[0]!.toUpperCase() + name.slice(1);

/** The DynamoDB operations the broker issues (lib/constructs/table-grants.ts): the ones worth watching. */
export const TABLE_OPERATIONS = [...new Set(Object.values(TABLE_GRANTS).flatMap((grant) => Object.keys(grant)))].sort();

/**
 * The stack's alarms, each published to the alarm topic when it fires and when it clears. Every
 * alarm's description says what it means and what to do first; the README ("Alarms and
 * dashboard") and the runbook quote them. Missing data (no traffic) is never an alarm.
 */
export class BrokerAlarms extends Construct {
  /** By name: ApiServerErrors, ApiLatencyP99, <Fn>Errors, <Fn>Throttles, TableThrottles, ... */
  readonly alarms: Record<string, Alarm> = {};

  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: BrokerAlarmsProps) {
    super(scope, id);
    this.action = new SnsAction(props.topic);
    const t = { ...DEFAULT_ALARM_THRESHOLDS, ...props.thresholds };

    // --- HTTP API -----------------------------------------------------------------------------
    const requests = props.api.metricCount({ period: FIVE_MINUTES, statistic: Stats.SUM });
    const serverErrors = props.api.metricServerError({ period: FIVE_MINUTES, statistic: Stats.SUM });
    this.add('ApiServerErrors', {
      metric: new MathExpression({
        expression: `IF(requests >= ${t.apiServerErrorMinRequests}, 100 * FILL(errors, 0) / requests, 0)`,
        usingMetrics: { requests, errors: serverErrors },
        label: 'HTTP API 5xx, % of requests',
        period: FIVE_MINUTES,
      }),
      threshold: t.apiServerErrorPercent,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description:
        `More than ${t.apiServerErrorPercent} % of the HTTP API's answers in 5 minutes were 5xx (at least ` +
        `${t.apiServerErrorMinRequests} requests). A 503 means a dependency failed (DynamoDB, Secrets Manager, an ` +
        'identity provider: the StoreUnavailable graph); a 500 is a function crash or timeout (the <Fn>Errors alarms). ' +
        "Do: open the dashboard, find the function with errors, read its log group's error lines (level error) for the cause.",
    });
    this.add('ApiLatencyP99', {
      metric: props.api.metricLatency({ period: FIVE_MINUTES, statistic: Stats.p(99) }),
      threshold: t.apiLatencyP99Ms,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description:
        `The HTTP API's p99 latency over 5 minutes is above ${t.apiLatencyP99Ms} ms. Cached service tokens answer ` +
        'in tens of ms; logins and sign-ins take ~1.4 s by design (scrypt), so a burst of logins above 1 % of the ' +
        "traffic raises p99 too. Do: on the dashboard, see which function's duration rose (oauth p99 matters most), " +
        'check DynamoDB latency and throttles, and cold starts after a deploy.',
    });

    // --- Lambda, per function -----------------------------------------------------------------
    for (const [name, fn] of Object.entries(props.functions) as [BrokerFunctionName, IFunction][]) {
      const prefix = alarmPrefix(name);
      this.add(`${prefix}Errors`, {
        metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        threshold: t.functionErrors,
        comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description:
          `The ${name} function failed ${t.functionErrors} or more invocations in 5 minutes: an unhandled error or a ` +
          'timeout (the broker answers its own failures as 503s, so these are bugs or stalls; API Gateway answered ' +
          `500). Do: read the ${name} log group's error lines and the platform's timeout lines; roll back if it started with a deploy.`,
      });
      this.add(`${prefix}Throttles`, {
        metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        threshold: t.functionThrottles,
        comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description:
          `The ${name} function refused invocations in 5 minutes: its reserved concurrency was full, and callers got ` +
          'errors. Do: check the dashboard for a traffic spike (a flood or a retry storm) or a rise in duration (a slow ' +
          `dependency holds instances); if the traffic is real, raise reservedConcurrency.${name} (README, Capacity).`,
      });
    }

    // --- DynamoDB -----------------------------------------------------------------------------
    this.add('TableThrottles', {
      metric: sumOverOperations(props.table, 'ThrottledRequests', 'Throttled requests'),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'DynamoDB throttled requests to the broker table in 5 minutes (on-demand: a hot partition key, or the ' +
        "table's or account's throughput limit). The broker answers them 503 with Retry-After. Do: see which " +
        'operation on the dashboard; a steady rise is traffic (ask for a higher account limit), a spike on one key is ' +
        'one client or tenant hammering (its source in the request lines).',
    });
    this.add('TableSystemErrors', {
      metric: sumOverOperations(props.table, 'SystemErrors', 'System errors'),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'DynamoDB answered requests with a 500 (an error on the AWS side) in 5 minutes; the broker retried, then ' +
        'answered 503. Do: check the AWS Health Dashboard for DynamoDB in this region; nothing to fix in the broker ' +
        'unless it lasts.',
    });

    // --- Warm-up ------------------------------------------------------------------------------
    this.add('WarmupFailures', {
      metric: brokerMetric('WarmupFailures', 'warmup'),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'A warm-up run could not renew the cached service token of at least one warm-up client; that client will ' +
        'mint on its next request (slower, not broken). Do: read the warmup log group\'s "warm-up" lines for the ' +
        'client and the reason (a deleted client, a missing signing key, DynamoDB errors).',
    });
    this.add('WarmupDeadLetters', {
      metric: props.warmupDeadLetters.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: Stats.MAXIMUM }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'A warm-up run was lost: EventBridge could not invoke the function, or the run threw after its retries. The ' +
        "message in the Warmup DeadLetters queue says which (Lambda's carries the error). Do: read it, fix the cause " +
        '(WarmupErrors, permissions), then purge the queue; the next run in 5 minutes renews the tokens.',
    });

    // --- Security ----------------------------------------------------------------------------
    this.add('RefreshReuseSpike', {
      metric: brokerMetricTotal('RefreshReuseDetected', 'Refresh reuse detected'),
      threshold: t.refreshReuse,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        `${t.refreshReuse} or more refresh tokens were presented again after their grace window in 5 minutes: each ` +
        'is a possible theft, and the broker revoked that session family. A few are client bugs (a retry of an old ' +
        'token); a spike is stolen tokens being replayed or a broken client release. Do: group the audit lines ' +
        '(event refresh_reuse_detected) by tenant and clientId; contact the client team, or revoke (README, Revocation).',
    });
    this.add('LockoutSpike', {
      metric: brokerMetricTotal('LoginsLocked', 'Logins locked'),
      threshold: t.lockouts,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        `${t.lockouts} or more logins were locked or refused as locked in 5 minutes: password guessing or credential ` +
        'stuffing, at the login route or the sign-in page. The lockout is already protecting the accounts. Do: group ' +
        'the audit lines (event login_locked) by sourceIp and tenant; block a source at a WAF, or lower the login ' +
        'throttle (loginRateLimit) while it lasts.',
    });
  }

  private add(name: string, spec: { metric: IMetric; threshold: number; comparison: ComparisonOperator; description: string }): Alarm {
    const alarm = new Alarm(this, name, {
      alarmName: `${Stack.of(this).stackName}-${name}`,
      alarmDescription: spec.description,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms[name] = alarm;
    return alarm;
  }
}

/** A table metric summed over the operations the broker issues; a quiet operation counts 0. */
export function sumOverOperations(table: ITable, metricName: string, label: string, period: Duration = FIVE_MINUTES): MathExpression {
  const usingMetrics = Object.fromEntries(
    TABLE_OPERATIONS.map((operation) => [
      // Ids unique per metric, so two sums can share a graph.
      `${metricName.toLowerCase()}_${operation.toLowerCase()}`,
      new Metric({
        namespace: 'AWS/DynamoDB',
        metricName,
        dimensionsMap: { TableName: table.tableName, Operation: operation },
        statistic: Stats.SUM,
        period,
      }),
    ]),
  );
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label,
    period,
  });
}
