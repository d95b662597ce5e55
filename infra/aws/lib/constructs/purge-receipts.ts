/**
 * The audit store of the purge job: a bucket of write-once receipts that nobody can delete while they are
 * retained, not the job, not an administrator, not the account's root user.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgePurgeReceiptsBucket } from '../../../../policies/aws/acknowledgements';
import { RECEIPTS } from '../../../../platform';

/** Properties of {@link PurgeReceipts}. */
export interface PurgeReceiptsProps {
  /** The bucket's name, `names.purgeReceiptsBucket(stage, account)`: the purge job of every location writes into it. */
  readonly bucketName: string;
  /** The key of the bucket's region: receipts are stored with SSE-KMS under it. */
  readonly encryptionKey: kms.IKey;
  /** Where the bucket's server access logs go (the stack's access log bucket). */
  readonly accessLogBucket: s3.IBucket;
  /**
   * Days each receipt is locked in compliance mode: the bucket's default retention, and the retention the
   * job sets on each receipt (`TS_RECEIPT_RETENTION_DAYS`).
   */
  readonly retentionDays: number;
}

/**
 * A bucket with S3 Object Lock in COMPLIANCE mode by default (which implies versioning), SSE-KMS with the
 * regional key (without S3 Bucket Keys, so the encryption context names each receipt), public access
 * blocked, TLS 1.2 or later only, access logged, kept when it leaves the stack. A receipt version cannot be
 * deleted or overwritten until its retention lapses; after that, lifecycle expires it.
 *
 * Writers are named with {@link allowWriters}: the key policy lets them use the key through S3 for receipt
 * objects only. Their IAM policies are their own (see `PurgeService`): PutObject (with the retention
 * headers), GetObject and GetBucketObjectLockConfiguration, never a delete.
 */
export class PurgeReceipts extends Construct {
  /** The receipts bucket. */
  public readonly bucket: s3.Bucket;
  /** The bucket's name, as given (a string that does not reference the bucket, for policies). */
  public readonly bucketName: string;
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: PurgeReceiptsProps) {
    super(scope, id);
    this.bucketName = props.bucketName;
    this.encryptionKey = props.encryptionKey;
    const retention = Duration.days(props.retentionDays);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      // A handful of receipts a day: per-object KMS calls cost nothing, and the per-object encryption
      // context lets the key policy confine writers to receipt keys.
      bucketKeyEnabled: false,
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(retention),
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'purge-receipts/',
      lifecycleRules: [
        {
          id: 'expire-receipts-after-retention',
          // Lifecycle never removes a version that is still locked; these only tidy up once the lock lapses.
          expiration: retention.plus(Duration.days(1)),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgePurgeReceiptsBucket(this.bucket);
  }

  /** ARN of every receipt object, by name: `arn:aws:s3:::<bucket>/receipts/*`. */
  public get receiptObjectsArn(): string {
    return `arn:${Stack.of(this).partition}:s3:::${this.bucketName}/${RECEIPTS.prefix}*`;
  }

  /**
   * Lets the principals (the purge roles of every location, named by ARN when they live in another
   * region) generate and decrypt data keys with the bucket's key, through S3 in this region, for receipt
   * objects only.
   */
  public allowWriters(principals: iam.IPrincipal[]): void {
    if (principals.length === 0) return;
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PurgeWritesReceiptsThroughS3',
        principals,
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': this.receiptObjectsArn },
        },
      }),
    );
  }
}
