/**
 * Rule: Cloud KMS keys are AES-256 symmetric encryption keys rotated at least every 90 days.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { GCP_TYPES } from '../gcp-resources';

/** The longest rotation period allowed, in seconds (90 days). */
export const MAX_ROTATION_SECONDS = 90 * 24 * 60 * 60;

// The provider's duration format: seconds with up to nine fractional digits and a trailing 's'.
const DURATION = /^(\d+)(?:\.\d{1,9})?s$/;

/** The seconds of a `"7776000s"` duration string, or `undefined` when it is not one. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DURATION.exec(value.trim());
  return m ? Number(m[1]) : undefined;
}

/**
 * Every `CryptoKey` sets `rotationPeriod` to at most 90 days (the provider's `"<seconds>s"` string), has
 * the purpose ENCRYPT_DECRYPT and the algorithm GOOGLE_SYMMETRIC_ENCRYPTION (AES-256-GCM). An omitted
 * purpose or `versionTemplate` is read as the provider's default, which is exactly that; any other value
 * (asymmetric signing or decryption, MAC, raw encryption) is a violation.
 */
export const kmsKeyRotation: ResourceValidationPolicy = {
  name: 'gcp-kms-key-symmetric-rotated-90-days',
  description:
    'Cloud KMS crypto keys are ENCRYPT_DECRYPT keys with GOOGLE_SYMMETRIC_ENCRYPTION (AES-256) and a rotationPeriod of at most 90 days (7776000s).',
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    if (args.type !== GCP_TYPES.cryptoKey) return;
    const { rotationPeriod, purpose, versionTemplate } = args.props as {
      rotationPeriod?: unknown;
      purpose?: unknown;
      versionTemplate?: { algorithm?: unknown };
    };
    const seconds = durationSeconds(rotationPeriod);
    if (rotationPeriod === undefined || rotationPeriod === null)
      reportViolation(
        `CryptoKey '${args.name}' is never rotated: set rotationPeriod to at most "${MAX_ROTATION_SECONDS}s" (90 days).`,
      );
    else if (seconds === undefined)
      reportViolation(
        `CryptoKey '${args.name}' has a malformed rotationPeriod ${JSON.stringify(rotationPeriod)}: use seconds such as "${MAX_ROTATION_SECONDS}s".`,
      );
    else if (seconds > MAX_ROTATION_SECONDS)
      reportViolation(
        `CryptoKey '${args.name}' rotates every ${seconds}s, more than 90 days: set rotationPeriod to at most "${MAX_ROTATION_SECONDS}s".`,
      );
    if (purpose !== undefined && purpose !== 'ENCRYPT_DECRYPT')
      reportViolation(
        `CryptoKey '${args.name}' has purpose ${JSON.stringify(purpose)}: the platform's keys are symmetric ENCRYPT_DECRYPT keys.`,
      );
    const algorithm = versionTemplate?.algorithm;
    if (algorithm !== undefined && algorithm !== 'GOOGLE_SYMMETRIC_ENCRYPTION')
      reportViolation(
        `CryptoKey '${args.name}' uses algorithm ${JSON.stringify(algorithm)}: set versionTemplate.algorithm to GOOGLE_SYMMETRIC_ENCRYPTION (AES-256).`,
      );
  },
};
