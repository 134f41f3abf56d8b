import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { DEFAULTS } from '../../functions/config.js';

/**
 * How often the warm-up runs. The function gets it as WARMUP_INTERVAL_SECONDS: it renews every
 * token that would go stale before the next run, so the two must agree (functions/config.ts DEFAULTS).
 */
export const WARMUP_INTERVAL = Duration.seconds(DEFAULTS.warmupIntervalSeconds);

export interface WarmupScheduleProps {
  readonly handler: IFunction;
}

export class WarmupSchedule extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: WarmupScheduleProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Rule', {
      description: 'token-broker: keeps the cached service tokens of warm-up clients fresh',
      schedule: Schedule.rate(WARMUP_INTERVAL),
    });
    this.rule.addTarget(
      new LambdaFunction(props.handler, {
        retryAttempts: 2,
        // A run older than one interval is superseded by the next one anyway.
        maxEventAge: WARMUP_INTERVAL,
      }),
    );
  }
}
