/**
 * The Trackstack platform definition: the single source of regions, names, retention and limits.
 *
 * CDK (`infra/aws`), Pulumi (`infra/gcp`) and the services (`services/*`) all import this module, so a
 * fact such as "purge starts 45 days after expiry" or "europe is eu-west-1" is written exactly once.
 * It must stay free of cloud SDK and CDK imports: the ingest bundle includes it.
 */
import { z } from 'zod';

/** Product name, used as the prefix of every resource name. */
export const PRODUCT = 'trackstack';

/** The three serving locations of the platform (DESIGN §3). */
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

/** Data retention promises (DESIGN §0, §7), in days after an account's `expiredAt`. */
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
} as const;

/** Limits of the ingest service (DESIGN §4). */
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
  /** Failed API-key attempts per minute per client IP, with a burst of this many; then 429. */
  authFailuresPerMinute: 10,
  /** Firehose PutRecordBatch: records per call. */
  firehoseMaxRecords: 500,
  /** Firehose PutRecordBatch: bytes per call. */
  firehoseMaxBytes: 4 * 1024 * 1024,
  /** Firehose: bytes per record. */
  firehoseMaxRecordBytes: 1000 * 1024,
} as const;

/** Fixed formats of identifiers, shared by validation, the directory and the snippet. */
export const ID_PATTERNS = {
  /** Account id: `acc_` and 8 to 32 lowercase letters or digits. */
  account: /^acc_[a-z0-9]{8,32}$/,
  /** Campaign id: `cmp_` and 4 to 32 lowercase letters, digits or dashes. */
  campaign: /^cmp_[a-z0-9-]{4,32}$/,
  /** API key id (the public half of a key): 16 lowercase letters or digits. */
  apiKeyId: /^[a-z0-9]{16}$/,
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

/**
 * Names of resources, derived from stage and location so every part agrees on them.
 * Names are lowercase and short enough for S3 (63) and Firehose (64).
 */
export const names = {
  /** Prefix of every resource of a stage. */
  prefix: (stage: Stage): string => `${PRODUCT}-${stage}`,
  /** The directory table (a global table: one name in every region). */
  directoryTable: (stage: Stage): string => `${PRODUCT}-${stage}-directory`,
  /** The regional event delivery stream. */
  eventStream: (stage: Stage, location: Location): string => `${PRODUCT}-${stage}-${location}-events`,
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
};

/**
 * Prefixes of the directory's partition keys. Each kind of item has partitions of its own, so that IAM
 * (`dynamodb:LeadingKeys`) can hold each role to the kinds it may write: the ingest service writes only
 * `DATAKEY#` and `DEDUP#` items, never an account, campaign or API key.
 */
export const DIRECTORY_PARTITIONS = {
  /** The account record and its campaigns. */
  account: 'ACCOUNT#',
  /** An API key record. */
  apiKey: 'APIKEY#',
  /** An account's wrapped data keys, one item per location. */
  dataKey: 'DATAKEY#',
  /** An account's conversion claims (cross-instance de-duplication), each void after its `expiresAt`. */
  dedup: 'DEDUP#',
} as const;

/** Attribute and item-key layout of the directory, shared by every directory implementation. */
export const DIRECTORY = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /**
   * Epoch second after which an item is void: readers treat it as absent, and the table's time-to-live
   * (DynamoDB TTL, Firestore TTL policy) deletes it. Only conversion claims carry it.
   */
  ttlAttribute: 'expiresAt',
  /** Partition of the account record and its campaigns: `ACCOUNT#<id>`. */
  accountPk: (accountId: string): string => `${DIRECTORY_PARTITIONS.account}${accountId}`,
  /** Sort key of the account record itself. */
  accountSk: 'META',
  /** Sort key of a campaign of the account. */
  campaignSk: (campaignId: string): string => `CAMPAIGN#${campaignId}`,
  /** Partition of an account's wrapped data keys: `DATAKEY#<id>`. */
  dataKeyPk: (accountId: string): string => `${DIRECTORY_PARTITIONS.dataKey}${accountId}`,
  /** Sort key of the account's wrapped data key for one location: the location. */
  dataKeySk: (location: string): string => location,
  /** Partition of an account's conversion claims: `DEDUP#<id>`. */
  dedupPk: (accountId: string): string => `${DIRECTORY_PARTITIONS.dedup}${accountId}`,
  /** Partition of an API key record (looked up by key id on every authenticated call). */
  apiKeyPk: (keyId: string): string => `${DIRECTORY_PARTITIONS.apiKey}${keyId}`,
  /** Sort key of the API key record. */
  apiKeySk: 'META',
} as const;

/**
 * Where a campaign's public config document is published for the CDN (the config bucket, or
 * `<data dir>/` on embedded defaults) and served at `/<path>`. Campaign ids are unique per account only,
 * so the path carries the account: two accounts' campaigns of the same id can never share a document,
 * and purging an account removes exactly its own prefix.
 */
export const CAMPAIGN_CONFIG = {
  /** Prefix of every published config document. */
  root: 'config/',
  /** Prefix of one account's documents: `config/<accountId>/`. */
  accountPrefix: (accountId: string): string => `config/${accountId}/`,
  /** One campaign's document: `config/<accountId>/<campaignId>.json`. */
  path: (accountId: string, campaignId: string): string => `config/${accountId}/${campaignId}.json`,
} as const;

const awsAccountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');

/**
 * Per-stage configuration. Validated at synth and at `pulumi up`; a missing or malformed value fails with
 * a message naming the key (see {@link parseStageConfig}).
 */
export const stageConfigSchema = z
  .object({
    /** The stage name. */
    stage: z.enum(STAGES),
    /** AWS account that hosts the stage; omitted for environment-agnostic local synth. */
    awsAccount: awsAccountId.optional(),
    /** GCP project that hosts the stage. */
    gcpProject: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project id')
      .optional(),
    /** Locations to deploy; all three unless narrowed for a cheap dev stage. */
    locations: z
      .array(z.enum(LOCATIONS))
      .nonempty()
      .default([...LOCATIONS]),
    /** Memory of the ingest function, in MiB. */
    ingestMemoryMb: z.number().int().min(128).max(10_240).default(512),
    /** Reserved concurrency of the ingest function in each region. */
    ingestReservedConcurrency: z.number().int().min(1).max(1000).default(50),
    /** Days that function logs are kept. */
    logRetentionDays: z.number().int().positive().default(RETENTION.logRetentionDays),
    /**
     * Point-in-time recovery period of the directory table, in days. A purge is irreversible only once it
     * has passed (a restore could bring shredded data keys back), so it is capped to keep that within the
     * 90-day promise.
     */
    directoryRecoveryDays: z
      .number({ error: 'must be a whole number of days' })
      .int('must be a whole number of days')
      .min(1, 'must be at least 1 (DynamoDB keeps point-in-time recovery for 1 to 35 days)')
      .max(
        RETENTION.maxDirectoryRecoveryDays,
        `must be at most ${RETENTION.maxDirectoryRecoveryDays}: a purge that finishes on day ${RETENTION.purgeAlarmAfterDays} after expiry must be irreversible by day ${RETENTION.purgeDeadlineDays}`,
      )
      .default(RETENTION.directoryRecoveryDays),
    /** Address that alarm notifications are sent to. */
    alarmEmail: z.email().optional(),
    /** Custom domain of the CDN, e.g. `t.example.com`. */
    domainName: z
      .string()
      .regex(
        /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
        'must be a lowercase DNS name',
      )
      .optional(),
  })
  .strict();

/** Validated stage configuration. */
export type StageConfig = z.infer<typeof stageConfigSchema>;

/** Raised when stage configuration is missing or malformed; its message names every bad key. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** Each problem as `key: reason`. */
    public readonly issues: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Formats zod issues as `path: message`, one per problem, naming the key. */
export function formatZodIssues(error: z.ZodError, root = ''): string[] {
  return error.issues.map((issue) => {
    const path = [root, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'}: ${issue.message}`;
  });
}

/**
 * Validates raw stage configuration (from CDK context, Pulumi config or a file).
 * @param raw the untrusted value
 * @param source where it came from, used in the error message (e.g. `cdk context "stage"`)
 * @throws ConfigError naming every missing or malformed key
 */
export function parseStageConfig(raw: unknown, source = 'stage config'): StageConfig {
  const result = stageConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatZodIssues(result.error);
    throw new ConfigError(`Invalid ${source}:\n  ${issues.join('\n  ')}`, issues);
  }
  return result.data;
}

/**
 * Parses a service's environment with its zod schema: only `TS_*` variables are read, and empty ones count
 * as unset (as Lambda and shells often leave them).
 * @param label names the service in the error, e.g. `ingest`
 * @throws Error naming every missing or malformed variable
 */
export function parseServiceEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
  label: string,
): z.output<S> {
  const picked: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('TS_') && v !== undefined && v !== '') picked[k] = v;
  const result = schema.safeParse(picked);
  if (!result.success)
    throw new Error(`Invalid ${label} environment:\n  ${formatZodIssues(result.error).join('\n  ')}`);
  return result.data;
}

/** ISO-8601 date, or date-time with `Z` or an offset (a date-time without one would be local time). */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2})))?$/;

/**
 * Parses an ISO-8601 instant strictly: a date alone is midnight UTC; a date-time must carry `Z` or an
 * offset; every field must exist on the calendar (`2026-09-31` and `T24:00` are refused, where
 * `Date.parse` would roll them over into the next day).
 * @returns epoch milliseconds, or `undefined` when the text is not such an instant
 */
export function parseIsoInstant(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}
