/**
 * The platform's definition: locations and the regions of both clouds, stages, retention promises, limits
 * and identifier formats. Every part (CDK, Pulumi, the services, the policies) reads these facts from here,
 * so "purge starts 45 days after expiry" or "europe is eu-west-1" is written once. Free of cloud SDK and
 * CDK imports: the service bundles include it.
 */
/** Product name, used as the prefix of every resource name. */
export const PRODUCT = 'trackstack';

/** The three serving locations of the platform. */
export const LOCATIONS = ['americas', 'europe', 'apac'] as const;
/** One of the serving locations. */
export type Location = (typeof LOCATIONS)[number];

/** Cloud regions of one location. */
export interface LocationRegions {
  /** AWS region, e.g. `us-east-1`. */
  readonly aws: string;
  /** GCP region, e.g. `us-central1`. */
  readonly gcp: string;
}

/** Location → cloud regions. */
export const REGIONS: Readonly<Record<Location, LocationRegions>> = {
  americas: { aws: 'us-east-1', gcp: 'us-central1' },
  europe: { aws: 'eu-west-1', gcp: 'europe-west1' },
  apac: { aws: 'ap-southeast-1', gcp: 'asia-southeast1' },
};

/** Location whose region hosts global resources (CloudFront, ACM, WAF for CloudFront, the table's home). */
export const PRIMARY_LOCATION: Location = 'americas';

/** The AWS region of a location. */
export function awsRegion(location: Location): string {
  return REGIONS[location].aws;
}

/** The location that an AWS region serves, or `undefined` when the region is not one of ours. */
export function locationOfAwsRegion(region: string): Location | undefined {
  return LOCATIONS.find((l) => REGIONS[l].aws === region);
}

/** Deployment stages. */
export const STAGES = ['dev', 'staging', 'prod'] as const;
/** One deployment stage. */
export type Stage = (typeof STAGES)[number];

/** Data retention promises, in days after an account's `expiredAt`. */
export const RETENTION = {
  /** An expired account becomes eligible for purge this many days after expiry. */
  purgeEligibleAfterDays: 45,
  /** Every byte of an expired account is gone by this many days after expiry. */
  purgeDeadlineDays: 90,
  /** An alarm fires when an account is still unpurged this many days after expiry. */
  purgeAlarmAfterDays: 80,
  /** Noncurrent object versions in the event store expire after this many days. */
  noncurrentVersionDays: 30,
  /** Access and server logs are kept this long. */
  logRetentionDays: 365,
  /**
   * A purged account's prefixes are swept once more this many days after its purge, for events that a
   * disk spool or the stream delivered late; the sweep is due before `purgeDeadlineDays` all the same.
   */
  purgeSweepAfterDays: 1,
  /**
   * Default point-in-time recovery period of the directory, in days. A restore could bring back wrapped data
   * keys that a purge shredded, so a purge is irreversible only once this period has passed after it.
   */
  directoryRecoveryDays: 7,
  /**
   * Longest point-in-time recovery period a stage may set: a purge that finishes at the alarm
   * (`purgeAlarmAfterDays`) must still be irreversible by `purgeDeadlineDays`.
   */
  maxDirectoryRecoveryDays: 10,
  /** Purge receipts stay locked (write-once, undeletable) this long: 7 years, a common bar for audit records. */
  receiptRetentionDays: 2557,
  /**
   * Hours from the detection of a breach affecting personal data within which the affected customer must be
   * notified (GDPR articles 33 and 34 set 72 hours for the controller; the platform, as processor, promises
   * its customers the same clock).
   */
  breachNotificationHours: 72,
  /** CloudTrail logs stay locked (write-once) this long: a year of audit trail for breach investigations. */
  auditTrailRetentionDays: 365,
} as const;

/** Limits of the ingest service. */
export const LIMITS = {
  /** Events in one `/collect` batch. */
  maxEventsPerBatch: 50,
  /** Bytes of one request body. */
  maxBodyBytes: 64 * 1024,
  /** Bytes of the URL (path and query string). */
  maxUrlBytes: 4 * 1024,
  /** Longest a cached API-key or account status is trusted: a revoked key is refused everywhere within this. */
  keyStatusCacheSeconds: 60,
  /** An unwrapped data key is kept in memory at most this long. */
  dataKeyCacheSeconds: 300,
  /** At most this many unwrapped data keys are kept in memory. */
  dataKeyCacheEntries: 10_000,
  /** Conversions with the same (account, click id, event) within this window are counted once. */
  dedupWindowSeconds: 24 * 3600,
  /** Hits whose client timestamp is older than this are malformed. */
  maxEventAgeSeconds: 7 * 24 * 3600,
  /** Hits whose client timestamp is further ahead than this (clock skew) are malformed. */
  maxClockSkewSeconds: 5 * 60,
  /** Requests per second per client IP, with a burst of ten seconds' worth. */
  ipRatePerSecond: 50,
  /** Requests per second per API key, with a burst of ten seconds' worth. */
  apiKeyRatePerSecond: 200,
  /**
   * Postbacks per second per client IP, with a burst of ten seconds' worth: as high as the per-key rate,
   * since an affiliate network's server sends every postback of its key from a few addresses.
   */
  postbackIpRatePerSecond: 200,
  /**
   * Seconds' worth of its rate that a client IP or API key may send at once (the token bucket's size), so
   * a page load's burst of hits passes while a steady flood is held to the rate.
   */
  rateBurstSeconds: 10,
  /** Failed API-key attempts per minute per client IP, with a burst of this many; then 429. */
  authFailuresPerMinute: 10,
  /** Firehose PutRecordBatch: records per call. */
  firehoseMaxRecords: 500,
  /** Firehose PutRecordBatch: bytes per call. */
  firehoseMaxBytes: 4 * 1024 * 1024,
  /** Firehose: bytes per record. */
  firehoseMaxRecordBytes: 1000 * 1024,
  /**
   * Firehose bills Direct PUT ingestion per record in steps of this many bytes (a 300-byte event costs as
   * much as a 5 KiB one), so the sink packs events into records of up to this size.
   */
  firehoseBillingIncrementBytes: 5 * 1024,
  /** Active partitions (account and day, within a buffer interval) per Firehose stream by default. */
  firehoseActivePartitions: 500,
  /** Active partitions per stream that AWS raises the quota to on request, at most. */
  firehoseMaxActivePartitions: 5000,
  /** Most Firehose streams per region a stage may spread its accounts over. */
  maxEventStreams: 50,
  /**
   * A location's branch key (which seals its accounts' data keys so that instances open them without KMS)
   * is replaced this often: version `floor(epoch seconds / this)` seals every new copy during its period.
   */
  branchKeyRotationSeconds: 24 * 3600,
  /**
   * Branch-key versions that still open sealed copies: the current one and the one before. An older copy
   * is unwrapped with KMS once and sealed again; its branch key item has expired (time-to-live) by then.
   */
  branchKeyOpenVersions: 2,
} as const;

/** Fixed formats of identifiers, shared by validation, the directory and the snippet. */
export const ID_PATTERNS = {
  /** Account id: `acc_` and 8 to 32 lowercase letters or digits. */
  account: /^acc_[a-z0-9]{8,32}$/,
  /** Campaign id: `cmp_` and 4 to 32 lowercase letters, digits or dashes. */
  campaign: /^cmp_[a-z0-9-]{4,32}$/,
  /** API key id (the public half of a key): 16 lowercase letters or digits. */
  apiKeyId: /^[a-z0-9]{16}$/,
  /** Incident id: `inc_`, the detection day `yyyymmdd`, `_` and 6 lowercase letters or digits. */
  incident: /^inc_\d{8}_[a-z0-9]{6}$/,
  /** A whole API key: `tsk_<keyid>_<secret>`, the secret being 40 base62 characters. */
  apiKey: /^tsk_([a-z0-9]{16})_([A-Za-z0-9]{40})$/,
} as const;

/**
 * Query parameters of a page URL that are kept in clear, for campaign attribution, when the visitor
 * consented and the campaign names no list of its own (`urlParams`); a trailing `*` matches a prefix. The
 * rest of the query string and the fragment are stored only encrypted, and without consent nothing past
 * the path is stored at all.
 */
export const DEFAULT_CAMPAIGN_URL_PARAMS: readonly string[] = [
  'utm_*',
  'gclid',
  'gbraid',
  'wbraid',
  'dclid',
  'fbclid',
  'msclkid',
  'ttclid',
  'li_fat_id',
];

/** Event types a hit may carry. */
export const EVENT_TYPES = ['pageview', 'impression', 'click', 'conversion', 'custom'] as const;
/** One event type. */
export type EventType = (typeof EVENT_TYPES)[number];
