import { Aws, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Stats,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { brokerMetricTotal, brokerSearch, FIVE_MINUTES } from './broker-metrics.js';
import { sumOverOperations } from './broker-alarms.js';
import type { BrokerFunctionName } from './table-grants.js';

export interface BrokerDashboardProps {
  readonly api: HttpApi;
  readonly functions: Readonly<Record<BrokerFunctionName, IFunction>>;
  readonly table: ITable;
  /** Shown first, as a status board. */
  readonly alarms: readonly Alarm[];
}

/** A dynamic label: the value of one dimension of a SEARCH result's series. */
const dim = (dimension: string) => `\${PROP('Dim.${dimension}')}`;

/** The widget titles, in order; the README's "how to read the dashboard" follows them. */
export const DASHBOARD_WIDGETS = [
  'Alarms',
  'HTTP API: requests and 4xx/5xx',
  'HTTP API: latency',
  'Lambda: errors per function',
  'Lambda: throttles per function',
  'Lambda: duration p99 per function',
  'Lambda: concurrent executions per function',
  'DynamoDB: throttled requests and system errors',
  'DynamoDB: latency per operation (average)',
  'Tokens issued, by grant',
  'Service-token cache: near, table, miss',
  'Store unavailable (answered 503), by function',
  'Theft and abuse: refresh reuse, lockouts, failed logins, client authentication',
  'Warm-up: refreshed and failed',
] as const;

/**
 * One CloudWatch dashboard with the alarms' figures and the broker's own metrics, named after
 * the stack and region (dashboard names are global to the account): `TokenBroker-eu-central-1`.
 */
export class BrokerDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: BrokerDashboardProps) {
    super(scope, id);
    const functions = Object.entries(props.functions) as [BrokerFunctionName, IFunction][];
    const perFunction = (metric: (fn: IFunction, name: BrokerFunctionName) => IMetric) => functions.map(([name, fn]) => metric(fn, name));
    const [
      alarmsTitle,
      requestsTitle,
      latencyTitle,
      errorsTitle,
      throttlesTitle,
      durationTitle,
      concurrencyTitle,
      tableErrorsTitle,
      tableLatencyTitle,
      tokensTitle,
      cacheTitle,
      storeTitle,
      abuseTitle,
      warmupTitle,
    ] = DASHBOARD_WIDGETS;
    const graph = (title: string, left: IMetric[], extra: { right?: IMetric[]; width?: number; stacked?: boolean } = {}) =>
      new GraphWidget({
        title,
        left,
        right: extra.right ?? [],
        width: extra.width ?? 12,
        height: 6,
        stacked: extra.stacked ?? false,
        period: FIVE_MINUTES,
      });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-${Aws.REGION}`,
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# token-broker\n' +
          "Alarms first (each one's description says what to do). Every graph sums 5-minute periods. " +
          "The broker's own metrics are in the `TokenBroker` namespace, dimension `Service` = the function. " +
          'README, "Alarms and dashboard", explains each graph.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: alarmsTitle, alarms: [...props.alarms], width: 24, height: 6 }));
    this.dashboard.addWidgets(
      graph(requestsTitle, [props.api.metricCount({ period: FIVE_MINUTES, statistic: Stats.SUM, label: 'requests' })], {
        right: [
          props.api.metricClientError({ period: FIVE_MINUTES, statistic: Stats.SUM, label: '4xx' }),
          props.api.metricServerError({ period: FIVE_MINUTES, statistic: Stats.SUM, label: '5xx' }),
        ],
      }),
      graph(latencyTitle, [
        props.api.metricLatency({ period: FIVE_MINUTES, statistic: Stats.p(50), label: 'p50' }),
        props.api.metricLatency({ period: FIVE_MINUTES, statistic: Stats.p(99), label: 'p99' }),
        props.api.metricIntegrationLatency({ period: FIVE_MINUTES, statistic: Stats.p(99), label: 'integration p99' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        errorsTitle,
        perFunction((fn, name) => fn.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM, label: name })),
      ),
      graph(
        throttlesTitle,
        perFunction((fn, name) => fn.metricThrottles({ period: FIVE_MINUTES, statistic: Stats.SUM, label: name })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        durationTitle,
        perFunction((fn, name) => fn.metricDuration({ period: FIVE_MINUTES, statistic: Stats.p(99), label: name })),
      ),
      graph(
        concurrencyTitle,
        perFunction((fn, name) => fn.metric('ConcurrentExecutions', { period: FIVE_MINUTES, statistic: Stats.MAXIMUM, label: name })),
      ),
    );
    this.dashboard.addWidgets(
      graph(tableErrorsTitle, [
        sumOverOperations(props.table, 'ThrottledRequests', 'throttled requests'),
        sumOverOperations(props.table, 'SystemErrors', 'system errors'),
      ]),
      graph(tableLatencyTitle, [
        new MathExpression({
          expression: `SEARCH('{AWS/DynamoDB,Operation,TableName} MetricName="SuccessfulRequestLatency" TableName="${props.table.tableName}"', 'Average', 300)`,
          usingMetrics: {},
          label: dim('Operation'),
          period: FIVE_MINUTES,
        }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(tokensTitle, [brokerSearch('TokensIssued', ['Grant', 'Service'], `${dim('Grant')} (${dim('Service')})`)], {
        stacked: true,
      }),
      graph(cacheTitle, [brokerSearch('ServiceTokenCache', ['Service', 'Tier'], `${dim('Tier')} (${dim('Service')})`)], {
        stacked: true,
      }),
    );
    this.dashboard.addWidgets(
      graph(storeTitle, [brokerSearch('StoreUnavailable', ['Service'], dim('Service'))]),
      graph(abuseTitle, [
        brokerMetricTotal('RefreshReuseDetected', 'refresh reuse detected'),
        brokerMetricTotal('LoginsLocked', 'logins locked'),
        brokerSearch('LoginsFailed', ['Service'], `logins failed (${dim('Service')})`),
        brokerSearch('ClientAuthFailures', ['Service'], `client auth failed (${dim('Service')})`),
      ]),
    );
    this.dashboard.addWidgets(
      graph(warmupTitle, [
        brokerSearch('WarmupRefreshed', ['Service'], 'refreshed'),
        brokerSearch('WarmupFailures', ['Service'], 'failed'),
      ]),
    );
  }
}
