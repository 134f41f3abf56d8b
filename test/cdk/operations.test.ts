import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, retentionDays, stackPropsFromContext } from '../../lib/app.js';
import { DEFAULT_ALARM_THRESHOLDS } from '../../lib/constructs/broker-alarms.js';
import { DASHBOARD_WIDGETS } from '../../lib/constructs/broker-dashboard.js';
import type { BrokerFunctionName } from '../../lib/constructs/broker-functions.js';
import { TokenBrokerStack, type TokenBrokerStackProps } from '../../lib/token-broker-stack.js';

/**
 * Operating the stack (issue 14): alarms to one encrypted topic, one dashboard, the functions'
 * logging, retention and tracing, the API's access log. Bundling is skipped: only the template
 * is read (test/cdk/stack.test.ts synthesizes the bundled app and runs both cdk-nag packs on it).
 */

type Json = Record<string, any>;

const FUNCTIONS: BrokerFunctionName[] = ['oauth', 'discovery', 'storefront', 'federation', 'signup', 'authorize', 'fallback', 'warmup'];

let stack: TokenBrokerStack;
let template: Template;
let resources: Record<string, Json>;

beforeAll(() => {
  stack = unbundledStack({});
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

describe('alarms', () => {
  const alarm = (name: string): Json => {
    const found = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === `Ops-${name}`);
    expect(found, name).toHaveLength(1);
    return found[0]!.Properties;
  };
  const topic = () => ({ Ref: id(stack.alarmTopic.topic) });
  /** The metrics of a math alarm, by id: namespace, name, dimensions and statistic. */
  const mathMetrics = (props: Json): Record<string, Json> =>
    Object.fromEntries(
      (props.Metrics as Json[])
        .filter((m) => m.MetricStat)
        .map((m) => [
          m.Id,
          {
            namespace: m.MetricStat.Metric.Namespace,
            name: m.MetricStat.Metric.MetricName,
            dimensions: Object.fromEntries(m.MetricStat.Metric.Dimensions.map((d: Json) => [d.Name, d.Value])),
            stat: m.MetricStat.Stat,
            period: m.MetricStat.Period,
          },
        ]),
    );
  const expression = (props: Json) => (props.Metrics as Json[]).find((m) => m.ReturnData !== false)!.Expression;

  const names = [
    'ApiServerErrors',
    'ApiLatencyP99',
    ...FUNCTIONS.flatMap((fn) => [`${fn[0]!.toUpperCase()}${fn.slice(1)}Errors`, `${fn[0]!.toUpperCase()}${fn.slice(1)}Throttles`]),
    'TableThrottles',
    'TableSystemErrors',
    'WarmupFailures',
    'WarmupDeadLetters',
    'RefreshReuseSpike',
    'LockoutSpike',
  ];

  it('are exactly the named ones, one per concern and function', () => {
    const all = Object.values(resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => r.Properties.AlarmName);
    expect(all.sort()).toEqual(names.map((n) => `Ops-${n}`).sort());
  });

  it.each(names)('%s: publishes to the alarm topic when it fires and clears, says what to do, and ignores missing data', (name) => {
    const props = alarm(name);
    expect(props.AlarmActions).toEqual([topic()]);
    expect(props.OKActions).toEqual([topic()]);
    expect(props.TreatMissingData).toBe('notBreaching');
    expect(props.EvaluationPeriods).toBe(1);
    // What it means, then what to do.
    expect(props.AlarmDescription.length).toBeGreaterThan(120);
    expect(props.AlarmDescription).toMatch(/ Do: /);
    if (props.Period !== undefined) expect(props.Period).toBe(300);
  });

  it('ApiServerErrors: 5xx share of the HTTP API requests above 1 % over 5 minutes, from 20 requests on', () => {
    const props = alarm('ApiServerErrors');
    const api = { Ref: id(stack.api.api) };
    expect(mathMetrics(props)).toEqual({
      requests: { namespace: 'AWS/ApiGateway', name: 'Count', dimensions: { ApiId: api }, stat: 'Sum', period: 300 },
      errors: { namespace: 'AWS/ApiGateway', name: '5xx', dimensions: { ApiId: api }, stat: 'Sum', period: 300 },
    });
    expect(expression(props)).toBe('IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)');
    expect(props).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('ApiLatencyP99: p99 of the HTTP API latency above 1000 ms over 5 minutes', () => {
    expect(alarm('ApiLatencyP99')).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: 'Latency',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: id(stack.api.api) } }],
      ExtendedStatistic: 'p99',
      Period: 300,
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it.each(FUNCTIONS)('%s: an alarm on its Lambda errors and one on its throttles, from the first one', (fn) => {
    const prefix = `${fn[0]!.toUpperCase()}${fn.slice(1)}`;
    for (const [suffix, metric] of [
      ['Errors', 'Errors'],
      ['Throttles', 'Throttles'],
    ] as const) {
      expect(alarm(`${prefix}${suffix}`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(stack.functions[fn]) } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it.each([
    ['TableThrottles', 'ThrottledRequests'],
    ['TableSystemErrors', 'SystemErrors'],
  ])("%s: the table's %s summed over every operation the broker issues", (name, metricName) => {
    const props = alarm(name);
    const metrics = Object.values(mathMetrics(props));
    expect(metrics.map((m) => m.dimensions.Operation).sort()).toEqual([
      'BatchGetItem',
      'DeleteItem',
      'GetItem',
      'PutItem',
      'Query',
      'UpdateItem',
    ]);
    for (const m of metrics) {
      expect(m).toMatchObject({ namespace: 'AWS/DynamoDB', name: metricName, stat: 'Sum', period: 300 });
      expect(m.dimensions.TableName).toEqual({ Ref: id(stack.table) });
    }
    // A quiet operation counts 0 instead of blanking the sum.
    expect(expression(props).split(' + ')).toHaveLength(6);
    expect(expression(props)).toMatch(/^FILL\(\w+, 0\)( \+ FILL\(\w+, 0\))+$/);
    expect(props).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  it("WarmupFailures: the warm-up's own WarmupFailures metric (EMF, namespace TokenBroker), from 1", () => {
    expect(alarm('WarmupFailures')).toMatchObject({
      Namespace: 'TokenBroker',
      MetricName: 'WarmupFailures',
      Dimensions: [{ Name: 'Service', Value: 'warmup' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('WarmupDeadLetters: any message in the warm-up dead-letter queue', () => {
    expect(alarm('WarmupDeadLetters')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(stack.warmup.deadLetters), 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it.each([
    ['RefreshReuseSpike', 'RefreshReuseDetected', ['oauth', 'storefront'], 5],
    ['LockoutSpike', 'LoginsLocked', ['authorize', 'storefront'], 20],
  ] as const)('%s: %s summed over the functions that emit it, from %j, threshold %d', (name, metricName, services, threshold) => {
    const props = alarm(name);
    const metrics = Object.values(mathMetrics(props));
    expect(metrics.map((m) => m.dimensions).sort((a, b) => a.Service.localeCompare(b.Service))).toEqual(
      services.map((Service) => ({ Service })),
    );
    for (const m of metrics) expect(m).toMatchObject({ namespace: 'TokenBroker', name: metricName, stat: 'Sum', period: 300 });
    expect(expression(props)).toMatch(/^FILL\(\w+, 0\) \+ FILL\(\w+, 0\)$/);
    expect(props).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  it('takes its thresholds from the alarmThresholds stack prop, keeping the other defaults', () => {
    const other = Template.fromStack(
      unbundledStack({ alarmThresholds: { apiLatencyP99Ms: 2500, refreshReuse: 1, lockouts: 100, apiServerErrorMinRequests: 50 } }),
    ).toJSON().Resources as Record<string, Json>;
    const threshold = (name: string) =>
      Object.values(other).find((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === `Ops-${name}`)!.Properties;
    expect(threshold('ApiLatencyP99').Threshold).toBe(2500);
    expect(threshold('RefreshReuseSpike').Threshold).toBe(1);
    expect(threshold('LockoutSpike').Threshold).toBe(100);
    expect(threshold('ApiServerErrors').Threshold).toBe(DEFAULT_ALARM_THRESHOLDS.apiServerErrorPercent);
    expect(expression(threshold('ApiServerErrors'))).toContain('requests >= 50');
    expect(threshold('OauthErrors').Threshold).toBe(DEFAULT_ALARM_THRESHOLDS.functionErrors);
  });
});

describe('alarm topic', () => {
  it("is encrypted with a rotated customer managed key, accepts only TLS, and lets the stack's alarms publish", () => {
    const topic = { Ref: id(stack.alarmTopic.topic) };
    expect(resources[topic.Ref]!.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [id(stack.alarmTopic.key), 'Arn'] });
    const key = resources[id(stack.alarmTopic.key)]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    // Only this account's alarms of this stack (confused deputy).
    const fromTheStacksAlarms = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:Ops-*'],
          ],
        },
      },
    };
    expect(key.Properties.KeyPolicy.Statement).toContainEqual({
      Sid: 'CloudWatchAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: fromTheStacksAlarms,
    });
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(1);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as Json[];
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(statements).toContainEqual({
      Sid: 'CloudWatchAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: topic,
      Condition: fromTheStacksAlarms,
    });
  });

  it('has no subscription without alarmEmail', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('subscribes the alarmEmail address', () => {
    const other = unbundledStack({ alarmEmail: 'ops@acme.example' });
    const subscriptions = Template.fromStack(other).findResources('AWS::SNS::Subscription');
    expect(Object.values(subscriptions).map((s) => s.Properties)).toEqual([
      { Protocol: 'email', Endpoint: 'ops@acme.example', TopicArn: { Ref: id(other.alarmTopic.topic) } },
    ]);
  });

  it('refuses an alarmEmail that is not an address', () => {
    expect(() => unbundledStack({ alarmEmail: 'ops' })).toThrow(/alarmEmail/);
  });
});

describe('dashboard', () => {
  /** The dashboard body with every CloudFormation reference replaced by a placeholder, parsed. */
  const body = (): Json => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const parts = dashboards[0]!.Properties.DashboardBody['Fn::Join'][1] as unknown[];
    return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join(''));
  };

  it('is one, named after the stack and region', () => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
    expect(dashboard.Properties.DashboardName).toEqual({ 'Fn::Join': ['', ['Ops-', { Ref: 'AWS::Region' }]] });
  });

  it('shows the alarms first, then its graphs in order', () => {
    const widgets = body().widgets as Json[];
    expect(widgets[0]!.type).toBe('text');
    expect(widgets.slice(1).map((w) => w.properties.title)).toEqual([...DASHBOARD_WIDGETS]);
    const alarms = widgets.find((w) => w.type === 'alarm')!;
    expect(alarms.properties.alarms).toHaveLength(Object.keys(stack.alarms.alarms).length);
  });

  it("graphs every function's errors, throttles, duration and concurrency", () => {
    const widgets = body().widgets as Json[];
    for (const [title, metric] of [
      ['Lambda: errors per function', 'Errors'],
      ['Lambda: throttles per function', 'Throttles'],
      ['Lambda: duration p99 per function', 'Duration'],
      ['Lambda: concurrent executions per function', 'ConcurrentExecutions'],
    ]) {
      const metrics = widgets.find((w) => w.properties.title === title)!.properties.metrics as unknown[][];
      expect(
        metrics.map((m) => m[1]),
        title,
      ).toEqual(FUNCTIONS.map(() => metric));
      expect(metrics.map((m) => (m.at(-1) as Json).label).sort(), title).toEqual([...FUNCTIONS].sort());
    }
  });

  it("graphs the broker's own metrics: tokens by grant, cache tiers, store unavailable, theft and abuse, warm-up", () => {
    const text = JSON.stringify(body());
    for (const search of [
      `SEARCH('{TokenBroker,Grant,Service} MetricName=\\"TokensIssued\\"', 'Sum', 300)`,
      `SEARCH('{TokenBroker,Service,Tier} MetricName=\\"ServiceTokenCache\\"', 'Sum', 300)`,
      `SEARCH('{TokenBroker,Service} MetricName=\\"StoreUnavailable\\"', 'Sum', 300)`,
      `SEARCH('{TokenBroker,Service} MetricName=\\"LoginsFailed\\"', 'Sum', 300)`,
      `SEARCH('{TokenBroker,Service} MetricName=\\"ClientAuthFailures\\"', 'Sum', 300)`,
      `SEARCH('{TokenBroker,Service} MetricName=\\"WarmupRefreshed\\"', 'Sum', 300)`,
      `SEARCH('{TokenBroker,Service} MetricName=\\"WarmupFailures\\"', 'Sum', 300)`,
    ]) {
      expect(text).toContain(search);
    }
    for (const metric of ['RefreshReuseDetected', 'LoginsLocked', 'ThrottledRequests', 'SystemErrors', 'Latency', '5xx', '4xx']) {
      expect(text).toContain(`"${metric}"`);
    }
  });
});

describe('logs', () => {
  const fn = (owner: TokenBrokerStack, name: BrokerFunctionName) =>
    (Template.fromStack(owner).toJSON().Resources as Record<string, Json>)[id(owner.functions[name])]!.Properties;

  it.each(FUNCTIONS)('%s: JSON log format, application INFO, system WARN (no START/END/REPORT lines), 30 days', (name) => {
    const props = resources[id(stack.functions[name])]!.Properties;
    expect(props.LoggingConfig).toEqual({
      LogFormat: 'JSON',
      ApplicationLogLevel: 'INFO',
      SystemLogLevel: 'WARN',
      LogGroup: { Ref: expect.any(String) },
    });
    expect(resources[props.LoggingConfig.LogGroup.Ref]!.Properties.RetentionInDays).toBe(30);
  });

  it('takes the levels and the retention from stack props', () => {
    const other = unbundledStack({
      applicationLogLevel: ApplicationLogLevel.DEBUG,
      systemLogLevel: SystemLogLevel.INFO,
      logRetentionDays: RetentionDays.THREE_MONTHS,
      apiAccessLogs: true,
    });
    const otherResources = Template.fromStack(other).toJSON().Resources as Record<string, Json>;
    for (const name of FUNCTIONS) {
      const props = fn(other, name);
      expect(props.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'DEBUG', SystemLogLevel: 'INFO' });
      expect(otherResources[props.LoggingConfig.LogGroup.Ref]!.Properties.RetentionInDays).toBe(90);
    }
    // Every log group of the stack, the access log's included.
    const groups = Object.values(otherResources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(FUNCTIONS.length + 1);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(90);
  });

  it('has no API access log by default: the broker logs each request itself', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    expect(stage.Properties.AccessLogSettings).toBeUndefined();
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup')).toHaveLength(FUNCTIONS.length);
  });

  it('writes the JSON access log, without headers or query strings, with apiAccessLogs', () => {
    const other = unbundledStack({ apiAccessLogs: true });
    const otherResources = Template.fromStack(other).toJSON().Resources as Record<string, Json>;
    const stage = Object.values(otherResources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')!;
    const { DestinationArn, Format } = stage.Properties.AccessLogSettings;
    expect(otherResources[DestinationArn['Fn::GetAtt'][0]]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
    });
    expect(JSON.parse(Format)).toEqual({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      httpMethod: '$context.httpMethod',
      routeKey: '$context.routeKey',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      integrationLatency: '$context.integrationLatency',
    });
  });
});

describe('tracing', () => {
  it('is off by default: no TracingConfig, no X-Ray permission', () => {
    for (const name of FUNCTIONS) expect(resources[id(stack.functions[name])]!.Properties.TracingConfig, name).toBeUndefined();
    expect(JSON.stringify(resources)).not.toContain('xray:');
  });

  it('is active on every function with the tracing stack prop, which may then write traces', () => {
    const other = unbundledStack({ tracing: true });
    const otherResources = Template.fromStack(other).toJSON().Resources as Record<string, Json>;
    for (const name of FUNCTIONS) {
      const props = otherResources[id(other.functions[name])]!.Properties;
      expect(props.TracingConfig, name).toEqual({ Mode: 'Active' });
      const roleId = props.Role['Fn::GetAtt'][0];
      const statements = Object.values(otherResources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: Json) => role.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
      expect(statements, name).toContainEqual({
        Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        Effect: 'Allow',
        Resource: '*',
      });
    }
  });
});

describe('stack properties from CDK context', () => {
  it('reads every operator property, typed', () => {
    const app = new App({
      context: {
        alarmEmail: 'ops@acme.example',
        tracing: 'true',
        apiAccessLogs: 'false',
        applicationLogLevel: 'debug',
        systemLogLevel: 'INFO',
        logRetentionDays: '90',
        mailFromIdentity: 'acme.example',
      },
    });
    expect(stackPropsFromContext(app)).toEqual({
      alarmEmail: 'ops@acme.example',
      tracing: true,
      apiAccessLogs: false,
      applicationLogLevel: ApplicationLogLevel.DEBUG,
      systemLogLevel: SystemLogLevel.INFO,
      logRetentionDays: RetentionDays.THREE_MONTHS,
      mailFromIdentity: 'acme.example',
    });
    expect(stackPropsFromContext(new App())).toEqual({});
  });

  it('refuses values the stack cannot take, before anything is deployed', () => {
    expect(() => retentionDays('31')).toThrow(/logRetentionDays/);
    expect(() => retentionDays('9999')).toThrow(/logRetentionDays/);
    expect(() => stackPropsFromContext(new App({ context: { tracing: 'yes' } }))).toThrow(/tracing/);
    expect(() => stackPropsFromContext(new App({ context: { systemLogLevel: 'ERROR' } }))).toThrow(/systemLogLevel/);
  });

  it('reach the stack through buildApp', () => {
    const { stack: built } = buildApp({
      context: { 'aws:cdk:bundling-stacks': [], alarmEmail: 'ops@acme.example', tracing: 'true' },
    });
    const built_ = Template.fromStack(built);
    built_.resourceCountIs('AWS::SNS::Subscription', 1);
    built_.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
  });
});

// --- helpers ---------------------------------------------------------------------------------

function id(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

/** A stack named Ops with the given props; bundling skipped, it is only inspected. */
function unbundledStack(props: TokenBrokerStackProps): TokenBrokerStack {
  return new TokenBrokerStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Ops', props);
}
