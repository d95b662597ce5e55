/**
 * The batch loops the purge and the sweep of a purged account both delete with: the version-listing and
 * delete loop of one location (first page, prefix guard, batch recorded before the delete call, per-key
 * retries, counts recorded after it), directory items in bounded batches, and the settling of a batch a
 * killed run left unrecorded.
 *
 * The caller persists its own progress between the steps of each batch (see {@link BatchSteps}), so one
 * loop serves both, each with its own record and checkpoints (`progress-ledger.ts`).
 */
import { EVENT_OBJECTS } from '../../../../platform';
import { deleteWithRetries, type RetryPolicy } from './delete-retry';
import { DeleteFailure } from './errors';
import {
  addDirectoryCounts,
  addObjectCounts,
  type DirectoryEntry,
  type PendingBatch,
  type PendingVersion,
  type PurgeCounts,
} from './model';
import { MAX_DELETE_BATCH, type EventObjectStore, type PurgeDirectory } from './ports';
import { compactVersion, presentVersions, versionKey, versionPages } from './version-listing';

/**
 * Directory items deleted per recorded batch. The batch is persisted on the account's record while it is
 * in flight, and a DynamoDB item holds at most 400 KB: an account with many conversion claims is deleted
 * in several batches rather than recorded in one that cannot be stored.
 */
export const DIRECTORY_BATCH = 1000;

/** What the caller does around each batch's delete call, persisting its progress and passing checkpoints. */
export interface BatchSteps<T> {
  /** Before the delete call: record the batch as pending. */
  pending(batch: readonly T[]): Promise<void>;
  /** Right after the delete call, before anything is recorded. */
  deleted(): Promise<void>;
  /** Record what is gone (the rest failed) and clear the pending batch. */
  committed(gone: readonly T[]): Promise<void>;
}

/** Settings of {@link BatchDeleter}: how deletions are retried, and how many versions go per batch. */
export interface BatchDeleterProps extends RetryPolicy {
  /** Versions listed (and so deleted) per request; at most {@link MAX_DELETE_BATCH}. */
  readonly pageSize: number;
}

/** Deletes an account's object versions and directory items batch by batch, as the purge and sweep do. */
export class BatchDeleter {
  constructor(private readonly props: BatchDeleterProps) {}

  /**
   * Empties one location's store of everything under `prefix`, batch by batch, until a listing comes
   * back empty or the time budget is used up.
   * @returns `empty` when nothing is left under the prefix, `paused` when out of time
   * @throws DeleteFailure after committing a batch some of whose versions still failed after every retry
   * @throws Error when the store listed a key outside the prefix: nothing of that batch is deleted
   */
  async drainPrefix(
    store: EventObjectStore,
    prefix: string,
    outOfTime: () => boolean,
    steps: BatchSteps<PendingVersion>,
  ): Promise<'empty' | 'paused'> {
    if (outOfTime()) return 'paused';
    for await (const page of versionPages(store, prefix, { limit: this.props.pageSize, restart: true })) {
      const batch: PendingVersion[] = page.slice(0, MAX_DELETE_BATCH).map((v) => {
        if (!v.key.startsWith(prefix)) {
          // A store that returned a key outside the prefix is broken; deleting it would touch another account.
          throw new Error(`${store.description} listed ${v.key} for prefix ${prefix}`);
        }
        return compactVersion(v, v.key.slice(prefix.length));
      });
      await steps.pending(batch);
      const result = await deleteWithRetries(
        store,
        batch.map(([key, version]) => ({ key: prefix + key, versionId: version })),
        this.props,
      );
      await steps.deleted();
      const gone = new Set(result.deleted.map((r) => versionKey(r.key, r.versionId)));
      await steps.committed(batch.filter((v) => gone.has(versionKey(prefix + v[0], v[1]))));
      if (result.failed.length > 0) throw new DeleteFailure(store.location, result.failed);
      if (outOfTime()) return 'paused';
    }
    return 'empty';
  }

  /**
   * Deletes directory items in batches of at most {@link DIRECTORY_BATCH}, each recorded before and
   * counted after its delete call.
   */
  async deleteEntries(
    directory: PurgeDirectory,
    items: readonly DirectoryEntry[],
    steps: BatchSteps<DirectoryEntry>,
  ): Promise<void> {
    for (let i = 0; i < items.length; i += DIRECTORY_BATCH) {
      const batch = items.slice(i, i + DIRECTORY_BATCH);
      await steps.pending(batch);
      await directory.deleteItems(batch);
      await steps.deleted();
      await steps.committed(batch);
    }
  }

  /**
   * Counts whichever entries of a batch that a killed run started but did not record are gone now (they
   * were there when listed, and only this account's purge or sweep deletes them).
   * @throws Error when the batch names a location none of `stores` serves
   */
  async settle(
    directory: PurgeDirectory,
    stores: readonly EventObjectStore[],
    accountId: string,
    counts: PurgeCounts,
    pending: PendingBatch,
  ): Promise<PurgeCounts> {
    if (pending.kind === 'directory') {
      const still = new Set((await directory.existingItems(pending.items)).map(itemKey));
      return addDirectoryCounts(
        counts,
        pending.items.filter((i) => !still.has(itemKey(i))),
      );
    }
    const store = stores.find((s) => s.location === pending.location);
    if (!store) throw new Error(`no event store is configured for location ${pending.location}`);
    const prefix = EVENT_OBJECTS.accountPrefix(accountId);
    const still = await presentVersions(store, prefix, pending.versions);
    return addObjectCounts(
      counts,
      pending.location,
      pending.versions.filter((v) => !still.has(versionKey(prefix + v[0], v[1]))),
    );
  }
}

function itemKey(item: { pk: string; sk: string }): string {
  return `${item.pk}\u0000${item.sk}`;
}
