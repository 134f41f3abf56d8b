import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmTopicProps {
  /** An address that gets every alarm (and its return to OK) by mail. @default none */
  readonly alarmEmail?: string;
}

/**
 * Where the alarms go: one SNS topic, encrypted, publish over TLS only, and optionally an e-mail
 * subscription (SNS sends the address a confirmation mail first; nothing arrives until it is
 * confirmed). Subscribe anything else (a pager, a chat webhook) to the topic outside the stack.
 */
export class AlarmTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // CloudWatch publishes as its service principal: only for this account's alarms of this stack
    // (the alarms are named `<stack>-<name>`, lib/constructs/broker-alarms.ts), so no other
    // account's alarm can be pointed at the topic (confused deputy).
    const fromTheStacksAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': Arn.format(
          { service: 'cloudwatch', resource: 'alarm', resourceName: `${stack.stackName}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
          stack,
        ),
      },
    };
    // A customer managed key, not SNS's AWS managed one: CloudWatch can publish to an encrypted
    // topic only if the key policy lets it use the key, and an AWS managed key's policy cannot be changed.
    this.key = new Key(this, 'Key', {
      description: 'token-broker: encrypts the alarm topic',
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromTheStacksAlarms,
      }),
    );
    this.topic = new Topic(this, 'Topic', {
      displayName: 'token-broker alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    // The topic policy replaces SNS's default one, so CloudWatch's right to publish is stated here.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromTheStacksAlarms,
      }),
    );

    if (props.alarmEmail !== undefined) {
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(props.alarmEmail))
        throw new Error(`alarmEmail must be an e-mail address, not ${JSON.stringify(props.alarmEmail)}`);
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(this.topic).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'The only subscription is an e-mail address: a dead-letter queue would keep notifications no one reads, and ' +
          'an alarm that could not be mailed stays in ALARM in CloudWatch (console, dashboard) anyway.',
      });
    }
  }
}
