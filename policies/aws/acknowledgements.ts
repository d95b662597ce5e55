/**
 * Acknowledged compliance findings, one named helper per situation.
 *
 * Every acknowledgement names exactly one finding (`Rule` or `Rule[Finding]`) and gives a full-sentence
 * reason; the helpers are called beside the resource they concern, so a finding is acknowledged only
 * where the situation it describes exists. `npm run scan` lists them with their reasons.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { flattenReference } from './cfn';

/** Rule-id prefixes of the cdk-nag packs attached to every stack. */
export const PACKS = {
  awsSolutions: 'AwsSolutions',
  nist: 'NIST.800.53.R5',
  pci: 'PCI.DSS.321',
  hipaa: 'HIPAA.Security',
} as const;

/** The three compliance-framework packs, whose rules share names. */
const FRAMEWORKS = [PACKS.nist, PACKS.pci, PACKS.hipaa] as const;

/**
 * Acknowledges one finding on a construct and everything below it.
 * @param id a rule id (`AwsSolutions-S1`) or a finding id (`AwsSolutions-IAM5[Resource::*]`)
 * @param reason a full sentence saying why the finding is acceptable here
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** Acknowledges the same framework rule (e.g. `S3BucketReplicationEnabled`) in NIST, PCI and HIPAA. */
export function acknowledgeInFrameworks(
  scope: IConstruct,
  rule: string,
  reason: string,
  frameworks: readonly string[] = FRAMEWORKS,
): void {
  for (const pack of frameworks) acknowledge(scope, `${pack}-${rule}`, reason);
}

const RESIDENCY =
  'Events and their logs stay in the region that received them, because customers are promised regional ' +
  'data residency; durability comes from S3 storing every object across availability zones, versioning, ' +
  'and the same platform running in three regions.';

/**
 * The bucket that receives S3 server access logs: SSE-S3 (log delivery cannot write into SSE-KMS
 * buckets) and not replicated. (cdk-nag does not require a log destination to be logged itself.)
 */
export function acknowledgeAccessLogBucket(bucket: IConstruct): void {
  acknowledgeInFrameworks(
    bucket,
    'S3DefaultEncryptionKMS',
    'S3 server access logging delivers only into buckets encrypted with SSE-S3, not SSE-KMS; the logs hold ' +
      'request metadata and never event contents, and they are still encrypted at rest with AES-256.',
  );
  acknowledgeInFrameworks(bucket, 'S3BucketReplicationEnabled', RESIDENCY);
}

/** The regional event bucket: deliberately not replicated to another region. */
export function acknowledgeRegionalEventBucket(bucket: IConstruct): void {
  acknowledgeInFrameworks(bucket, 'S3BucketReplicationEnabled', RESIDENCY);
}

/**
 * Acknowledges `AwsSolutions-IAM5[Resource::…]` for one wildcard resource of a policy. The finding id is
 * derived from the resource the way cdk-nag flattens it, so the acknowledgement cannot drift from the
 * statement it concerns.
 */
export function acknowledgeWildcardResource(policy: IConstruct, resource: string, reason: string): void {
  const flat = flattenReference(Stack.of(policy).resolve(resource));
  acknowledge(policy, `${PACKS.awsSolutions}-IAM5[Resource::${flat}]`, reason);
}

/** A role that writes objects under keys that only the writer knows, into one bucket. */
export function acknowledgeBucketObjectAccess(policy: IConstruct, bucket: s3.IBucket): void {
  acknowledgeWildcardResource(
    policy,
    bucket.arnForObjects('*'),
    'Firehose writes each buffer of each partition to an object key it generates at delivery time, so ' +
      'object-level S3 actions can be scoped to this one bucket’s objects but not to named objects.',
  );
}

/** X-Ray trace segments, which have no resource-level permissions. */
export function acknowledgeXRayWrite(policy: IConstruct): void {
  acknowledge(
    policy,
    `${PACKS.awsSolutions}-IAM5[Resource::*]`,
    'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so the ' +
      'statement that lets the function send its traces can only name all resources.',
  );
}

/** A Lambda function that talks only to public AWS endpoints and so runs outside a VPC. */
export function acknowledgeFunctionOutsideVpc(fn: IConstruct): void {
  acknowledgeInFrameworks(
    fn,
    'LambdaInsideVPC',
    'The function reaches only public AWS service endpoints (such as Firehose, KMS, DynamoDB, S3, SQS and ' +
      'CloudFront) over TLS with IAM authentication and has no private resource to reach, so a VPC ' +
      'would add NAT or endpoint cost and cold-start latency without narrowing any network path.',
  );
}

/** A Lambda function invoked synchronously (Function URL), for which a dead-letter queue does nothing. */
export function acknowledgeSynchronousFunctionWithoutDlq(fn: IConstruct): void {
  acknowledgeInFrameworks(
    fn,
    'LambdaDLQ',
    'The function is invoked synchronously through its Function URL, and Lambda sends only asynchronous ' +
      'invocations to a dead-letter queue; events that cannot reach the stream are kept in the ' +
      'function’s durable disk spool instead.',
    [PACKS.nist, PACKS.hipaa],
  );
}

/** A Lambda function run by a frequent schedule, whose next run does what a failed one did not. */
export function acknowledgeSupersededRunsWithoutDlq(fn: IConstruct): void {
  acknowledgeInFrameworks(
    fn,
    'LambdaDLQ',
    'The function is started by a schedule every minute and each run does the whole job from the current ' +
      'state, so a failed run is superseded by the next one and keeping its event in a dead-letter queue ' +
      'would only hold stale work; failures raise an alarm on the function’s errors instead.',
    [PACKS.nist, PACKS.hipaa],
  );
}

/** Wildcard resources of the permissions boundary, which is a ceiling, not a grant. */
export function acknowledgeBoundaryCeiling(
  policy: IConstruct,
  resources: {
    logs: string;
    /** The objects of this location's event bucket, which Firehose's delivery role writes. */
    eventBucketObjects: string;
    keys: string;
    /** The `account=*` prefixes of the stage's event buckets, where the purge job deletes. */
    eventObjects?: readonly string[];
    /** The receipt objects of the purge receipts bucket. */
    receiptObjects?: string;
    /** The keys of the receipts bucket's region, when that is another region. */
    receiptsKeys?: string;
    /** The published configs in the CDN's config bucket, when a role of the stack purges them. */
    configObjects?: string;
  },
): void {
  const ceiling =
    'This is the permissions boundary, which grants nothing by itself and only caps what the stack’s roles ' +
    'may be granted; ';
  acknowledgeXRayWrite(policy);
  acknowledgeWildcardResource(
    policy,
    resources.logs,
    `${ceiling}it names the log groups of this stage and location by their common prefix.`,
  );
  acknowledgeWildcardResource(
    policy,
    resources.eventBucketObjects,
    `${ceiling}it names the objects of this location's event bucket, because Firehose writes each buffer ` +
      'of each partition to an object key it generates at delivery time.',
  );
  acknowledgeWildcardResource(
    policy,
    resources.keys,
    `${ceiling}key ids are generated by KMS, so keys are confined to the regional key by the ` +
      'kms:ResourceAliases condition on its alias.',
  );
  if (resources.configObjects) {
    acknowledgeWildcardResource(
      policy,
      resources.configObjects,
      `${ceiling}it confines deleting to the config/ prefix of the CDN's config bucket, because the purge ` +
        'job deletes the configs of accounts whose ids are not known at deployment.',
    );
  }
  for (const prefix of resources.eventObjects ?? []) {
    acknowledgeWildcardResource(
      policy,
      prefix,
      `${ceiling}it confines deleting object versions to the account= prefixes of the stage's event ` +
        'buckets, because the keys that the purge job deletes are generated by Firehose at delivery time.',
    );
  }
  if (resources.receiptObjects) {
    acknowledgeWildcardResource(
      policy,
      resources.receiptObjects,
      `${ceiling}it names the receipt objects of the purge receipts bucket by their prefix, because each ` +
        'receipt key holds the account id and purge id of a purge that has not happened yet.',
    );
  }
  if (resources.receiptsKeys) {
    acknowledgeWildcardResource(
      policy,
      resources.receiptsKeys,
      `${ceiling}the receipts bucket's key lives in another region, where its id cannot be referenced, ` +
        'so keys are confined to it by the kms:ResourceAliases condition on its alias.',
    );
  }
}

/**
 * The purge role's object-level S3 permissions on the event buckets: deleting versions under the
 * `account=` prefixes, whose keys Firehose generates.
 */
export function acknowledgeEventObjectPrefixes(policy: IConstruct, resources: readonly string[]): void {
  for (const resource of resources) {
    acknowledgeWildcardResource(
      policy,
      resource,
      'The purge job deletes every version of an expired account’s objects, whose keys Firehose generates ' +
        'at delivery time, so deletion is confined to the account= prefixes of the event buckets rather ' +
        'than to named objects.',
    );
  }
}

/** The purge role's permissions on receipt objects, whose keys name purges that have not happened yet. */
export function acknowledgeReceiptObjects(policy: IConstruct, resource: string): void {
  acknowledgeWildcardResource(
    policy,
    resource,
    'Each purge receipt is written under a key made of the account id and purge id of that purge, so ' +
      'writing and reading receipts is confined to the receipts/ prefix of the receipts bucket, where ' +
      'Object Lock in compliance mode keeps every version from being deleted or overwritten.',
  );
}

/** The purge role's use of the receipts bucket's key in another region, which only its alias can name. */
export function acknowledgeRemoteReceiptsKey(policy: IConstruct, resource: string): void {
  acknowledgeWildcardResource(
    policy,
    resource,
    'The receipts bucket and its key live in the directory home’s region, where the key id cannot be ' +
      'referenced from this stack, so the key is named by the kms:ResourceAliases condition on its alias ' +
      'and its use is confined to S3 and to receipt objects by kms:ViaService and the encryption context.',
  );
}

/** The log streams of one log group, in a permissions boundary of its own (the edge health check's). */
export function acknowledgeOwnLogStreams(policy: IConstruct, resource: string): void {
  acknowledgeWildcardResource(
    policy,
    resource,
    'This is a permissions boundary, which grants nothing by itself; it names the log streams of the ' +
      'function’s one log group, whose names Lambda generates for each execution environment.',
  );
}

/** The purge role's deletion of published configs, whose keys name accounts unknown at deployment. */
export function acknowledgeConfigObjects(policy: IConstruct, resource: string): void {
  acknowledgeWildcardResource(
    policy,
    resource,
    'The purge job deletes every published config of an expired account, under config/<accountId>/ ' +
      'for accounts that do not exist at deployment, so deletion is confined to the config/ prefix of ' +
      'the CDN’s config bucket rather than to named objects.',
  );
}

/** The purge receipts bucket: kept in the directory home's region only. */
export function acknowledgePurgeReceiptsBucket(bucket: IConstruct): void {
  acknowledgeInFrameworks(
    bucket,
    'S3BucketReplicationEnabled',
    'Purge receipts are write-once audit records, locked in compliance mode, that live beside the ' +
      'directory they account for; S3 stores every object across availability zones, and replicating ' +
      'them would need a second locked bucket that the purge job could not verify.',
  );
}
