/**
 * Where incidents are kept and announced: the incident table, the on-call topic and the customer notice
 * topic, with the key that encrypts the table and the on-call topic.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { INCIDENTS } from '../../../../../platform';
import { grantOnPrincipal } from '../../grants';
import { accountThroughDynamoDb, administratorsManageButDoNotUse } from '../../private/key-policy';

/** Properties of {@link IncidentStore}. */
export interface IncidentStoreProps {
  /** The table's name, `names.incidentTable(stage)`. */
  readonly tableName: string;
  /** The on-call topic's name, `names.incidentTopic(stage)`. */
  readonly incidentTopicName: string;
  /** The customer notice topic's name, `names.customerNoticeTopic(stage)`. */
  readonly noticeTopicName: string;
  /** The key's alias, without `alias/`. */
  readonly keyAlias: string;
  /**
   * An address that receives every on-call notification (it must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
}

/**
 * - The table: `pk`/`sk` (`INCIDENTS`), on demand, encrypted with the incident key, point-in-time
 *   recovery (35 days), deletion protection, retained. It holds ids, times, counts and operators' text,
 *   never personal data, and no purge role may touch it (their boundaries name the directory only).
 * - The incident topic (on-call): KMS-encrypted with the incident key, TLS only; CloudWatch alarms and
 *   EventBridge rules of this account may publish; the stage's `alarmEmail` subscribes.
 * - The notice topic: customer notices from `npm run incident -- notify` (its subscribers deliver them),
 *   encrypted with the AWS managed key of SNS: operators publish with their own identities, which the
 *   project's keys never let use a key (`KMSKeyAdminCannotDecrypt`), and SNS's managed key allows any
 *   principal of the account that may publish to the topic.
 */
export class IncidentStore extends Construct {
  /** The key of the table and the on-call topic. */
  public readonly key: kms.Key;
  /** The incident table. */
  public readonly table: dynamodb.TableV2;
  /** The on-call topic: every security alarm and finding. */
  public readonly incidentTopic: sns.Topic;
  /** The customer notice topic. */
  public readonly noticeTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: IncidentStoreProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.key = new kms.Key(this, 'Key', {
      description: `Trackstack incident key (alias/${props.keyAlias}): incident table and on-call topic`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new iam.PolicyDocument({
        statements: [
          administratorsManageButDoNotUse(),
          // Operators (`npm run incident`) and the containment function reach the table through DynamoDB.
          accountThroughDynamoDb('IncidentTableThroughDynamoDb', stack.account, stack.region),
          // Publishing to an encrypted topic makes SNS generate a data key with the publisher's identity.
          new iam.PolicyStatement({
            sid: 'AlarmsAndRulesPublishToOnCall',
            principals: [
              new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
              new iam.ServicePrincipal('events.amazonaws.com'),
            ],
            actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            resources: ['*'],
            conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
          }),
        ],
      }),
    });
    this.key.addAlias(`alias/${props.keyAlias}`);

    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: INCIDENTS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: INCIDENTS.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.key),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 35 },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.incidentTopic = new sns.Topic(this, 'IncidentTopic', {
      topicName: props.incidentTopicName,
      displayName: 'Trackstack incidents (on-call)',
      masterKey: this.key,
      enforceSSL: true,
    });
    const ofThisAccount = (service: string, resource: string) => ({
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service,
          region: '*',
          resource,
          resourceName: '*',
          arnFormat: service === 'cloudwatch' ? ArnFormat.COLON_RESOURCE_NAME : ArnFormat.SLASH_RESOURCE_NAME,
        }),
      },
    });
    this.incidentTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.incidentTopic.topicArn],
        conditions: ofThisAccount('cloudwatch', 'alarm'),
      }),
    );
    this.incidentTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeRulesPublish',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.incidentTopic.topicArn],
        conditions: ofThisAccount('events', 'rule'),
      }),
    );
    if (props.alarmEmail) {
      this.incidentTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    this.noticeTopic = new sns.Topic(this, 'NoticeTopic', {
      topicName: props.noticeTopicName,
      displayName: 'Trackstack customer notices',
      masterKey: kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
  }

  /**
   * Lets the grantee read and write incident records (`INCIDENT#…` partitions only) and use the key for
   * them through DynamoDB: never a scan (listing is the operators'), a delete or another table.
   */
  public grantWriteIncidents(grantee: iam.IGrantable): iam.Grant {
    return grantOnPrincipal(grantee, {
      sid: 'ReadAndWriteIncidents',
      // The store reads a record and writes it back with a version check (a conditional put).
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [INCIDENTS.incidentPk('*')] } },
    }).combine(
      grantOnPrincipal(grantee, {
        sid: 'IncidentTableKeyThroughDynamoDb',
        actions: ['kms:Decrypt'],
        resourceArns: [this.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` },
        },
      }),
    );
  }
}
