/**
 * Acknowledged compliance findings of the security stack (the audit trail, the incident store and the
 * containment function), one named helper per situation, called beside the resource it concerns. Each
 * names exactly one finding and gives a full-sentence reason, like `acknowledgements.ts`.
 */
import type { IConstruct } from 'constructs';
import { acknowledgeInFrameworks, acknowledgeWildcardResource } from './acknowledgements';

const AUDIT_NOT_REPLICATED =
  'The audit trail is written once per stage by a multi-region trail into this one bucket, where Object ' +
  'Lock in compliance mode keeps every log file from deletion for the retention period and S3 stores it ' +
  'across availability zones; a replica would need a second locked bucket and key in another region.';

/** The bucket that receives the S3 server access logs of the audit-trail bucket. */
export function acknowledgeAuditAccessLogBucket(bucket: IConstruct): void {
  acknowledgeInFrameworks(
    bucket,
    'S3DefaultEncryptionKMS',
    'S3 server access logging delivers only into buckets encrypted with SSE-S3, not SSE-KMS; the logs hold ' +
      'request metadata of the audit-trail bucket and are still encrypted at rest with AES-256.',
  );
  acknowledgeInFrameworks(bucket, 'S3BucketReplicationEnabled', AUDIT_NOT_REPLICATED);
}

/** The audit-trail bucket, locked in compliance mode in the security stack's region only. */
export function acknowledgeAuditTrailBucket(bucket: IConstruct): void {
  acknowledgeInFrameworks(bucket, 'S3BucketReplicationEnabled', AUDIT_NOT_REPLICATED);
}

/**
 * The containment function's statements whose resources end in a wildcard: the directory and incident
 * items it reads and writes are named by partition key conditions, the Contributor Insights rules are named
 * in full.
 */
export function acknowledgeContainmentWildcards(policy: IConstruct, resources: readonly string[]): void {
  for (const resource of resources) {
    acknowledgeWildcardResource(
      policy,
      resource,
      'The containment function finds the table key through DynamoDB, whose key ids KMS generates, so ' +
        'the key is named by the kms:ResourceAliases condition on its alias and its use confined to ' +
        'DynamoDB by kms:ViaService.',
    );
  }
}

/** The containment function's own permissions boundary: a ceiling over its log streams. */
export function acknowledgeContainmentBoundaryLogs(policy: IConstruct, resource: string): void {
  acknowledgeWildcardResource(
    policy,
    resource,
    'This is a permissions boundary, which grants nothing by itself; it names the log streams of the ' +
      'containment function’s one log group, whose names Lambda generates for each execution environment.',
  );
}

/** The role (and its boundary) through which CloudTrail writes the trail into its log group. */
export function acknowledgeTrailLogStreams(policy: IConstruct, resource: string): void {
  acknowledgeWildcardResource(
    policy,
    resource,
    'CloudTrail creates a log stream of its own choosing in the trail’s one log group for each region ' +
      'and account it delivers, so the delivery role names that log group’s streams rather than named ones.',
  );
}

/** Keys named by alias or service in the containment function's boundary, a ceiling over its grants. */
export function acknowledgeContainmentBoundaryKeys(policy: IConstruct, resource: string): void {
  acknowledgeWildcardResource(
    policy,
    resource,
    'This is a permissions boundary, which grants nothing by itself; KMS generates key ids, so the keys ' +
      'are confined by kms:ViaService to DynamoDB (the directory key, also by its alias) and to SQS (the ' +
      'dead-letter queue), and the function’s own policy names the queue key by reference.',
  );
}
