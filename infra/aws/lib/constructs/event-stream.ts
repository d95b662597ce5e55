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

/**
 * The object key prefix: `account=<id>/dt=<yyyy-mm-dd>/`, both taken from the stored event's JSON
 * (`accountId`, `dt`), so the purge can delete an account's data by prefix (`EVENT_OBJECTS` in `platform/`).
 */
export const EVENT_PREFIX = 'account=!{partitionKeyFromQuery:account}/dt=!{partitionKeyFromQuery:dt}/';
/** The JQ query that extracts the partition keys from each record. */
export const PARTITION_QUERY = '{account: .accountId, dt: .dt}';
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
  /** The name of the log group that receives delivery errors. */
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
}

/**
 * A Direct PUT Firehose stream with dynamic partitioning into the event bucket, encrypted in the stream
 * and in S3 with the regional key, logging delivery errors to an encrypted log group, with a role of its
 * own that may write only this bucket and this log stream.
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
  /** How long records are buffered before delivery. */
  public readonly bufferingInterval: Duration;

  constructor(scope: Construct, id: string, props: EventStreamProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const bufferingSize = props.bufferingSize ?? MIN_PARTITIONED_BUFFER;
    if (bufferingSize.toMebibytes() < MIN_PARTITIONED_BUFFER.toMebibytes()) {
      throw new Error(`[${this.node.path}] bufferingSize: dynamic partitioning needs at least 64 MiB`);
    }
    this.bufferingInterval = props.bufferingInterval ?? Duration.minutes(5);
    this.deliveryStreamName = props.deliveryStreamName;

    this.errorLogGroup = new EncryptedLogGroup(this, 'ErrorLog', {
      logGroupName: props.errorLogGroupName,
      encryptionKey: props.encryptionKey,
      retentionDays: props.logRetentionDays,
    }).logGroup;
    const errorLogStream = new logs.LogStream(this, 'ErrorLogStream', {
      logGroup: this.errorLogGroup,
      logStreamName: 'DestinationDelivery',
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        // Only this account's stream of this name may assume the role (confused deputy).
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': this.formatStreamArn(),
          },
        },
      }),
      description: `Delivers ${props.deliveryStreamName} into the event bucket`,
    });

    const bucket = props.destinationBucket;
    // Written out: `bucket.grantReadWrite(role)`, what aws-cdk-lib's own S3 destination grants, would add
    // s3:DeleteObject* and the key's use without kms:ViaService.
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `What Firehose may do to deliver ${props.deliveryStreamName}`,
      roles: [this.role],
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
    acknowledgeBucketObjectAccess(this.policy, bucket);

    // The role writes through S3, so the key policy names the role and binds it to S3 in this region.
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventStreamDeliversThroughS3',
        principals: [this.role],
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
          processors: [
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: PARTITION_QUERY },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.errorLogGroup.logGroupName,
          logStreamName: errorLogStream.logStreamName,
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
    return grantOnPrincipal(grantee, {
      sid: 'PutEvents',
      actions: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'],
      resourceArns: [this.deliveryStreamArn],
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

  private formatStreamArn(): string {
    return Stack.of(this).formatArn({
      service: 'firehose',
      resource: 'deliverystream',
      resourceName: this.deliveryStreamName,
    });
  }
}
