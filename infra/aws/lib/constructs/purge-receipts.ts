/**
 * The audit store of the purge job: a bucket of write-once receipts that nobody can delete while they are
 * retained, not the job, not an administrator, not the account's root user.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PRIVATE_BUCKET } from '../private/buckets';
import { Construct } from 'constructs';
import { RECEIPTS } from '../../../../platform';
import { acknowledgePurgeReceiptsBucket } from '../../../../policies/aws/acknowledgements';
import { grantOnPrincipal } from '../grants';

/**
 * The purge receipts bucket as a purge job sees it: in this stack (the directory home's), or in the
 * directory home's region, by name.
 */
export interface IPurgeReceipts {
  /** The bucket's name, as given (a string that does not reference the bucket, for policies). */
  readonly bucketName: string;
  /** The bucket's region. */
  readonly region: string;
  /** ARN of every receipt object, by name: `arn:aws:s3:::<bucket>/receipts/*`. */
  readonly receiptObjectsArn: string;
  /**
   * The key that encrypts the receipts, or, for a bucket in another region, where its id cannot be
   * referenced, every key of that region (`key/*`): grants then name the key by its alias.
   */
  readonly keyArn: string;
  /** Whether {@link keyArn} is a wildcard narrowed by the key's alias (a bucket in another region). */
  readonly keyNamedByAlias: boolean;
  /**
   * Lets the grantee write receipts (`PutObject` with their retention), read them back and check the
   * bucket's Object Lock, and use the key through S3 in the bucket's region for receipt objects only.
   * Never a delete, never a lock change. The key's own policy must name the grantee as well (see
   * `PurgeReceipts.allowWriters`).
   */
  grantWriteReceipts(grantee: iam.IGrantable): iam.Grant;
}

/** The grants of {@link IPurgeReceipts}, for the bucket and for a reference to it alike. */
abstract class PurgeReceiptsBase extends Construct implements IPurgeReceipts {
  public abstract readonly bucketName: string;
  public abstract readonly region: string;
  public abstract readonly keyArn: string;
  public abstract readonly keyNamedByAlias: boolean;
  /** Conditions that confine {@link keyArn} to the receipts key. */
  protected abstract readonly keyConditions: Record<string, Record<string, unknown>>;

  public get receiptObjectsArn(): string {
    return `${this.bucketArn}/${RECEIPTS.prefix}*`;
  }

  public grantWriteReceipts(grantee: iam.IGrantable): iam.Grant {
    const receiptObjects = this.receiptObjectsArn;
    return grantOnPrincipal(grantee, {
      sid: 'WriteReceipts',
      actions: ['s3:PutObject', 's3:PutObjectRetention'],
      resourceArns: [receiptObjects],
    })
      .combine(
        // A run killed after writing a receipt reads it back to check that it is the same one.
        grantOnPrincipal(grantee, {
          sid: 'ReadReceipts',
          actions: ['s3:GetObject'],
          resourceArns: [receiptObjects],
        }),
      )
      .combine(
        grantOnPrincipal(grantee, {
          sid: 'CheckReceiptsObjectLock',
          actions: ['s3:GetBucketObjectLockConfiguration'],
          resourceArns: [this.bucketArn],
        }),
      )
      .combine(
        // Written out: `key.grantEncryptDecrypt` would allow the key's direct use, for anything.
        grantOnPrincipal(grantee, {
          sid: 'EncryptReceiptsThroughS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resourceArns: [this.keyArn],
          conditions: {
            ...this.keyConditions,
            StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` },
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': receiptObjects },
          },
        }),
      );
  }

  /** The bucket's ARN, by name (not a reference, so that it reads the same in every region's policies). */
  private get bucketArn(): string {
    return `arn:${Stack.of(this).partition}:s3:::${this.bucketName}`;
  }
}

/** Properties of {@link PurgeReceipts.fromBucketName}. */
export interface PurgeReceiptsAttributes {
  /** The bucket's name, `names.purgeReceiptsBucket(stage, account)`. */
  readonly bucketName: string;
  /** The bucket's region (the directory home's). */
  readonly region: string;
  /** The alias of the key that encrypts the receipts, with its `alias/` prefix. */
  readonly keyAlias: string;
}

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
 * objects only. Their own policies get {@link grantWriteReceipts} (from any region, through
 * {@link PurgeReceipts.fromBucketName}): PutObject (with the retention headers), GetObject and
 * GetBucketObjectLockConfiguration, never a delete.
 */
export class PurgeReceipts extends PurgeReceiptsBase {
  /**
   * The receipts bucket of the directory home's stack, seen from a stack in another region: by name, its
   * key by alias. A key in another region cannot be referenced, and IAM cannot name a key by its alias, so
   * grants name every key of that region and confine them to this one with `kms:ResourceAliases`.
   */
  public static fromBucketName(scope: Construct, id: string, attrs: PurgeReceiptsAttributes): IPurgeReceipts {
    return new RemotePurgeReceipts(scope, id, attrs);
  }

  /** The receipts bucket. */
  public readonly bucket: s3.Bucket;
  public readonly bucketName: string;
  public readonly region: string;
  public readonly keyArn: string;
  public readonly keyNamedByAlias = false;
  protected readonly keyConditions: Record<string, Record<string, unknown>> = {};
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: PurgeReceiptsProps) {
    super(scope, id);
    this.bucketName = props.bucketName;
    this.region = Stack.of(this).region;
    this.encryptionKey = props.encryptionKey;
    this.keyArn = props.encryptionKey.keyArn;
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
      ...PRIVATE_BUCKET,
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
          StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': this.receiptObjectsArn },
        },
      }),
    );
  }
}

/** The receipts bucket in another region, by name, and its key by alias. */
class RemotePurgeReceipts extends PurgeReceiptsBase {
  public readonly bucketName: string;
  public readonly region: string;
  public readonly keyArn: string;
  public readonly keyNamedByAlias = true;
  protected readonly keyConditions: Record<string, Record<string, unknown>>;

  constructor(scope: Construct, id: string, attrs: PurgeReceiptsAttributes) {
    super(scope, id);
    this.bucketName = attrs.bucketName;
    this.region = attrs.region;
    this.keyArn = Stack.of(this).formatArn({
      service: 'kms',
      region: attrs.region,
      resource: 'key',
      resourceName: '*',
    });
    this.keyConditions = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': attrs.keyAlias } };
  }
}
