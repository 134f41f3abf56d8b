import { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import { type Counter, NAMESPACE } from '../../functions/metrics.js';
import type { BrokerFunctionName } from './table-grants.js';

/**
 * The broker's own metrics, as the functions emit them (CloudWatch embedded metric format, issue
 * 14's design note): namespace `TokenBroker`, every one a Count, dimension `Service` = the
 * function's name in the stack (oauth, storefront, ...) plus, for two of them, one more
 * (`Grant`, `Tier`). No tenant or client dimension: each distinct set of dimension values is a
 * metric of its own on the bill.
 */
export const BROKER_NAMESPACE: typeof NAMESPACE = NAMESPACE;

/** The names the functions emit (functions/metrics.ts): a metric renamed there fails to compile here. */
export type BrokerMetricName = Counter | 'TokensIssued' | 'ServiceTokenCache';

/**
 * The functions that can emit a metric, where an alarm sums them: a refresh (and so a reuse)
 * happens in the storefront (customer refresh) and in oauth (the refresh_token grant of the code
 * flow); a lockout in the storefront's login and in the sign-in page (authorize). Each
 * metric in an alarm is billed, so an alarm names only these.
 */
export const EMITTED_BY = {
  RefreshReuseDetected: ['oauth', 'storefront'],
  LoginsLocked: ['storefront', 'authorize'],
  WarmupFailures: ['warmup'],
} as const satisfies Partial<Record<BrokerMetricName, readonly BrokerFunctionName[]>>;

export const FIVE_MINUTES = Duration.minutes(5);

/** One broker metric of one function, summed over five minutes. */
export function brokerMetric(name: BrokerMetricName, service: BrokerFunctionName, label?: string): Metric {
  return new Metric({
    namespace: BROKER_NAMESPACE,
    metricName: name,
    dimensionsMap: { Service: service },
    statistic: Stats.SUM,
    period: FIVE_MINUTES,
    ...(label ? { label } : {}),
  });
}

/**
 * A metric summed over the functions that emit it. A function that emitted nothing in a period
 * counts 0 (FILL), so one quiet function does not blank the sum.
 */
export function brokerMetricTotal(name: keyof typeof EMITTED_BY, label: string): MathExpression {
  const services: readonly BrokerFunctionName[] = EMITTED_BY[name];
  // Ids unique per metric and function, so two sums can share a graph.
  const usingMetrics = Object.fromEntries(services.map((service) => [`${name.toLowerCase()}_${service}`, brokerMetric(name, service)]));
  const expression = Object.keys(usingMetrics)
    .map((id) => `FILL(${id}, 0)`)
    .join(' + ');
  return new MathExpression({ expression, usingMetrics, label, period: FIVE_MINUTES });
}

/**
 * Every series of a metric across the dimensions it is emitted with, for dashboards (alarms
 * cannot use SEARCH). `dimensions` names the metric's full dimension set.
 */
export function brokerSearch(name: BrokerMetricName, dimensions: readonly string[], label: string): MathExpression {
  const schema = [BROKER_NAMESPACE, ...dimensions].join(',');
  return new MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${name}"', 'Sum', 300)`,
    usingMetrics: {},
    label,
    period: FIVE_MINUTES,
  });
}
