/** Names of resources that several parts of the platform find by name. */
import { PRODUCT, type Location, type Stage } from './definition';

/**
 * Names of resources, derived from stage and location so every part agrees on them.
 * Names are lowercase and short enough for S3 (63) and Firehose (64).
 */
export const names = {
  /** Prefix of every resource of a stage. */
  prefix: (stage: Stage): string => `${PRODUCT}-${stage}`,
  /** The directory table (a global table: one name in every region). */
  directoryTable: (stage: Stage): string => `${PRODUCT}-${stage}-directory`,
  /**
   * A regional event delivery stream: stream 0 keeps the name of the single stream that came first (so a
   * stage that adds streams keeps its existing one), stream `i` > 0 is `…-events-<i>`. Which stream an
   * account's events take is `eventStreamIndex` (platform/layout.ts).
   */
  eventStream: (stage: Stage, location: Location, index = 0): string =>
    `${PRODUCT}-${stage}-${location}-events${index === 0 ? '' : `-${index}`}`,
  /** The regional KMS key alias, without the `alias/` prefix. */
  keyAlias: (stage: Stage, location: Location): string => `${PRODUCT}/${stage}/${location}/data`,
  /**
   * The regional event bucket (objects under `account=<id>/dt=<day>/`), which the purge job of every
   * location deletes from. S3 bucket names are global across all AWS accounts, so the name carries the
   * account: deterministic for the platform, never taken by someone else's bucket.
   * @param account the 12-digit AWS account id (a CDK token at synth)
   */
  eventBucket: (stage: Stage, location: Location, account: string): string =>
    `${PRODUCT}-${stage}-${location}-events-${account}`,
  /**
   * The purge receipts bucket (S3 Object Lock, compliance mode), one per stage, in the stack that holds the
   * directory table (the primary location's). Named with the account for the same reason as
   * {@link names.eventBucket}.
   * @param account the 12-digit AWS account id (a CDK token at synth)
   */
  purgeReceiptsBucket: (stage: Stage, account: string): string =>
    `${PRODUCT}-${stage}-purge-receipts-${account}`,
  /**
   * The edge's config bucket (the snippet and the published campaign configs), one per stage in the edge
   * stack (us-east-1). Named with the account like {@link names.eventBucket}; the purge deletes an account's
   * configs from it by this name.
   * @param account the 12-digit AWS account id (a CDK token at synth)
   */
  configBucket: (stage: Stage, account: string): string => `${PRODUCT}-${stage}-config-${account}`,
  /**
   * The config bucket key of one version of the snippet, `snippet/<first 16 hex digits of its SHA-256>.js`:
   * each version has its own object, so the CDN can cache it for a year and `/snippet.js` switches versions
   * atomically. The publisher uploads under it; the edge stack's snippet function serves it.
   * @param sha256Hex the SHA-256 of the snippet's bytes, in lowercase hex
   */
  snippetObject: (sha256Hex: string): string => {
    if (!/^[0-9a-f]{64}$/.test(sha256Hex))
      throw new Error('names.snippetObject: expected a SHA-256 in lowercase hex');
    return `snippet/${sha256Hex.slice(0, 16)}.js`;
  },
  /** The incident records (breach response), one table per stage in the directory home's region. */
  incidentTable: (stage: Stage): string => `${PRODUCT}-${stage}-incidents`,
  /** The on-call topic: security alarms and per-key anomaly alarms of the stage. */
  incidentTopic: (stage: Stage): string => `${PRODUCT}-${stage}-incidents`,
  /**
   * The topic of notices to customers (breach notifications); its subscribers deliver each message to the
   * account's contact named in the message attributes.
   */
  customerNoticeTopic: (stage: Stage): string => `${PRODUCT}-${stage}-customer-notices`,
  /**
   * The CloudTrail bucket (Object Lock), one per stage. Named with the account like
   * {@link names.eventBucket}.
   * @param account the 12-digit AWS account id (a CDK token at synth)
   */
  auditTrailBucket: (stage: Stage, account: string): string => `${PRODUCT}-${stage}-audit-trail-${account}`,
  /**
   * The regional Cloud KMS key ring on GCP. Key rings cannot be deleted, so the name must stay stable for
   * the life of the stage.
   */
  gcpKeyRing: (stage: Stage, location: Location): string => `${PRODUCT}-${stage}-${location}`,
  /** The data key in each regional key ring on GCP (CMEK of the buckets and topics, the services' data keys). */
  gcpCryptoKey: (): string => 'data',
  /**
   * The regional event bucket on GCP (objects under `account=<id>/dt=<day>/`). Bucket names are global
   * across all of Cloud Storage, so the name carries the project id, as the AWS one carries the account.
   * @param project the GCP project id
   */
  gcpEventBucket: (stage: Stage, location: Location, project: string): string =>
    `${PRODUCT}-${stage}-${location}-events-${project}`,
  /**
   * The config bucket on GCP (the snippet and the published campaign configs), the origin of the CDN's
   * backend bucket: one per stage, in the primary location's region, as the AWS edge has one in us-east-1.
   * Named with the project id like {@link names.gcpEventBucket}.
   * @param project the GCP project id
   */
  gcpConfigBucket: (stage: Stage, project: string): string => `${PRODUCT}-${stage}-config-${project}`,
  /**
   * The purge receipts bucket on GCP, with a locked retention policy (the counterpart of the S3 Object Lock
   * bucket), in the primary location's region.
   * @param project the GCP project id
   */
  gcpReceiptsBucket: (stage: Stage, project: string): string => `${PRODUCT}-${stage}-receipts-${project}`,
  /**
   * The bucket holding the functions' source archives, which Cloud Build reads, in the primary location's
   * region.
   * @param project the GCP project id
   */
  gcpSourceBucket: (stage: Stage, project: string): string => `${PRODUCT}-${stage}-sources-${project}`,
  /**
   * The Firestore database of the directory (a named database: only a new database can be created with
   * CMEK).
   */
  gcpDirectoryDatabase: (stage: Stage): string => `${PRODUCT}-${stage}`,
  /**
   * The service account of one workload on GCP (at most 30 characters: `ts-<stage>-<location>-<workload>`).
   * @param location the workload's location, or `undefined` for a stage-wide one (the purge)
   */
  gcpServiceAccount: (stage: Stage, workload: string, location?: Location): string =>
    ['ts', stage, location, workload].filter(Boolean).join('-'),
  /** The Firestore collection of the directory's items (the shared layout of `DIRECTORY`). */
  gcpDirectoryCollection: (): string => 'directory',
  /**
   * The field of each directory document that Firestore's TTL policy reads: Firestore's TTL honours only
   * timestamp fields, while the shared layout keeps `expiresAt` in epoch seconds (what DynamoDB's TTL
   * reads), so the Firestore directory stores this timestamp beside it.
   */
  gcpDirectoryTtlField: (): string => 'expireTime',
  /** The Firestore collection of incident records, in the directory's database. */
  gcpIncidentCollection: (): string => 'incidents',
  /** The regional ingest function (Cloud Functions 2nd gen). */
  gcpIngestFunction: (stage: Stage, location: Location): string => `${PRODUCT}-${stage}-${location}-ingest`,
  /** The regional writer function that stores the event topic's messages in the event bucket. */
  gcpWriterFunction: (stage: Stage, location: Location): string => `${PRODUCT}-${stage}-${location}-writer`,
  /** The purge function (one per stage, in the primary location's region; it purges every region). */
  gcpPurgeFunction: (stage: Stage): string => `${PRODUCT}-${stage}-purge`,
  /** The regional push subscription of the event topic, delivering to the writer. */
  gcpEventSubscription: (stage: Stage, location: Location): string =>
    `${PRODUCT}-${stage}-${location}-events-writer`,
  /** The Cloud Armor policy of the load balancer's ingest backends (WAF rules, rate ban, revoked keys). */
  gcpBackendSecurityPolicy: (stage: Stage): string => `${PRODUCT}-${stage}-ingest`,
  /** The Cloud Armor edge policy of the CDN's backend bucket (evaluated before the cache). */
  gcpEdgeSecurityPolicy: (stage: Stage): string => `${PRODUCT}-${stage}-edge`,
  /** The load balancer's URL map (the name `publish-config` invalidates the CDN cache through). */
  gcpUrlMap: (stage: Stage): string => `${PRODUCT}-${stage}-lb`,
  /** The Pub/Sub topic of notices to customers on GCP (the counterpart of {@link names.customerNoticeTopic}). */
  gcpCustomerNoticeTopic: (stage: Stage): string => `${PRODUCT}-${stage}-customer-notices`,
  /** The regional Pub/Sub topic that the ingest function publishes events to. */
  gcpEventTopic: (stage: Stage, location: Location): string => `${PRODUCT}-${stage}-${location}-events`,
  /** The regional dead-letter topic for events the writer could not store. */
  gcpDeadLetterTopic: (stage: Stage, location: Location): string =>
    `${PRODUCT}-${stage}-${location}-events-dead-letter`,
};
