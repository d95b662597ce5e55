/**
 * The config bucket: the snippet's versions and the published campaign configs, which the CDN serves.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PRIVATE_BUCKET } from '../../private/buckets';
import { Construct } from 'constructs';
import { CAMPAIGN_CONFIG, RETENTION } from '../../../../../platform';
import { acknowledgeConfigBucket } from '../../../../../policies/aws/edge-acknowledgements';
import { grantOnPrincipal } from '../../grants';
import { SNIPPET_PREFIX } from './snippet';

/** The key prefix of the published campaign configs (`/config/*` on the CDN). */
export const CONFIG_PREFIX = CAMPAIGN_CONFIG.root;

/** Properties of {@link ConfigBucket}. */
export interface ConfigBucketProps {
  /** The bucket's name, `names.configBucket(stage, account)`: the purge and `publish-config` use it. */
  readonly bucketName: string;
  /** The edge key: objects are stored with SSE-KMS under it. */
  readonly encryptionKey: kms.IKey;
  /** The bucket that receives this bucket's server access logs. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * How long an overwritten or deleted version of a config is kept.
   * @default Duration.days(RETENTION.noncurrentVersionDays)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * What happens to the bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A bucket (SSE-KMS with the edge key and S3 Bucket Keys, versioned, public access blocked, TLS only,
 * access logged, noncurrent versions expiring) that only CloudFront reads, through origin access control,
 * and only for the distribution named by {@link allowDistributionRead}.
 */
export class ConfigBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.Bucket;
  /** The key its objects are encrypted with. */
  public readonly encryptionKey: kms.IKey;
  private readonly bucketName: string;
  private keyStatements = 0;

  constructor(scope: Construct, id: string, props: ConfigBucketProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.bucketName = props.bucketName;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      // One KMS call per bucket key period instead of one per CDN cache miss.
      bucketKeyEnabled: true,
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'config-bucket/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration:
            props.noncurrentVersionExpiration ?? Duration.days(RETENTION.noncurrentVersionDays),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledgeConfigBucket(this.bucket);
  }

  /**
   * The bucket as the distribution must reference it: by name, with no reference to the bucket resource
   * (see {@link allowDistributionRead}).
   */
  public bucketByName(scope: Construct, id: string): s3.IBucket {
    return s3.Bucket.fromBucketAttributes(scope, id, {
      bucketName: this.bucketName,
      region: this.bucket.stack.region,
    });
  }

  /**
   * Lets one distribution read the snippet and the configs through origin access control: the bucket
   * policy and the key policy both name the distribution (`AWS:SourceArn`), not every distribution of the
   * account.
   *
   * The distribution must reach the bucket by name (`s3.Bucket.fromBucketAttributes`), not through
   * {@link bucket}: the key's policy names the distribution, and a distribution that referenced the bucket,
   * which references the key, would close a cycle.
   * @param distributionArn `arn:aws:cloudfront::<account>:distribution/<id>`
   */
  public allowDistributionRead(distributionArn: string): void {
    const cloudFront = new iam.ServicePrincipal('cloudfront.amazonaws.com');
    const fromDistribution = { StringEquals: { 'AWS:SourceArn': distributionArn } };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontReadsSnippetAndConfigs',
        principals: [cloudFront],
        actions: ['s3:GetObject'],
        resources: [
          this.bucket.arnForObjects(`${CONFIG_PREFIX}*`),
          this.bucket.arnForObjects(`${SNIPPET_PREFIX}*`),
        ],
        conditions: fromDistribution,
      }),
    );
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontDecryptsConfigBucketForThisDistribution',
        principals: [cloudFront],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: fromDistribution,
      }),
    );
  }

  /**
   * Lets the grantee publish: read, list and write objects under `config/` and `snippet/` (never delete,
   * never a bucket setting), and use the edge key for them, which the key policy allows by naming the
   * grantee (the key does not delegate to IAM policies).
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    const prefixes = [CONFIG_PREFIX, SNIPPET_PREFIX];
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `PublisherEncryptsConfigs${this.keyStatements++}`,
        principals: [grantee.grantPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.bucket.stack.region}.amazonaws.com` } },
      }),
    );
    return grantOnPrincipal(grantee, {
      sid: 'ListPublishedConfigs',
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
    })
      .combine(
        grantOnPrincipal(grantee, {
          sid: 'PublishConfigsAndSnippet',
          actions: ['s3:GetObject', 's3:PutObject'],
          resourceArns: prefixes.map((p) => this.bucket.arnForObjects(`${p}*`)),
        }),
      )
      .combine(
        grantOnPrincipal(grantee, {
          sid: 'CheckConfigKey',
          actions: ['kms:DescribeKey'],
          resourceArns: [this.encryptionKey.keyArn],
        }),
      );
  }

  /**
   * Lets the grantee delete purged accounts' configs: list object versions under `config/` and delete
   * object versions there (no KMS use: deleting reads no object).
   */
  public grantPurge(grantee: iam.IGrantable): iam.Grant {
    return grantOnPrincipal(grantee, {
      sid: 'ListConfigVersions',
      actions: ['s3:ListBucketVersions'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': `${CONFIG_PREFIX}*` } },
    }).combine(
      grantOnPrincipal(grantee, {
        sid: 'DeleteConfigVersions',
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resourceArns: [this.bucket.arnForObjects(`${CONFIG_PREFIX}*`)],
      }),
    );
  }
}
