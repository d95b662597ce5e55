/**
 * The regional event store: the bucket the event stream delivers into, and the bucket that receives its
 * server access logs.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RETENTION } from '../../../platform';
import {
  acknowledgeAccessLogBucket,
  acknowledgeRegionalEventBucket,
} from '../../../../policies/aws/acknowledgements';

// Parts of an upload that never completed hold storage without holding an event; a week covers any retry.
const ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(7);

/** Properties of {@link EventStore}. */
export interface EventStoreProps {
  /** The regional key: events are stored with SSE-KMS under it. */
  readonly encryptionKey: kms.IKey;
  /**
   * How long an overwritten or deleted version of an event object is kept.
   * @default Duration.days(RETENTION.noncurrentVersionDays)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * How long server access logs are kept.
   * @default Duration.days(RETENTION.logRetentionDays)
   */
  readonly accessLogExpiration?: Duration;
  /**
   * What happens to both buckets when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The event bucket (SSE-KMS with the regional key and S3 Bucket Keys, public access blocked, TLS 1.2 or
 * later only, versioned, noncurrent versions expiring, access logged) and its access log bucket.
 *
 * The log bucket uses SSE-S3 because S3 server access logging cannot deliver into a bucket whose default
 * encryption is SSE-KMS; access logs hold request metadata, never event contents.
 */
export class EventStore extends Construct {
  /** The bucket that holds events under `account=<id>/dt=<yyyy-mm-dd>/`. */
  public readonly bucket: s3.Bucket;
  /** The bucket that holds the event bucket's server access logs. */
  public readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: EventStoreProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logExpiration = props.accessLogExpiration ?? Duration.days(RETENTION.logRetentionDays);

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: logExpiration,
          // Versioning is on for the compliance packs; without this, expired logs would live on as
          // noncurrent versions.
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER,
        },
      ],
      removalPolicy,
    });
    acknowledgeAccessLogBucket(this.accessLogBucket);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      // One KMS call per bucket key period instead of per object: cost, and KMS request quotas.
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'events/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration:
            props.noncurrentVersionExpiration ?? Duration.days(RETENTION.noncurrentVersionDays),
          // The purge deletes every version of an account's objects; what remains are delete markers.
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER,
        },
      ],
      removalPolicy,
    });
    acknowledgeRegionalEventBucket(this.bucket);
  }
}
