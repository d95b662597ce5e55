/**
 * The shape of one published promise and the rules behind it.
 */
import type { GdprArticle } from './gdpr';

/** One promise of the published data-handling or breach policy. */
export interface CustomerPromise {
  /** Stable kebab-case id, e.g. `encrypted-at-rest`; reports and tests name promises by it. */
  readonly id: string;
  /** One line. */
  readonly title: string;
  /** The published policy the promise belongs to. */
  readonly policy: 'data-handling' | 'breach-response';
  /** The promise as a full sentence, as a customer reads it. */
  readonly statement: string;
  /** The GDPR provisions it serves; at least one. */
  readonly gdpr: readonly GdprArticle[];
  /**
   * Rule ids that enforce it, as the scan reports rules: cdk-nag ids without a finding suffix
   * (`AwsSolutions-S1`, `NIST.800.53.R5-S3DefaultEncryptionKMS`, `Trackstack-KMSKeyAdminCannotDecrypt`), GCP
   * policy names (`gcp-cmek-on-buckets-and-topics`), or cfn-lint ids (`E3012`) where one truly serves the
   * promise. Empty when no rule checks it: code and tests keep it, not a compliance rule.
   */
  readonly rules: readonly string[];
}
