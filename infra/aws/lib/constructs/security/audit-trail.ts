/**
 * The stage's audit trail: one multi-region CloudTrail trail with log file validation, encrypted with a key
 * of its own, into a bucket that nobody can delete from during the retention period, and into CloudWatch
 * Logs for the security alarms.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { neverEscalate } from '../../private/boundary-statements';
import { Construct } from 'constructs';
import {
  acknowledgeAuditAccessLogBucket,
  acknowledgeAuditTrailBucket,
  acknowledgeTrailLogStreams,
} from '../../../../../policies/aws/security-acknowledgements';
import { administratorsManageButDoNotUse } from '../../private/key-policy';
import { logExpiryRule, PRIVATE_BUCKET } from '../../private/buckets';
import { EncryptedLogGroup } from '../encrypted-log-group';

/** Properties of {@link AuditTrail}. */
export interface AuditTrailProps {
  /** The trail's name: the key and bucket policies name the trail by it, without referencing it. */
  readonly trailName: string;
  /** The bucket's name, `names.auditTrailBucket(stage, account)`. */
  readonly bucketName: string;
  /** The CloudWatch Logs group's name. */
  readonly logGroupName: string;
  /** The key's alias, without `alias/`. */
  readonly keyAlias: string;
  /**
   * Days each log file is locked in compliance mode (then expired), and days the log group keeps events:
   * one of the periods CloudWatch Logs accepts.
   */
  readonly retentionDays: number;
  /**
   * Whether to log the edge store's writes (CloudFront KeyValueStore `PutKey`, `DeleteKey`, `UpdateKeys`),
   * which CloudTrail records as data events, not management events.
   * @default true
   */
  readonly logEdgeStoreWrites?: boolean;
}

/**
 * The trail records every region's management events (read and write, global services included), and,
 * as data events, only the edge store's writes: the revoked-key list and the routing state are worth an
 * audit record, while S3 object and Lambda invoke data events would cost per event on the hot path and
 * are covered by S3 access logs and the functions' own logs.
 *
 * The key (rotation on, retained) lets CloudTrail encrypt for this trail only (`aws:SourceArn` and the
 * `aws:cloudtrail:arn` encryption context, as AWS documents) and CloudWatch Logs encrypt the trail's
 * group; administrators manage it but cannot use it. Investigators read the trail in CloudWatch Logs
 * (kept as long as the lock); reading the locked files in S3 takes a statement added to the key policy,
 * which the `KmsKeyPolicyChanges` alarm announces at once. The bucket: SSE-KMS with that key, Object Lock in COMPLIANCE mode for `retentionDays`
 * (not even the root user can delete or overwrite a log file version before then), versioned, public
 * access blocked, TLS 1.2 or later only, server access logs to a bucket of its own, retained.
 */
export class AuditTrail extends Construct {
  /** The trail. */
  public readonly trail: cloudtrail.CfnTrail;
  /** The trail's key. */
  public readonly key: kms.Key;
  /** The locked bucket of log files. */
  public readonly bucket: s3.Bucket;
  /** The bucket of the locked bucket's server access logs. */
  public readonly accessLogBucket: s3.Bucket;
  /** The CloudWatch Logs group that the trail delivers to (and the security alarms filter). */
  public readonly logGroup: logs.LogGroup;
  /** The role CloudTrail assumes to write into the log group. */
  public readonly logsRole: iam.Role;
  /** The trail's ARN, built from its name. */
  public readonly trailArn: string;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.trailArn = stack.formatArn({
      service: 'cloudtrail',
      resource: 'trail',
      resourceName: props.trailName,
    });
    const trailsOfThisAccount = `arn:${stack.partition}:cloudtrail:*:${stack.account}:trail/*`;
    const retention = Duration.days(props.retentionDays);

    this.key = new kms.Key(this, 'Key', {
      description: `Trackstack audit trail key (alias/${props.keyAlias})`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new iam.PolicyDocument({
        statements: [
          administratorsManageButDoNotUse(),
          new iam.PolicyStatement({
            sid: 'CloudTrailEncryptsThisTrail',
            principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
            actions: ['kms:GenerateDataKey*'],
            resources: ['*'],
            conditions: {
              StringEquals: { 'aws:SourceArn': this.trailArn },
              StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': trailsOfThisAccount },
            },
          }),
          new iam.PolicyStatement({
            sid: 'CloudTrailDescribesKey',
            principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
            actions: ['kms:DescribeKey'],
            resources: ['*'],
            conditions: { StringEquals: { 'aws:SourceArn': this.trailArn } },
          }),
        ],
      }),
    });
    this.key.addAlias(`alias/${props.keyAlias}`);

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      ...PRIVATE_BUCKET,
      lifecycleRules: [logExpiryRule('expire-access-logs', retention)],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeAuditAccessLogBucket(this.accessLogBucket);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(retention),
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'audit-trail/',
      lifecycleRules: [
        {
          id: 'expire-log-files-after-retention',
          // Lifecycle never removes a locked version; this tidies up once the lock has lapsed.
          expiration: retention.plus(Duration.days(1)),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeAuditTrailBucket(this.bucket);
    const delivery = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    const fromThisTrail = { StringEquals: { 'aws:SourceArn': this.trailArn } };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailChecksAcl',
        principals: [delivery],
        actions: ['s3:GetBucketAcl'],
        resources: [this.bucket.bucketArn],
        conditions: fromThisTrail,
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailWritesLogFiles',
        principals: [delivery],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`AWSLogs/${stack.account}/*`)],
        conditions: {
          StringEquals: { ...fromThisTrail.StringEquals, 's3:x-amz-acl': 'bucket-owner-full-control' },
        },
      }),
    );

    this.logGroup = new EncryptedLogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      encryptionKey: this.key,
      retentionDays: props.retentionDays,
    }).logGroup;
    this.logsRole = new iam.Role(this, 'LogsRole', {
      assumedBy: new iam.ServicePrincipal('cloudtrail.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceArn': this.trailArn } },
      }),
      description: `CloudTrail delivers ${props.trailName} into ${props.logGroupName}`,
    });
    const logStreams = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${props.logGroupName}:log-stream:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const deliver = new iam.PolicyStatement({
      sid: 'DeliverTrailToLogGroup',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logStreams],
    });
    const logsPolicy = new iam.ManagedPolicy(this, 'LogsPolicy', {
      description: `What CloudTrail may do when it delivers ${props.trailName} to CloudWatch Logs`,
      roles: [this.logsRole],
      statements: [deliver],
    });
    // The role's ceiling is what it is granted, and never IAM.
    const boundary = new iam.ManagedPolicy(this, 'PermissionsBoundary', {
      description: `Permissions boundary of the role that delivers ${props.trailName} to CloudWatch Logs`,
      statements: [deliver.copy(), neverEscalate()],
    });
    iam.PermissionsBoundary.of(this.logsRole).apply(boundary);
    acknowledgeTrailLogStreams(logsPolicy, logStreams);
    acknowledgeTrailLogStreams(boundary, logStreams);

    const selectors: cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] = [
      {
        name: 'Every management event',
        fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }],
      },
    ];
    if (props.logEdgeStoreWrites ?? true) {
      selectors.push({
        name: 'Edge store writes',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::CloudFront::KeyValueStore'] },
          { field: 'readOnly', equalTo: ['false'] },
        ],
      });
    }
    this.trail = new cloudtrail.CfnTrail(this, 'Trail', {
      trailName: props.trailName,
      isLogging: true,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      kmsKeyId: this.key.keyArn,
      s3BucketName: this.bucket.bucketName,
      cloudWatchLogsLogGroupArn: this.logGroup.logGroupArn,
      cloudWatchLogsRoleArn: this.logsRole.roleArn,
      advancedEventSelectors: selectors,
    });
    // CloudTrail checks at creation that it can write to the bucket, the key and the log group.
    this.trail.node.addDependency(this.bucket.policy!, logsPolicy, this.key);
  }
}
