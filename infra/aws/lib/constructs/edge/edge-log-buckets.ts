/**
 * Where the edge's logs go: the CDN's access logs, and the S3 server access logs of the edge's buckets.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { logExpiryRule, PRIVATE_BUCKET } from '../../private/buckets';
import { Construct } from 'constructs';
import { RETENTION } from '../../../../../platform';
import {
  acknowledgeEdgeAccessLogBucket,
  acknowledgeCdnLogBucketAcls,
} from '../../../../../policies/aws/edge-acknowledgements';

/** Properties of {@link EdgeLogBuckets}. */
export interface EdgeLogBucketsProps {
  /** The CDN log bucket's name: the distribution names its log bucket by it (see {@link EdgeLogBuckets}). */
  readonly cdnLogBucketName: string;
  /** The edge key: the CDN's access logs are stored with SSE-KMS under it. */
  readonly encryptionKey: kms.IKey;
  /**
   * How long logs are kept.
   * @default Duration.days(RETENTION.logRetentionDays)
   */
  readonly expiration?: Duration;
  /**
   * What happens to the buckets when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Two log buckets, because the two kinds of log delivery accept different buckets:
 *
 * - {@link cdnLogBucket}: CloudFront standard logging. It writes with ACLs (the bucket's ACL grants
 *   CloudFront's log delivery account, which CloudFront adds when the distribution is created), so object
 *   ownership is `ObjectWriter`; it writes into SSE-KMS buckets when the key policy lets its log delivery
 *   service generate data keys, which this construct adds. Its own server access logs go to the other bucket.
 * - {@link accessLogBucket}: S3 server access logging of the config bucket and the CDN log bucket. S3 log
 *   delivery writes only into SSE-S3 buckets.
 *
 * CloudFront standard logging (legacy) was chosen over standard logging v2 (`AWS::Logs::Delivery*`):
 * both can write SSE-KMS objects, but only the legacy `Logging` setting is what the compliance packs'
 * CloudFront logging rules and AWS Config's `cloudfront-accesslogs-enabled` check recognise.
 */
export class EdgeLogBuckets extends Construct {
  /** The bucket of the CDN's access logs (SSE-KMS with the edge key). */
  public readonly cdnLogBucket: s3.Bucket;
  /** The bucket of the S3 server access logs of the edge's buckets (SSE-S3). */
  public readonly accessLogBucket: s3.Bucket;
  private readonly cdnLogBucketName: string;

  constructor(scope: Construct, id: string, props: EdgeLogBucketsProps) {
    super(scope, id);
    this.cdnLogBucketName = props.cdnLogBucketName;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const expiration = props.expiration ?? Duration.days(RETENTION.logRetentionDays);
    const lifecycleRules = [logExpiryRule('expire-logs', expiration)];

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      ...PRIVATE_BUCKET,
      lifecycleRules,
      removalPolicy,
    });
    acknowledgeEdgeAccessLogBucket(this.accessLogBucket);

    this.cdnLogBucket = new s3.Bucket(this, 'CdnLogBucket', {
      bucketName: props.cdnLogBucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      ...PRIVATE_BUCKET,
      // CloudFront standard logging writes with ACLs.
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'cdn-log-bucket/',
      lifecycleRules,
      removalPolicy,
    });
    acknowledgeCdnLogBucketAcls(this.cdnLogBucket);

    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontLogDeliveryEncryptsAccessLogs',
        principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }

  /**
   * The CDN log bucket as the distribution must reference it: by name. The distribution may not reference
   * {@link cdnLogBucket} itself, because the edge key's policy names the distribution and the bucket
   * references the key.
   */
  public cdnLogBucketByName(scope: Construct, id: string): s3.IBucket {
    return s3.Bucket.fromBucketAttributes(scope, id, {
      bucketName: this.cdnLogBucketName,
      region: this.cdnLogBucket.stack.region,
    });
  }
}
