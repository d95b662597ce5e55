/**
 * What every bucket of the project shares: private, owner-enforced (or, for CloudFront's log delivery, object
 * writer), TLS 1.2 only, versioned for the compliance packs; and the lifecycle of a log bucket.
 */
import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

/** Incomplete multipart uploads are aborted after this long in every bucket. */
export const ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(7);

/** The settings every bucket of the project starts from; spread first, then the bucket's own. */
export const PRIVATE_BUCKET = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  versioned: true,
} as const satisfies s3.BucketProps;

/**
 * The lifecycle rule of a log bucket: logs expire after `expiration`, and, since versioning is on for the
 * compliance packs, their noncurrent versions a day later rather than living on.
 * @param id the rule's id (kept per bucket, so deployed rules are not replaced)
 */
export function logExpiryRule(id: string, expiration: Duration): s3.LifecycleRule {
  return {
    id,
    expiration,
    noncurrentVersionExpiration: Duration.days(1),
    abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER,
  };
}
