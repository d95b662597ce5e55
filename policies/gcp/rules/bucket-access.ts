/**
 * Rule: buckets use uniform bucket-level access and enforce public access prevention.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { GCP_TYPES } from '../gcp-resources';

/**
 * Every bucket sets `uniformBucketLevelAccess: true` (IAM only, no per-object ACL that could make one
 * object public) and `publicAccessPrevention: 'enforced'` (no grant to allUsers/allAuthenticatedUsers can
 * take effect, whatever a later change adds). The CDN reads buckets through the load balancer's backend
 * bucket, never through public access.
 */
export const bucketAccess: ResourceValidationPolicy = {
  name: 'gcp-bucket-uniform-access-and-public-access-prevention',
  description:
    "Cloud Storage buckets set uniformBucketLevelAccess: true and publicAccessPrevention: 'enforced'.",
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    if (args.type !== GCP_TYPES.bucket) return;
    if (args.props.uniformBucketLevelAccess !== true)
      reportViolation(
        `Bucket '${args.name}' allows object ACLs: set uniformBucketLevelAccess: true so access is granted through IAM only.`,
      );
    if (args.props.publicAccessPrevention !== 'enforced')
      reportViolation(
        `Bucket '${args.name}' can be made public: set publicAccessPrevention: 'enforced' (found ${JSON.stringify(args.props.publicAccessPrevention ?? null)}).`,
      );
  },
};
