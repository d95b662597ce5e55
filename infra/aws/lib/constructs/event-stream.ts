/**
 * The regional event stream: Amazon Data Firehose delivering events into the event bucket, partitioned by
 * account and day.
 */
import { ArnFormat, Duration, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EVENT_OBJECTS } from '../../../../platform';
import { acknowledgeBucketObjectAccess } from '../../../../policies/aws/acknowledgements';
import { grantOnPrincipal } from '../grants';
import { EncryptedLogGroup } from './encrypted-log-group';

/** Dynamic partitioning needs buffers of at least 64 MiB. */
const MIN_PARTITIONED_BUFFER = Size.mebibytes(64);
/** The error log stream of a stream that has its log group to itself (stream 0's, as it always was). */
const DELIVERY_LOG_STREAM = 'DestinationDelivery';

/**
 * How Firehose splits a packed record back into events: as consecutive JSON objects. Each event is one JSON
 * document on its own line, so JSON de-aggregation (which accepts newline-separated objects) finds exactly
 * the events; splitting on a newline delimiter instead would leave an empty last piece after the final
 * newline, which the partition query could not read and would send to the error prefix.
 */
export const RECORD_SUB_TYPE = 'JSON';

/**
 * The object key prefix: `account=<id>/dt=<yyyy-mm-dd>/`, both taken from the stored event's JSON
 * (`accountId`, `dt`), so the purge can delete an account's data by prefix (`EVENT_OBJECTS` in `platform/`).
 */
export const EVENT_PREFIX = 'account=!{partitionKeyFromQuery:account}/dt=!{partitionKeyFromQuery:dt}/';
/** The JQ query that extracts the partition keys from each record. */
export const PARTITION_QUERY = '{account: .accountId, dt: .dt}';

/**
 * Every stream's processors, in order: split packed records back into events, read each event's partition
 * keys, put each event on a line of its own. The tests configure moto's streams with the same list.
 */
export const EVENT_STREAM_PROCESSORS: readonly firehose.CfnDeliveryStream.ProcessorProperty[] = [
  {
    type: 'RecordDeAggregation',
    parameters: [{ parameterName: 'SubRecordType', parameterValue: RECORD_SUB_TYPE }],
  },
  {
    type: 'MetadataExtraction',
    parameters: [
      { parameterName: 'MetadataExtractionQuery', parameterValue: PARTITION_QUERY },
      { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
    ],
  },
  { type: 'AppendDelimiterToRecord' },
];
/** Where records that could not be partitioned or delivered land, by error type and arrival day. */
export const ERROR_PREFIX = `${EVENT_OBJECTS.errorPrefix}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`;

/**
 * What Firehose needs on its destination bucket to deliver (AWS's documented S3 destination policy); the
 * stream's role is granted exactly these, and the permissions boundary must leave room for them.
 */
export const FIREHOSE_S3_DELIVERY_ACTIONS = [
  's3:AbortMultipartUpload',
  's3:GetBucketLocation',
  's3:GetObject',
  's3:ListBucket',
  's3:ListBucketMultipartUploads',
  's3:PutObject',
] as const;

/** Properties of {@link EventStream}. */
export interface EventStreamProps {
  /** The stream's name, e.g. `names.eventStream(stage, location)`. */
  readonly deliveryStreamName: string;
  /** The event bucket. */
  readonly destinationBucket: s3.IBucket;
  /** The regional key: the stream's records and the delivered objects are encrypted with it. */
  readonly encryptionKey: kms.IKey;
  /** The name of the log group that receives delivery errors (`shareWith`'s, when that is given). */
  readonly errorLogGroupName: string;
  /** Days the delivery error log is kept. */
  readonly logRetentionDays: number;
  /**
   * How long records are buffered before delivery. Each partition (account and day) has its own buffer.
   * @default Duration.minutes(5)
   */
  readonly bufferingInterval?: Duration;
  /**
   * How much is buffered before delivery; dynamic partitioning requires at least 64 MiB.
   * @default Size.mebibytes(64)
   */
  readonly bufferingSize?: Size;
  /**
   * The location's first stream, whose delivery role (and its policy and key policy statements) and error
   * log stream this one shares; its name must be that stream's followed by `-<i>` (`names.eventStream`),
   * which the role's trust policy admits. All of a location's streams deliver the same way into the same
   * bucket, so one role serves them, and fifty streams stay within the stack's 500 resources and the key
   * policy's 32 KiB. Firehose names the stream in each error it logs.
   * @default - none: the stream has its own role, policy, error log group and log stream
   */
  readonly shareWith?: EventStream;
}

/**
 * A Direct PUT Firehose stream with dynamic partitioning into the event bucket, encrypted in the stream
 * and in S3 with the regional key, logging delivery errors to an encrypted log group, with a role (its own,
 * or its location's first stream's, see `shareWith`) that may write only this bucket and this log stream.
 *
 * Built on the L1 `CfnDeliveryStream` because the L2 `DeliveryStream` has no dynamic partitioning.
 */
export class EventStream extends Construct {
  /** The delivery stream. */
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  /** The stream's name. */
  public readonly deliveryStreamName: string;
  /** The stream's ARN. */
  public readonly deliveryStreamArn: string;
  /** The role Firehose assumes to deliver. */
  public readonly role: iam.Role;
  /** The customer-managed policy that holds the role's permissions. */
  public readonly policy: iam.ManagedPolicy;
  /** The log group of delivery errors. */
  public readonly errorLogGroup: logs.ILogGroup;
  /** The name of the log group of delivery errors. */
  public readonly errorLogGroupName: string;
  /** How long records are buffered before delivery. */
  public readonly bufferingInterval: Duration;
  /** The log stream of delivery errors in {@link errorLogGroup}. */
  public readonly errorLogStreamName: string;
  /** The bucket the stream delivers into. */
  public readonly destinationBucket: s3.IBucket;
  /** The key of the stream's records and of the delivered objects. */
  public readonly encryptionKey: kms.IKey;
  /** The stream whose delivery role and error log this one shares, if any. */
  public readonly sharesDeliveryOf?: EventStream;

  constructor(scope: Construct, id: string, props: EventStreamProps) {
    super(scope, id);
    const bufferingSize = props.bufferingSize ?? MIN_PARTITIONED_BUFFER;
    if (bufferingSize.toMebibytes() < MIN_PARTITIONED_BUFFER.toMebibytes()) {
      throw new Error(`[${this.node.path}] bufferingSize: dynamic partitioning needs at least 64 MiB`);
    }
    this.bufferingInterval = props.bufferingInterval ?? Duration.minutes(5);
    this.deliveryStreamName = props.deliveryStreamName;

    const owner = props.shareWith;
    this.errorLogGroupName = props.errorLogGroupName;
    this.destinationBucket = props.destinationBucket;
    this.encryptionKey = props.encryptionKey;
    this.sharesDeliveryOf = owner;
    if (owner) {
      checkSharing(this, owner, props);
      this.errorLogGroup = owner.errorLogGroup;
      this.errorLogStreamName = owner.errorLogStreamName;
      this.role = owner.role;
      this.policy = owner.policy;
    } else {
      const own = this.createDelivery(props);
      this.errorLogGroup = own.errorLogGroup;
      this.errorLogStreamName = own.errorLogStreamName;
      this.role = own.role;
      this.policy = own.policy;
    }
    const bucket = props.destinationBucket;

    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'Resource', {
      deliveryStreamName: props.deliveryStreamName,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: {
        keyType: 'CUSTOMER_MANAGED_CMK',
        keyArn: props.encryptionKey.keyArn,
      },
      extendedS3DestinationConfiguration: {
        bucketArn: bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: EVENT_PREFIX,
        errorOutputPrefix: ERROR_PREFIX,
        bufferingHints: {
          intervalInSeconds: this.bufferingInterval.toSeconds(),
          sizeInMBs: bufferingSize.toMebibytes(),
        },
        compressionFormat: 'GZIP',
        fileExtension: '.json.gz',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.encryptionKey.keyArn } },
        dynamicPartitioningConfiguration: { enabled: true },
        processingConfiguration: {
          enabled: true,
          // Firehose bills Direct PUT per record in 5 KiB steps, so the ingest sink packs several
          // newline-terminated events of one account and day into a record; de-aggregation splits them back
          // before the partition keys are read, and the appended delimiter puts each event on a line of its own,
          // so the stored layout (one event per line, under its account's prefix) is what it always was.
          processors: [...EVENT_STREAM_PROCESSORS],
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.errorLogGroup.logGroupName,
          logStreamName: this.errorLogStreamName,
        },
      },
    });
    // Firehose checks its access when the stream is created; the policy must be attached by then.
    this.deliveryStream.node.addDependency(this.policy);
    this.deliveryStreamArn = this.deliveryStream.attrArn;
  }

  /**
   * Lets the grantee write records into the stream: `PutRecordBatch`, and `DescribeDeliveryStream` for its
   * readiness check. Unlike aws-cdk-lib's `DeliveryStream.grantPutRecords`, not `PutRecord`, which the
   * ingest service never calls.
   */
  public grantPutRecords(grantee: iam.IGrantable): iam.Grant {
    return EventStream.grantPutRecordsOnAll(grantee, [this]);
  }

  /**
   * {@link grantPutRecords} on a location's streams, in one statement: the first by its ARN, the others
   * (named `<first>-<i>`, as `names.eventStream` numbers them) by {@link numberedStreamsArn}, because fifty
   * ARNs would not fit with the rest of a function's policy in a managed policy's 6,144 characters.
   * Acknowledge that wildcard on the grantee's policy.
   * @throws Error when `streams` is empty, or a stream after the first is not named `<first>-<i>`
   */
  public static grantPutRecordsOnAll(grantee: iam.IGrantable, streams: readonly EventStream[]): iam.Grant {
    const [first, ...numbered] = streams;
    if (!first) throw new Error('grantPutRecordsOnAll: no stream to grant');
    const prefix = `${first.deliveryStreamName}-`;
    const stray = numbered.find(
      (s) =>
        !s.deliveryStreamName.startsWith(prefix) || !/^\d+$/.test(s.deliveryStreamName.slice(prefix.length)),
    );
    if (stray) {
      throw new Error(
        `grantPutRecordsOnAll: ${stray.deliveryStreamName} is not named ${first.deliveryStreamName}-<i>`,
      );
    }
    return grantOnPrincipal(grantee, {
      sid: 'PutEvents',
      actions: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'],
      resourceArns:
        numbered.length === 0
          ? [first.deliveryStreamArn]
          : [first.deliveryStreamArn, first.numberedStreamsArn],
    });
  }

  /** The ARN pattern of the streams numbered after this one (`<name>-<i>`, see `names.eventStream`). */
  public get numberedStreamsArn(): string {
    return Stack.of(this).formatArn({
      service: 'firehose',
      resource: 'deliverystream',
      resourceName: `${this.deliveryStreamName}-*`,
    });
  }

  /** A Firehose metric of this stream, e.g. `DeliveryToS3.Success` or `DeliveryToS3.DataFreshness`. */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Firehose',
      metricName,
      dimensionsMap: { DeliveryStreamName: this.deliveryStreamName },
      ...props,
    });
  }

  /** The share of deliveries into S3 that succeeded (`DeliveryToS3.Success`, 0 to 1). */
  public metricDeliveryToS3Success(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DeliveryToS3.Success', props);
  }

  /** Age in seconds of the oldest record not yet delivered into S3 (`DeliveryToS3.DataFreshness`). */
  public metricDeliveryToS3DataFreshness(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DeliveryToS3.DataFreshness', props);
  }

  /**
   * Active partitions (account and day) in the stream's buffers (`PartitionCount`). Past the stream's quota,
   * Firehose sends further records to the error prefix.
   */
  public metricPartitionCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('PartitionCount', props);
  }

  /**
   * 1 while the stream is over its active-partition quota, 0 otherwise (`PartitionCountExceeded`): records
   * are then delivered under `errors/activePartitionExceeded/`, outside their account's prefix.
   */
  public metricPartitionCountExceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('PartitionCountExceeded', props);
  }

  /** The stream's active-partition quota as Firehose applies it (`ActivePartitionsLimit`). */
  public metricActivePartitionsLimit(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ActivePartitionsLimit', props);
  }

  /**
   * Records refused because the stream's throughput quota (records, requests or bytes per second) was
   * exceeded (`ThrottledRecords`); the ingest sink retries them and spools what still fails.
   */
  public metricThrottledRecords(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ThrottledRecords', props);
  }

  /** The role, its policy, its statements in the key policy and the error log of a stream of its own. */
  private createDelivery(props: EventStreamProps) {
    const stack = Stack.of(this);
    const errorLogGroup = new EncryptedLogGroup(this, 'ErrorLog', {
      logGroupName: props.errorLogGroupName,
      encryptionKey: props.encryptionKey,
      retentionDays: props.logRetentionDays,
    }).logGroup;
    const errorLogStream = new logs.LogStream(this, 'ErrorLogStream', {
      logGroup: errorLogGroup,
      logStreamName: DELIVERY_LOG_STREAM,
    });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        // Only this account's stream of this name, and the streams numbered after it that share the role
        // (`shareWith`), may assume it (confused deputy).
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': [this.formatStreamArn(), this.numberedStreamsArn] },
        },
      }),
      description: `Delivers ${props.deliveryStreamName} (and the streams that share it) into the event bucket`,
    });

    const bucket = props.destinationBucket;
    // Written out: `bucket.grantReadWrite(role)`, what aws-cdk-lib's own S3 destination grants, would add
    // s3:DeleteObject* and the key's use without kms:ViaService.
    const policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `What Firehose may do to deliver ${props.deliveryStreamName}`,
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'DeliverIntoEventBucket',
          actions: [...FIREHOSE_S3_DELIVERY_ACTIONS],
          resources: [bucket.bucketArn, bucket.arnForObjects('*')],
        }),
        new iam.PolicyStatement({
          sid: 'EncryptObjectsThroughS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [props.encryptionKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
            // With S3 Bucket Keys the encryption context is the bucket's ARN.
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucket.bucketArn, bucket.arnForObjects('*')] },
          },
        }),
        new iam.PolicyStatement({
          sid: 'LogDeliveryErrors',
          actions: ['logs:PutLogEvents'],
          resources: [
            stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: `${props.errorLogGroupName}:log-stream:${errorLogStream.logStreamName}`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      ],
    });
    acknowledgeBucketObjectAccess(policy, bucket);

    // The role writes through S3, so the key policy names the role and binds it to S3 in this region.
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventStreamDeliversThroughS3',
        principals: [role],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
    );
    // Creating a stream encrypted with a customer-managed key makes Firehose create a grant for itself
    // with the caller's (CloudFormation's) identity; nothing else may create grants through Firehose.
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventStreamEncryptionGrant',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:CallerAccount': stack.account,
            'kms:ViaService': `firehose.${stack.region}.amazonaws.com`,
          },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      }),
    );
    return { errorLogGroup, errorLogStreamName: errorLogStream.logStreamName, role, policy };
  }

  private formatStreamArn(): string {
    return Stack.of(this).formatArn({
      service: 'firehose',
      resource: 'deliverystream',
      resourceName: this.deliveryStreamName,
    });
  }
}

/**
 * A stream may share the delivery of its location's first stream only when it delivers the same way: same
 * bucket, key and error log group, and a name that the shared role's trust policy admits.
 * @throws Error naming the stream and what differs
 */
function checkSharing(stream: EventStream, owner: EventStream, props: EventStreamProps): void {
  const where = `[${stream.node.path}]`;
  if (owner.sharesDeliveryOf !== undefined) {
    throw new Error(
      `${where} shareWith: ${owner.deliveryStreamName} shares another stream's delivery itself`,
    );
  }
  const suffix = props.deliveryStreamName.slice(owner.deliveryStreamName.length);
  if (!props.deliveryStreamName.startsWith(owner.deliveryStreamName) || !/^-\d+$/.test(suffix)) {
    throw new Error(
      `${where} deliveryStreamName: a stream that shares ${owner.deliveryStreamName}'s delivery must be ` +
        `named ${owner.deliveryStreamName}-<i>, got ${props.deliveryStreamName}`,
    );
  }
  if (owner.errorLogGroupName !== props.errorLogGroupName) {
    throw new Error(
      `${where} errorLogGroupName: a stream that shares ${owner.deliveryStreamName}'s delivery logs to ` +
        `${owner.errorLogGroupName}, got ${props.errorLogGroupName}`,
    );
  }
  if (owner.destinationBucket !== props.destinationBucket || owner.encryptionKey !== props.encryptionKey) {
    throw new Error(
      `${where} a stream that shares ${owner.deliveryStreamName}'s delivery must deliver into its bucket ` +
        'with its key',
    );
  }
}
