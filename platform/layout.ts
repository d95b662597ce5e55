/**
 * Where data lives, as every store and every job that reads it must agree: the directory's items and
 * partitions, the event store's object keys, the published campaign configs and the purge receipts.
 */
import { LIMITS } from './definition';

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
  /**
   * A location's branch keys, one item per version: not owned by any account (the purge never touches
   * them); the ingest reads them and creates a missing one, never replaces one.
   */
  branchKey: 'BRANCHKEY#',
} as const;

/** Attribute and item-key layout of the directory, shared by every directory implementation. */
export const DIRECTORY = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /**
   * Epoch second after which an item is void: readers treat it as absent, and the table's time-to-live
   * deletes it (DynamoDB TTL on this attribute; Firestore's TTL policy acts only on timestamp fields, so the
   * Firestore store mirrors it as a timestamp, `FIRESTORE_TTL_FIELD`). Conversion claims and branch keys
   * carry it.
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
  /** Partition of a location's branch keys: `BRANCHKEY#<location>`. */
  branchKeyPk: (location: string): string => `${DIRECTORY_PARTITIONS.branchKey}${location}`,
  /** Sort key of one branch-key version: the version, zero-padded to 10 digits so keys sort by version. */
  branchKeySk: (version: number): string => String(version).padStart(10, '0'),
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

/**
 * Object keys of the event store, the same on every cloud and on embedded defaults (Firehose dynamic
 * partitioning into S3, the Cloud Storage writer, the local file sink): `account=<id>/dt=<yyyy-mm-dd>/…`.
 * The purge finds all of an account's events by its prefix alone.
 */
export const EVENT_OBJECTS = {
  /** Key (and folder name) prefix of an account's partition: `account=<id>`. */
  accountKey: 'account=',
  /** Key (and folder name) prefix of a day's partition: `dt=<yyyy-mm-dd>`. */
  dayKey: 'dt=',
  /** Every object of an account: `account=<id>/`. The trailing slash keeps `acc_abc` from matching `acc_abcd`. */
  accountPrefix: (accountId: string): string => `account=${accountId}/`,
  /** Every object of an account's day: `account=<id>/dt=<yyyy-mm-dd>/`. */
  partitionPrefix: (accountId: string, dt: string): string => `account=${accountId}/dt=${dt}/`,
  /**
   * Records the stream could neither partition nor deliver. Not per account, so the purge cannot address
   * them: they expire at the purge's eligibility age instead.
   */
  errorPrefix: 'errors/',
} as const;

/** Purge receipts in the audit store (write-once, locked). */
export const RECEIPTS = {
  /** Prefix of every receipt's key. */
  prefix: 'receipts/',
  /** A purge's receipt: `receipts/<accountId>/<purgeId>.json`. */
  purgeKey: (accountId: string, purgeId: string): string => `receipts/${accountId}/${purgeId}.json`,
  /** The receipt of the sweep that followed a purge, beside it: `receipts/<accountId>/<purgeId>.sweep.json`. */
  sweepKey: (accountId: string, purgeId: string): string => `receipts/${accountId}/${purgeId}.sweep.json`,
} as const;

/**
 * The event stream an account's events take when a region has `streams` Firehose streams: a stable hash
 * (FNV-1a, 32 bits, over the id's UTF-8 bytes) modulo the count. Every part that needs it (the ingest's
 * sink, the capacity model, the tests) computes it here, so an account's stream never depends on which
 * instance serves it. The stored layout does not depend on it: every stream delivers into the same
 * `account=<id>/dt=<day>/` prefixes of the region's event bucket, so the purge and readers are unchanged.
 * @throws RangeError when `streams` is not a whole number from 1 to LIMITS.maxEventStreams
 */
export function eventStreamIndex(accountId: string, streams: number): number {
  if (!Number.isInteger(streams) || streams < 1 || streams > LIMITS.maxEventStreams)
    throw new RangeError(
      `streams must be a whole number from 1 to ${LIMITS.maxEventStreams}, got ${streams}`,
    );
  if (streams === 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(accountId)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % streams;
}
