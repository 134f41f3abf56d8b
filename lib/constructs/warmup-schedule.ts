import { Duration, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../../functions/config.js';

/**
 * How often the warm-up runs. The function gets it as WARMUP_INTERVAL_SECONDS: it renews every
 * token that would go stale before the next run, so the two must agree (functions/config.ts DEFAULTS).
 */
export const WARMUP_INTERVAL = Duration.seconds(DEFAULTS.warmupIntervalSeconds);

/** Retries of a run, by EventBridge (delivery) and by Lambda (a run that threw). */
export const WARMUP_RETRY_ATTEMPTS = 2;

export interface WarmupScheduleProps {
  readonly handler: IFunction;
}

/**
 * The schedule that runs the warm-up, and where a run that never happened ends up: one
 * dead-letter queue for both ways a run can be lost. EventBridge puts there the events it could
 * not deliver to Lambda after its retries (the rule target's DLQ); Lambda puts there the runs
 * that still threw after its own retries (the function's on-failure destination, which records
 * the error with the event). The `WarmupDeadLetters` alarm watches the queue.
 */
export class WarmupSchedule extends Construct {
  readonly rule: Rule;
  readonly deadLetters: Queue;

  constructor(scope: Construct, id: string, props: WarmupScheduleProps) {
    super(scope, id);
    this.deadLetters = new Queue(this, 'DeadLetters', {
      // SQS-managed keys: EventBridge and Lambda can both write without a KMS key policy.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Long enough to read after a weekend; a lost run is superseded by the next one anyway.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge(
      ...(['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy'] as const).map((id) => ({
        id,
        reason:
          'This queue is itself the dead-letter queue of the warm-up (the rule target and the function): nothing ' +
          'consumes it automatically, an operator reads it after the WarmupDeadLetters alarm, so there is no redrive.',
      })),
    );

    this.rule = new Rule(this, 'Rule', {
      description: 'token-broker: keeps the cached service tokens of warm-up clients fresh',
      schedule: Schedule.rate(WARMUP_INTERVAL),
    });
    this.rule.addTarget(
      new LambdaFunction(props.handler, {
        retryAttempts: WARMUP_RETRY_ATTEMPTS,
        // A run older than one interval is superseded by the next one anyway.
        maxEventAge: WARMUP_INTERVAL,
        deadLetterQueue: this.deadLetters,
      }),
    );
    // EventBridge invokes Lambda asynchronously: after delivery, Lambda's own retries apply.
    // Same bounds as the rule's, and the runs that still fail go to the same queue.
    props.handler.configureAsyncInvoke({
      retryAttempts: WARMUP_RETRY_ATTEMPTS,
      maxEventAge: WARMUP_INTERVAL,
      onFailure: new SqsDestination(this.deadLetters),
    });
    Validations.of(props.handler).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'The warm-up has an on-failure destination (the DeadLetters queue) instead of a dead-letter queue: AWS ' +
        'recommends destinations, which record the error with the event; both at once would put every lost run twice.',
    });
  }
}
