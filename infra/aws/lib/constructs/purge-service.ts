/**
 * The purge job of one location (the README's AWS section, "Purge function"): the function, its daily
 * schedule, its dead-letter queue, and a role that may delete only what an expired account owns.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CAMPAIGN_CONFIG,
  type Location,
  METRIC_DIMENSIONS,
  metricsNamespace,
  names,
  PURGE_METRICS,
  type Stage,
} from '../../../../platform';
import {
  eventBucketVariable,
  purgeEnvSchema,
  type PurgeEnvInput,
} from '../../../../platform/contracts/purge-env';
import {
  acknowledgeConfigObjects,
  acknowledgeEventObjectPrefixes,
  acknowledgeReceiptObjects,
  acknowledgeRemoteReceiptsKey,
} from '../../../../policies/aws/acknowledgements';
import { grantOnPrincipal } from '../grants';
import { awsNames } from '../naming';
import type { IDirectoryTable } from './directory-table';
import { EventStore } from './event-store';
import type { IPurgeReceipts } from './purge-receipts';
import { TrackstackFunction } from './trackstack-function';

/** Longest one invocation of the purge function may run (Lambda's maximum). */
export const PURGE_TIMEOUT = Duration.minutes(15);

/**
 * The job's own time budget (`TS_TIME_BUDGET_SECONDS`): it starts no new batch after this, so it finishes
 * well inside {@link PURGE_TIMEOUT}; the next day's run continues where it stopped.
 */
export const PURGE_TIME_BUDGET = Duration.minutes(14);

/** Properties of {@link PurgeService}. */
export interface PurgeServiceProps {
  /** The stage. */
  readonly stage: Stage;
  /** The location of this instance (its directory replica, its metrics dimension). */
  readonly location: Location;
  /** Every location of the stage: the job empties an expired account's prefix in each one's event bucket. */
  readonly locations: readonly Location[];
  /** The regional key: the directory replica's and the dead-letter queue's key. */
  readonly encryptionKey: kms.IKey;
  /** The directory table (this region's replica). */
  readonly directoryTable: IDirectoryTable;
  /**
   * The receipts bucket: the construct in the directory home's stack, `PurgeReceipts.fromBucketName`
   * elsewhere.
   */
  readonly receipts: IPurgeReceipts;
  /** Days each receipt is locked (`TS_RECEIPT_RETENTION_DAYS`). */
  readonly receiptRetentionDays: number;
  /** When the job runs. */
  readonly schedule: events.Schedule;
  /** Name of the function's log group. */
  readonly logGroupName: string;
  /** Days the function's logs are kept. */
  readonly logRetentionDays: number;
  /**
   * Memory of the function, in MiB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * The CDN's config bucket (`names.configBucket(stage, account)`, in the edge stack): when given, the job
   * also deletes a purged account's published configs (`config/<accountId>/`) from it
   * (`TS_CONFIG_BUCKET`). One location's job does it, the directory home's.
   * @default - none: this location's job leaves the config bucket alone
   */
  readonly configBucketName?: string;
}

/**
 * The purge function (reserved concurrency 1: one run at a time per region), started every day by an
 * EventBridge rule. A failed run (the handler throws when an account failed) is retried twice by Lambda,
 * then lands in the dead-letter queue; so does a schedule that could not invoke the function.
 *
 * The role (a customer-managed policy, within the stack's permissions boundary) may:
 * - list object versions of the event bucket of every location of the stage, for `account=` prefixes only,
 *   and delete object versions under `account=` only;
 * - scan the directory (Scan finds accounts and API keys, which no key condition can confine); read and
 *   delete only the partitions that hold an account's items (`ACCOUNT#`, `APIKEY#`, `DATAKEY#`, `DEDUP#`),
 *   and put only `ACCOUNT#` items (the account record carries the purge's progress);
 * - use the regional key only through DynamoDB (the table key) and SQS (its dead-letter queue), and the
 *   receipts bucket's key only through S3 for receipt objects; never directly, so it can never unwrap an
 *   account's data key: crypto-shredding deletes the wrapped keys, it never reads them;
 * - put, read back and check the Object Lock of receipts, never delete one;
 * - with `configBucketName`, list the versions of and delete the objects under `config/` in the CDN's
 *   config bucket, never anything else there.
 */
export class PurgeService extends Construct {
  /** The purge function. */
  public readonly function: TrackstackFunction<typeof purgeEnvSchema>;
  /** Where failed invocations and undeliverable schedules land. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The daily EventBridge rule. */
  public readonly schedule: events.Rule;
  private readonly stage: Stage;
  private readonly location: Location;

  constructor(scope: Construct, id: string, props: PurgeServiceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { stage, location } = props;
    const key = props.encryptionKey;
    const eventBucket = (l: Location) => names.eventBucket(stage, l, stack.account);
    const receipts = props.receipts;

    // Named resources: the key policy binds to them by ARN, which a reference would turn into a cycle.
    const queueName = awsNames.purgeDeadLetterQueue(stage, location);
    const queueArn = stack.formatArn({ service: 'sqs', resource: queueName });
    const ruleName = awsNames.purgeSchedule(stage, location);
    const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const environment: PurgeEnvInput = {
      TS_STAGE: stage,
      TS_LOCATION: location,
      TS_LOCATIONS: props.locations.join(','),
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: props.directoryTable.tableName,
      TS_OBJECT_STORE: 's3',
      ...Object.fromEntries(props.locations.map((l) => [eventBucketVariable(l), eventBucket(l)])),
      TS_RECEIPT_STORE: 's3',
      TS_RECEIPTS_BUCKET: receipts.bucketName,
      TS_RECEIPTS_REGION: receipts.region,
      TS_RECEIPT_RETENTION_DAYS: String(props.receiptRetentionDays),
      TS_TIME_BUDGET_SECONDS: String(PURGE_TIME_BUDGET.toSeconds()),
      TS_LOG_LEVEL: 'info',
      TS_CONFIG_BUCKET: props.configBucketName,
    };
    this.function = new TrackstackFunction(this, 'Function', {
      service: 'purge',
      description: `Trackstack purge of expired accounts (${stage}, ${location})`,
      environmentSchema: purgeEnvSchema,
      environment,
      memorySize: props.memorySize ?? 512,
      // One run at a time in this region: a second would only find every account claimed by the first.
      reservedConcurrentExecutions: 1,
      timeout: PURGE_TIMEOUT,
      encryptionKey: key,
      logGroupName: props.logGroupName,
      logRetentionDays: props.logRetentionDays,
      roleName: awsNames.purgeRole(stage, location),
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
    this.stage = stage;
    this.location = location;

    // The event buckets of every location, in other regions too: by name (see `EventStore.grantPurgeAccounts`).
    const eventBuckets = props.locations.map(eventBucket);
    EventStore.grantPurgeAccounts(this, this.function, eventBuckets);
    acknowledgeEventObjectPrefixes(
      this.function.policy,
      eventBuckets.map((b) => EventStore.accountObjectsArn(this, b)),
    );
    props.directoryTable.grantPurgeAccounts(this.function);
    // Written out: aws-cdk-lib's table grants allow the table key's direct use, where DynamoDB alone needs it.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptTableKeyThroughDynamoDb',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
      }),
    );
    receipts.grantWriteReceipts(this.function);
    acknowledgeReceiptObjects(this.function.policy, receipts.receiptObjectsArn);
    if (receipts.keyNamedByAlias) acknowledgeRemoteReceiptsKey(this.function.policy, receipts.keyArn);
    if (props.configBucketName) this.grantDeleteConfigs(props.configBucketName);

    // The key policy names the role too: SQS uses the key with the sender's identity, for this queue only.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PurgeSendsDeadLettersThroughSqs',
        principals: [this.function.grantPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:ViaService': `sqs.${stack.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:sqs:arn': queueArn,
          },
        },
      }),
    );
    // EventBridge sends an event it could not deliver to the queue as the service, for this rule only.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PurgeScheduleSendsDeadLettersThroughSqs',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          ArnEquals: { 'aws:SourceArn': ruleArn },
          StringEquals: { 'kms:EncryptionContext:aws:sqs:arn': queueArn },
        },
      }),
    );

    this.schedule = new events.Rule(this, 'Schedule', {
      ruleName,
      description: `Starts the daily purge of expired accounts (${stage}, ${location})`,
      schedule: props.schedule,
    });
    this.schedule.addTarget(
      new targets.LambdaFunction(this.function.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
      }),
    );
  }

  /**
   * Accounts a run found still unpurged `RETENTION.purgeAlarmAfterDays` days after they expired
   * (`PurgeOverdueAccounts`, the job's EMF metric in `trackstack/<stage>`, dimension `Location`), published
   * once per run.
   */
  public metricOverdueAccounts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: metricsNamespace(this.stage),
      metricName: PURGE_METRICS.overdueAccounts,
      dimensionsMap: { [METRIC_DIMENSIONS.location]: this.location },
      ...props,
    });
  }

  /** Invocations of the function that the daily schedule could not make (`AWS/Events` `FailedInvocations`). */
  public metricScheduleFailedInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'FailedInvocations',
      dimensionsMap: { RuleName: this.schedule.ruleName },
      ...props,
    });
  }

  /**
   * Lets the function delete published configs from the CDN's config bucket: list (versions too) under
   * `config/`, delete objects and their versions under `config/`. By the bucket's derived ARN: the bucket
   * lives in the edge stack, which is deployed after the regional stacks (it needs their Function URLs), so
   * it cannot be referenced from here.
   */
  private grantDeleteConfigs(bucketName: string): void {
    const bucketArn = `arn:${Stack.of(this).partition}:s3:::${bucketName}`;
    const objectsArn = `${bucketArn}/${CAMPAIGN_CONFIG.root}*`;
    grantOnPrincipal(this.function, {
      sid: 'ListPublishedConfigs',
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resourceArns: [bucketArn],
      conditions: { StringLike: { 's3:prefix': `${CAMPAIGN_CONFIG.root}*` } },
    });
    grantOnPrincipal(this.function, {
      sid: 'DeletePublishedConfigs',
      actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      resourceArns: [objectsArn],
    });
    acknowledgeConfigObjects(this.function.policy, objectsArn);
  }

  /** ARN of the function's role, built from its name (for policies in other regions). */
  public static roleArn(scope: Construct, stage: Stage, location: Location): string {
    return Stack.of(scope).formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: awsNames.purgeRole(stage, location),
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }
}
