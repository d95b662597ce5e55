/**
 * Rule: every bucket and every topic is encrypted with a customer-managed key.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { GCP_TYPES } from '../gcp-resources';

/**
 * Every Cloud Storage bucket names a Cloud KMS key in `encryption.defaultKmsKeyName` and every Pub/Sub
 * topic in `kmsKeyName`. Without it Google encrypts with its own keys, and the purge's promise (destroying
 * or disabling our key makes the data unreadable) does not hold for that resource.
 */
export const cmekOnBucketsAndTopics: ResourceValidationPolicy = {
  name: 'gcp-cmek-on-buckets-and-topics',
  description:
    'Cloud Storage buckets (encryption.defaultKmsKeyName) and Pub/Sub topics (kmsKeyName) are encrypted with a Cloud KMS customer-managed key.',
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    if (args.type === GCP_TYPES.bucket) {
      const key = (args.props.encryption as { defaultKmsKeyName?: unknown } | undefined)?.defaultKmsKeyName;
      if (!nonEmpty(key))
        reportViolation(
          `Bucket '${args.name}' has no customer-managed key: set encryption.defaultKmsKeyName to the regional Cloud KMS key.`,
        );
    } else if (args.type === GCP_TYPES.topic) {
      if (!nonEmpty(args.props.kmsKeyName))
        reportViolation(
          `Topic '${args.name}' has no customer-managed key: set kmsKeyName to the regional Cloud KMS key.`,
        );
    }
  },
};

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}
