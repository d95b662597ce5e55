/**
 * Acknowledged compliance findings of the edge stack (CloudFront, its buckets and its key in us-east-1),
 * one named helper per situation, called beside the resource it concerns. Each names exactly one finding
 * and gives a full-sentence reason, like `acknowledgements.ts`.
 */
import type { IConstruct } from 'constructs';
import { acknowledge, acknowledgeInFrameworks, PACKS } from './acknowledgements';

const EDGE_NOT_REPLICATED =
  'The edge stack exists once per stage, in us-east-1, where CloudFront reads its configuration; its ' +
  'buckets hold logs and published configs that S3 stores across availability zones with versioning, and ' +
  'the configs can be published again from the directory at any time.';

/** The bucket that receives the S3 server access logs of the edge's buckets. */
export function acknowledgeEdgeAccessLogBucket(bucket: IConstruct): void {
  acknowledgeInFrameworks(
    bucket,
    'S3DefaultEncryptionKMS',
    'S3 server access logging delivers only into buckets encrypted with SSE-S3, not SSE-KMS; the logs hold ' +
      'request metadata of the edge buckets and are still encrypted at rest with AES-256.',
  );
  acknowledgeInFrameworks(bucket, 'S3BucketReplicationEnabled', EDGE_NOT_REPLICATED);
}

/** The bucket of the CDN's access logs, which CloudFront standard logging writes with ACLs. */
export function acknowledgeCdnLogBucketAcls(bucket: IConstruct): void {
  acknowledgeInFrameworks(bucket, 'S3BucketReplicationEnabled', EDGE_NOT_REPLICATED);
}

/** The config bucket, which the CDN reads in us-east-1. */
export function acknowledgeConfigBucket(bucket: IConstruct): void {
  acknowledgeInFrameworks(bucket, 'S3BucketReplicationEnabled', EDGE_NOT_REPLICATED);
}

/** What the distribution's acknowledgements depend on. */
export interface EdgeDistributionSituation {
  /** Whether the distribution has a custom domain (and so its own certificate and TLS 1.2 policy). */
  readonly customDomain: boolean;
}

/** The distribution: worldwide by design, and on the default certificate in stages without a domain. */
export function acknowledgeEdgeDistribution(
  distribution: IConstruct,
  situation: EdgeDistributionSituation,
): void {
  acknowledge(
    distribution,
    `${PACKS.awsSolutions}-CFR1`,
    'The distribution takes tracking hits from customers’ pages wherever their visitors are, so it has no ' +
      'geographic restriction; abuse is limited by the web ACL’s rate-based rules instead.',
  );
  if (!situation.customDomain) {
    const reason =
      'This stage has no custom domain, so the distribution serves the default *.cloudfront.net ' +
      'certificate, with which CloudFront always allows TLSv1 and ignores any minimum protocol version; ' +
      'setting domainName in the stage configuration gives the distribution its own certificate and the ' +
      'TLSv1.2_2021 policy.';
    acknowledge(distribution, `${PACKS.awsSolutions}-CFR4`, reason);
  }
}
