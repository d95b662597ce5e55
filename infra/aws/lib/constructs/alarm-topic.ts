/**
 * The SNS topic that the alarms of a regional stack notify.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** The regional key; its policy is extended so that CloudWatch alarms of this account may publish. */
  readonly encryptionKey: kms.IKey;
  /**
   * An address that receives every notification (it must confirm the subscription).
   * @default - no subscription
   */
  readonly email?: string;
  /**
   * The topic's display name.
   * @default - none
   */
  readonly displayName?: string;
}

/**
 * A KMS-encrypted topic, TLS-only, that CloudWatch alarms of this account and region may publish to.
 */
export class AlarmTopic extends Construct {
  /** The topic. */
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // CloudWatch publishes as the service; confine it to this account's alarms in this region.
    const alarmsOfThisAccount = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, so the alarms' right to publish is stated here.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: alarmsOfThisAccount,
      }),
    );
    // Publishing to an encrypted topic makes SNS generate a data key with the publisher's identity.
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishEncrypted',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
