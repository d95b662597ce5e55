/**
 * The purge job's vocabulary: account states as the job sees them, the progress it persists so that a
 * killed run is finished by the next, the counts it reports and the receipt it leaves behind.
 *
 * Nothing here knows which cloud (or local folder) holds the data; the stores are reached through the
 * ports in `ports.ts`.
 */

/** Lifecycle state of an account, as in the directory. */
export type AccountStatus = 'active' | 'expired' | 'purged';

/** The steps of one account's purge, in the order they run. */
export const PURGE_STEPS = ['shred', 'objects', 'directory', 'receipt'] as const;
/**
 * A step of one account's purge: `shred` deletes the wrapped data keys (crypto-shredding), `objects`
 * every object version and delete marker in every location, `directory` the account's other directory
 * items, `receipt` writes the receipt and marks the account purged.
 */
export type PurgeStep = (typeof PURGE_STEPS)[number];

/** Why an account is being purged. */
export type PurgeTrigger = 'schedule' | 'request';

/** What was deleted from one location's event store. */
export interface ObjectCounts {
  /** Object versions (current and noncurrent). */
  readonly versions: number;
  /** Delete markers. */
  readonly deleteMarkers: number;
  /** Bytes of the deleted versions. */
  readonly bytes: number;
}

/** What was deleted from the directory, besides the data keys. */
export interface DirectoryCounts {
  readonly campaigns: number;
  readonly apiKeys: number;
  /**
   * Conversion claims (`DEDUP#<id>` items): the ingest service's de-duplication keys, hashes of click ids.
   * Counted apart so the receipt says that they went too, not only "other".
   */
  readonly conversionClaims: number;
  /** Items of the account's partition of no known kind. */
  readonly other: number;
}

/** Everything one purge deleted, per store. Counts only what this purge saw disappear. */
export interface PurgeCounts {
  /** Wrapped data keys deleted (crypto-shredding), with the locations they belonged to. */
  readonly dataKeys: { readonly deleted: number; readonly locations: readonly string[] };
  /** Per location of the event store. */
  readonly objects: Readonly<Record<string, ObjectCounts>>;
  readonly directory: DirectoryCounts;
}

/** A directory item the purge deletes, classified so it can be counted. */
export interface DirectoryEntry {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'dataKey' | 'campaign' | 'apiKey' | 'conversionClaim' | 'other';
  /** For a data key: the location whose master key wrapped it. */
  readonly location?: string;
  /** For a campaign: its id. */
  readonly campaignId?: string;
}

/**
 * An object version in compact form, as persisted while its deletion is in flight:
 * `[key relative to the account prefix, version id, 1 if a delete marker else 0, size in bytes]`.
 * Compact because up to 1,000 of them sit in the account's directory record.
 */
export type PendingVersion = readonly [key: string, versionId: string, deleteMarker: 0 | 1, size: number];

/**
 * A deletion that was started but whose outcome is not yet counted. It is written before the delete
 * call and cleared, with the counts updated, after it; a run that finds one left behind (the previous
 * run was killed in between) counts whichever of its entries are gone, so nothing is counted twice or
 * missed.
 */
export type PendingBatch =
  | { readonly kind: 'directory'; readonly items: readonly DirectoryEntry[] }
  | { readonly kind: 'objects'; readonly location: string; readonly versions: readonly PendingVersion[] };

/** Who may work on an account's purge, until when. */
export interface PurgeLease {
  readonly runId: string;
  /** ISO-8601; after it, another run may take over. */
  readonly until: string;
}

/**
 * What the purge and the sweep both persist while they delete: the record that lets a killed run be
 * finished by the next with exact counts.
 */
export interface DeletionProgress {
  /** ISO-8601 instant the work started. */
  readonly startedAt: string;
  /** ISO-8601 instant every byte was gone; fixed before the receipt is written, so rewriting it is exact. */
  readonly finishedAt?: string;
  /** The run that set `finishedAt`: the receipt names it, whichever run writes the receipt. */
  readonly finishedRunId?: string;
  /** The stores covered, fixed with `finishedAt` for the same reason. */
  readonly finishedStores?: PurgeReceipt['stores'];
  /** Every run that worked on it, in order. */
  readonly runIds: readonly string[];
  /** Locations whose event store is already empty for this account. */
  readonly locationsDone: readonly string[];
  readonly counts: PurgeCounts;
  readonly lease: PurgeLease;
  readonly pending?: PendingBatch;
}

/** The progress of one account's purge, persisted on the account's directory record. */
export interface PurgeProgress extends DeletionProgress {
  /** The id of the run that started the purge; names the receipt. */
  readonly purgeId: string;
  readonly trigger: PurgeTrigger;
  /** The operator's reason, for a customer's deletion request. */
  readonly reason?: string;
  /** The step to do next. */
  readonly step: PurgeStep;
}

/** The steps of a sweep, in the order they run. */
export const SWEEP_STEPS = ['directory', 'objects', 'receipt'] as const;
/**
 * A step of a purged account's sweep: `directory` deletes any wrapped data key or conversion claim the
 * data path wrote since the purge (keys first: what follows is unreadable), `objects` every object version
 * and delete marker that arrived late, `receipt` writes the sweep receipt and marks the account swept.
 */
export type SweepStep = (typeof SWEEP_STEPS)[number];

/**
 * The progress of a purged account's sweep, persisted on its record like a purge's: events can reach the
 * event store after the purge (a disk spool drained late, the stream's buffer), so the account's prefixes
 * are emptied once more.
 */
export interface SweepProgress extends DeletionProgress {
  /** The run that started the sweep. */
  readonly sweepId: string;
  /** The step to do next. */
  readonly step: SweepStep;
}

/** A finished sweep, as the account record keeps it. */
export interface SweepRecord {
  /** ISO-8601 instant the sweep finished (its receipt's `finishedAt`). */
  readonly sweptAt: string;
  readonly sweepId: string;
  /** Where the sweep receipt is. */
  readonly receipt: string;
  /** What it deleted. */
  readonly counts: PurgeCounts;
}

/** An account as the purge job sees it. */
export interface AccountState {
  readonly accountId: string;
  readonly status: AccountStatus;
  /** ISO-8601 instant the account expired. */
  readonly expiredAt?: string;
  /** ISO-8601 instant the account's data was purged. */
  readonly purgedAt?: string;
  /** Receipt of a finished purge (`purgeId` and where the receipt is). */
  readonly purge?: { readonly purgeId: string; readonly receipt: string };
  /** A purge in progress. */
  readonly progress?: PurgeProgress;
  /** A sweep in progress (purged accounts only). */
  readonly sweepProgress?: SweepProgress;
  /** The finished sweep (purged accounts only): after it, the account is never touched again. */
  readonly swept?: SweepRecord;
  /** Compare-and-set revision of the purge state: every save increments it. 0 before the first. */
  readonly revision: number;
}

/** The purge receipt: the audit record of one finished purge. Holds no personal data. */
export interface PurgeReceipt {
  readonly kind: 'trackstack.purge-receipt';
  readonly version: 1;
  readonly accountId: string;
  /** The run that started the purge; with the account id, it identifies the receipt. */
  readonly purgeId: string;
  /** The run that finished it. */
  readonly runId: string;
  /** Every run that worked on it. */
  readonly runIds: readonly string[];
  readonly trigger: PurgeTrigger;
  /** For a customer's deletion request: the operator's reason (checked to hold no e-mail address). */
  readonly reason?: string;
  /** When the account expired, when it became eligible and the promised deadline (ISO-8601, UTC). */
  readonly expiredAt: string;
  readonly eligibleAt: string;
  readonly deadline: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly counts: PurgeCounts;
  /** The stores the purge covered, so an auditor can tell a location that was empty from one never looked at. */
  readonly stores: {
    readonly directory: string;
    readonly objects: Readonly<Record<string, string>>;
  };
}

/**
 * The receipt of a purged account's sweep: what arrived after the purge and was deleted then. It names
 * the purge it completes, and sits next to that purge's receipt in the same write-once store, so that the
 * 90-day promise stays provable for data that arrived late. Holds no personal data.
 */
export interface SweepReceipt {
  readonly kind: 'trackstack.purge-sweep-receipt';
  readonly version: 1;
  readonly accountId: string;
  /** The purge this sweep completes; with the account id, it identifies the receipt. */
  readonly purgeId: string;
  /** Where that purge's receipt is. */
  readonly purgeReceipt: string;
  /** The run that started the sweep. */
  readonly sweepId: string;
  /** The run that finished it. */
  readonly runId: string;
  /** Every run that worked on it. */
  readonly runIds: readonly string[];
  /** ISO-8601 (UTC): expiry, end of the purge, when the sweep fell due, and the promised deadline. */
  readonly expiredAt: string;
  readonly purgedAt: string;
  readonly dueAt: string;
  readonly deadline: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly counts: PurgeCounts;
  /** The stores the sweep covered. */
  readonly stores: PurgeReceipt['stores'];
}

/** Any record the audit store keeps: a purge's receipt or its sweep's. */
export type AuditReceipt = PurgeReceipt | SweepReceipt;

/**
 * Orders object keys the way S3 lists them: by the bytes of their UTF-8 encoding (which differs from
 * JavaScript's UTF-16 string order for characters beyond the Basic Multilingual Plane).
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Zero counts for the given locations. */
export function emptyCounts(locations: readonly string[]): PurgeCounts {
  const objects: Record<string, ObjectCounts> = {};
  for (const l of locations) objects[l] = { versions: 0, deleteMarkers: 0, bytes: 0 };
  return {
    dataKeys: { deleted: 0, locations: [] },
    objects,
    directory: { campaigns: 0, apiKeys: 0, conversionClaims: 0, other: 0 },
  };
}

/** Adds deleted directory entries to the counts. */
export function addDirectoryCounts(counts: PurgeCounts, entries: readonly DirectoryEntry[]): PurgeCounts {
  let { deleted } = counts.dataKeys;
  const locations = new Set(counts.dataKeys.locations);
  let { campaigns, apiKeys, other } = counts.directory;
  // Progress saved before conversion claims were counted has no such field.
  let conversionClaims = counts.directory.conversionClaims ?? 0;
  for (const e of entries) {
    if (e.kind === 'dataKey') {
      deleted += 1;
      if (e.location) locations.add(e.location);
    } else if (e.kind === 'campaign') campaigns += 1;
    else if (e.kind === 'apiKey') apiKeys += 1;
    else if (e.kind === 'conversionClaim') conversionClaims += 1;
    else other += 1;
  }
  return {
    ...counts,
    dataKeys: { deleted, locations: [...locations].sort() },
    directory: { campaigns, apiKeys, conversionClaims, other },
  };
}

/** Adds deleted object versions of one location to the counts. */
export function addObjectCounts(
  counts: PurgeCounts,
  location: string,
  versions: readonly PendingVersion[],
): PurgeCounts {
  const prev = counts.objects[location] ?? { versions: 0, deleteMarkers: 0, bytes: 0 };
  let { versions: v, deleteMarkers: m, bytes } = prev;
  for (const [, , marker, size] of versions) {
    if (marker) m += 1;
    else {
      v += 1;
      bytes += size;
    }
  }
  return { ...counts, objects: { ...counts.objects, [location]: { versions: v, deleteMarkers: m, bytes } } };
}
