/**
 * The ports of the purge core: what it needs from the directory, from each location's event store and
 * from the receipt store. Adapters implement them for AWS (`../aws`) and for the embedded defaults
 * (`../local`); GCP will add its own without touching the core.
 */
import type { ConfigStore } from '../../../shared/campaign-config/config-store';
import type {
  AccountState,
  AuditReceipt,
  DirectoryEntry,
  PurgeCounts,
  PurgeProgress,
  PurgeReceipt,
  SweepProgress,
  SweepReceipt,
} from './model';

/** The change {@link PurgeDirectory.saveAccount} makes to an account's record. */
export type AccountChange =
  /** Starts, advances or releases a purge: the progress is replaced; the rest of the record is kept. */
  | { readonly kind: 'progress'; readonly progress: PurgeProgress }
  /**
   * Marks the account purged: status `purged`, `purgedAt`, the receipt's id and location; every other
   * field (contact e-mail and anything personal) is dropped from the record, and so is the progress.
   */
  | {
      readonly kind: 'purged';
      readonly purgedAt: string;
      readonly purgeId: string;
      readonly receipt: string;
    }
  /** Starts, advances or releases the sweep of a purged account: its sweep progress is replaced. */
  | { readonly kind: 'sweep-progress'; readonly progress: SweepProgress }
  /** Records the finished sweep on the purged account (and drops its sweep progress). */
  | {
      readonly kind: 'swept';
      readonly sweptAt: string;
      readonly sweepId: string;
      readonly receipt: string;
      readonly counts: PurgeCounts;
    };

/** The account directory, as the purge job uses it. */
export interface PurgeDirectory {
  /** Human-readable name of the store, e.g. `dynamodb:trackstack-prod-directory`. Goes into receipts. */
  readonly description: string;
  /** Every account. */
  listAccounts(): Promise<AccountState[]>;
  /** One account, read strongly consistently; `undefined` when it does not exist. */
  getAccount(accountId: string): Promise<AccountState | undefined>;
  /**
   * Compare-and-set: applies `change` only if the stored record still has `previous`'s revision, status
   * and expiry. Resolves with the new state, or `undefined` when the record changed in between (another
   * run, or an operator reactivating the account).
   */
  saveAccount(previous: AccountState, change: AccountChange): Promise<AccountState | undefined>;
  /** The account's wrapped data keys, one per location. */
  listDataKeys(accountId: string): Promise<DirectoryEntry[]>;
  /**
   * Every item the account owns except its own record: the items of its partition (campaigns, anything
   * else), its wrapped data keys and conversion claims, and its API keys (each kind in partitions of its
   * own).
   */
  listOwnedItems(accountId: string): Promise<DirectoryEntry[]>;
  /**
   * The items the data path writes for an account (wrapped data keys, conversion claims): the only
   * directory items that can appear after a purge, so what a sweep looks for.
   */
  listDataPathItems(accountId: string): Promise<DirectoryEntry[]>;
  /** Deletes items; missing ones are ignored. */
  deleteItems(items: readonly DirectoryEntry[]): Promise<void>;
  /** Those of `items` that still exist. */
  existingItems(items: readonly DirectoryEntry[]): Promise<DirectoryEntry[]>;
}

/** An object version or a delete marker in an event store. */
export interface StoredVersion {
  /** The full object key. */
  readonly key: string;
  /** The version id (`null` for an object written before versioning, and for local files). */
  readonly versionId: string;
  readonly deleteMarker: boolean;
  /** Bytes; 0 for a delete marker. */
  readonly size: number;
}

/** One page of a version listing. */
export interface VersionPage {
  readonly versions: readonly StoredVersion[];
  /** Opaque cursor of the next page; absent on the last. */
  readonly next?: string;
}

/** A version to delete. */
export interface VersionRef {
  readonly key: string;
  readonly versionId: string;
}

/** A version whose deletion failed. */
export interface VersionError extends VersionRef {
  /** The store's error code, e.g. `AccessDenied`, `InternalError`. */
  readonly code: string;
  readonly message: string;
}

/** What one delete request did. */
export interface DeleteOutcome {
  readonly deleted: readonly VersionRef[];
  readonly errors: readonly VersionError[];
}

/** Largest number of versions one delete request may carry (S3 DeleteObjects refuses more). */
export const MAX_DELETE_BATCH = 1000;

/** One location's event store: the versioned bucket (or local folder) events are delivered into. */
export interface EventObjectStore {
  /** The location it serves, e.g. `europe`. */
  readonly location: string;
  /** Human-readable name, e.g. `s3://trackstack-prod-europe-events`. Goes into receipts. */
  readonly description: string;
  /**
   * Lists object versions and delete markers whose key starts with `prefix`, in key order, at most
   * `limit` (≤ 1,000) per page, from `cursor`.
   */
  listVersions(prefix: string, options?: { cursor?: string; limit?: number }): Promise<VersionPage>;
  /**
   * Deletes up to {@link MAX_DELETE_BATCH} versions in one request and reports each one's outcome.
   * Deleting a version that does not exist succeeds. Rejects only when the request as a whole failed.
   */
  deleteVersions(refs: readonly VersionRef[]): Promise<DeleteOutcome>;
}

/**
 * The audit store of purge receipts. Append-only: there is no way to delete or replace a receipt through
 * this port, and the AWS store makes that hold against the job's own credentials too (Object Lock).
 */
export interface ReceiptStore {
  /** Human-readable name, e.g. `s3://trackstack-prod-purge-receipts`. */
  readonly description: string;
  /**
   * Writes a purge or sweep receipt once. Writing an identical receipt again is a no-op (so a run killed
   * after writing it can finish); a different one under the same name is refused.
   * @returns where the receipt is, e.g. `s3://bucket/receipts/acc_…/run_….json`
   */
  write(receipt: AuditReceipt): Promise<string>;
  /** Reads a purge receipt back; `undefined` if there is none. */
  read(accountId: string, purgeId: string): Promise<PurgeReceipt | undefined>;
  /** Reads the receipt of the sweep that completed a purge; `undefined` if there is none. */
  readSweep(accountId: string, purgeId: string): Promise<SweepReceipt | undefined>;
}

/**
 * The published copies of campaign configs (the CDN's `config/<accountId>/<campaignId>.json`, see
 * `CAMPAIGN_CONFIG`): the part of the shared `ConfigStore` port the purge uses. They are derived from the
 * campaign records, so they are removed with them; how many went is logged, not put in the receipt's
 * counts, whose shape the receipts already written fix.
 */
export type PublishedConfigStore = Pick<ConfigStore, 'description' | 'deleteAccount'>;

/**
 * The checkpoints the purge and the sweep of a purged account both pass, as the same code passes them
 * (`progress-ledger.ts`): the purge under these names, the sweep with `sweep:` before them.
 */
export type SharedCheckpointName =
  | 'claimed'
  | 'objects:pending'
  | 'objects:deleted'
  | 'objects:committed'
  | 'objects:location-done'
  | 'objects:done'
  | 'directory:pending'
  | 'directory:deleted'
  | 'directory:done'
  | 'receipt:prepared'
  | 'receipt:written';

/** A point in an account's purge at which the job has just persisted something, or is about to. */
export type PurgeCheckpointName =
  SharedCheckpointName | 'shred:pending' | 'shred:deleted' | 'shred:done' | 'purged';

/** A point in a purged account's sweep at which the job has just persisted something, or is about to. */
export type SweepCheckpointName = `sweep:${SharedCheckpointName}` | 'swept';

/** Any checkpoint of a purge or a sweep. */
export type CheckpointName = PurgeCheckpointName | SweepCheckpointName;

/** Every checkpoint of a purge, in the order a purge passes them. */
export const CHECKPOINTS: readonly PurgeCheckpointName[] = [
  'claimed',
  'shred:pending',
  'shred:deleted',
  'shred:done',
  'objects:pending',
  'objects:deleted',
  'objects:committed',
  'objects:location-done',
  'objects:done',
  'directory:pending',
  'directory:deleted',
  'directory:done',
  'receipt:prepared',
  'receipt:written',
  'purged',
];

/** Every checkpoint of a sweep, in the order a sweep passes them. */
export const SWEEP_CHECKPOINTS: readonly SweepCheckpointName[] = [
  'sweep:claimed',
  'sweep:directory:pending',
  'sweep:directory:deleted',
  'sweep:directory:done',
  'sweep:objects:pending',
  'sweep:objects:deleted',
  'sweep:objects:committed',
  'sweep:objects:location-done',
  'sweep:objects:done',
  'sweep:receipt:prepared',
  'sweep:receipt:written',
  'swept',
];

/** A checkpoint being passed. */
export interface Checkpoint {
  readonly name: CheckpointName;
  readonly accountId: string;
  readonly runId: string;
  /** For object checkpoints: the location. */
  readonly location?: string;
}

/**
 * Observes (and, in tests, interrupts) a purge. A hook that throws aborts the whole run on the spot, like
 * a killed process: nothing is released, reported or cleaned up. That is how the kill-and-resume tests
 * stop the job after each step in turn.
 */
export interface PurgeHooks {
  checkpoint?(point: Checkpoint): void | Promise<void>;
}

/** Structured log sink of the job. */
export interface PurgeLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: PurgeLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
