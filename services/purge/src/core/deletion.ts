/**
 * What the purge and the sweep of a purged account share to delete an account's data resumably: the
 * version-listing and delete loop of one location (first page, prefix guard, batch recorded before the
 * delete call, per-key retries with back-off, counts recorded after it), directory items in bounded
 * batches, the settling of a batch a killed run left unrecorded, and the lease test.
 *
 * The caller persists its own progress between the steps of each batch (see {@link BatchSteps}), so one
 * loop serves both, each with its own record and checkpoints.
 */
import { EVENT_OBJECTS, parseIsoInstant } from '../../../../platform';
import { backoffMs } from '../../../shared/backoff';
import { DeleteFailure } from './errors';
import {
  addDirectoryCounts,
  addObjectCounts,
  compareKeys,
  type AccountState,
  type DeletionProgress,
  type DirectoryEntry,
  type PendingBatch,
  type PendingVersion,
  type PurgeCounts,
  type PurgeLease,
} from './model';
import {
  MAX_DELETE_BATCH,
  type EventObjectStore,
  type PurgeDirectory,
  type PurgeLogger,
  type VersionError,
  type VersionRef,
} from './ports';

/**
 * Directory items deleted per recorded batch. The batch is persisted on the account's record while it is
 * in flight, and a DynamoDB item holds at most 400 KB: an account with many conversion claims is deleted
 * in several batches rather than recorded in one that cannot be stored.
 */
export const DIRECTORY_BATCH = 1000;

/** One run as the purge and the sweep see it. */
export interface RunContext {
  readonly runId: string;
  /** How long a claim on an account lasts: the time budget plus a margin. */
  readonly leaseMs: number;
  /** The last state saved per account, so a failure mid-step can still release the lease. */
  readonly latest: Map<string, AccountState>;
  /** The time budget is used up (or the run was asked to stop): start no new batch. */
  outOfTime(): boolean;
}

/**
 * Whether another run holds the lease at `nowMs`. A lease whose end cannot be read is treated as lapsed:
 * the job writes it, so only a damaged record has one, and waiting on it would stall the account forever.
 */
export function leaseHeldByOther(lease: PurgeLease | undefined, runId: string, nowMs: number): boolean {
  if (!lease || lease.runId === runId) return false;
  return (parseIsoInstant(lease.until) ?? Number.NEGATIVE_INFINITY) > nowMs;
}

/**
 * The runs a receipt names: those up to the one that fixed the end (`finishedRunId`). A run that only
 * rewrote the receipt after a crash is not part of it, so the receipt stays identical.
 */
export function receiptRuns(
  progress: DeletionProgress,
  currentRunId: string,
): { readonly runId: string; readonly runIds: readonly string[] } {
  const runId = progress.finishedRunId ?? currentRunId;
  const upTo = progress.runIds.indexOf(runId);
  return { runId, runIds: upTo >= 0 ? progress.runIds.slice(0, upTo + 1) : progress.runIds };
}

/** What the caller does around each batch's delete call, persisting its progress and passing checkpoints. */
export interface BatchSteps<T> {
  /** Before the delete call: record the batch as pending. */
  pending(batch: readonly T[]): Promise<void>;
  /** Right after the delete call, before anything is recorded. */
  deleted(): Promise<void>;
  /** Record what is gone (the rest failed) and clear the pending batch. */
  committed(gone: readonly T[]): Promise<void>;
}

/** Settings of {@link BatchDeleter}. */
export interface BatchDeleterProps {
  /** Attempts per object version when a delete request reports per-key errors or fails as a whole. */
  readonly attempts: number;
  /** First back-off between attempts, doubled each time. */
  readonly retryBaseMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly logger: PurgeLogger;
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
    for (;;) {
      if (outOfTime()) return 'paused';
      // Always the first page: everything before it is already deleted, so no cursor (whose marker
      // version may itself be gone) is ever needed.
      const page = await store.listVersions(prefix, { limit: this.props.pageSize });
      if (page.versions.length === 0) return 'empty';
      const batch: PendingVersion[] = page.versions.slice(0, MAX_DELETE_BATCH).map((v) => {
        if (!v.key.startsWith(prefix)) {
          // A store that returned a key outside the prefix is broken; deleting it would touch another account.
          throw new Error(`${store.description} listed ${v.key} for prefix ${prefix}`);
        }
        return [v.key.slice(prefix.length), v.versionId, v.deleteMarker ? 1 : 0, v.size];
      });
      await steps.pending(batch);
      const result = await this.deleteWithRetries(
        store,
        batch.map(([key, version]) => ({ key: prefix + key, versionId: version })),
      );
      await steps.deleted();
      const gone = new Set(result.deleted.map((r) => versionId(r.key, r.versionId)));
      await steps.committed(batch.filter((v) => gone.has(versionId(prefix + v[0], v[1]))));
      if (result.failed.length > 0) throw new DeleteFailure(store.location, result.failed);
    }
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

  /** Adds every version and delete marker under `prefix` in one store to `counts` (read-only, for previews). */
  async tally(store: EventObjectStore, prefix: string, counts: PurgeCounts): Promise<PurgeCounts> {
    let cursor: string | undefined;
    do {
      const page = await store.listVersions(prefix, { cursor, limit: MAX_DELETE_BATCH });
      counts = addObjectCounts(
        counts,
        store.location,
        page.versions.map((v) => [v.key, v.versionId, v.deleteMarker ? 1 : 0, v.size] as const),
      );
      cursor = page.next;
    } while (cursor);
    return counts;
  }

  /**
   * Counts whichever entries of a batch that a killed run started but did not record are gone now (they
   * were there when listed, and only this account's purge or sweep deletes them).
   */
  async settle(
    directory: PurgeDirectory,
    storeOf: (location: string) => EventObjectStore,
    accountId: string,
    counts: PurgeCounts,
    pending: PendingBatch,
  ): Promise<PurgeCounts> {
    if (pending.kind === 'directory') {
      const still = new Set((await directory.existingItems(pending.items)).map(itemId));
      return addDirectoryCounts(
        counts,
        pending.items.filter((i) => !still.has(itemId(i))),
      );
    }
    const prefix = EVENT_OBJECTS.accountPrefix(accountId);
    const still = await this.presentVersions(storeOf(pending.location), prefix, pending.versions);
    return addObjectCounts(
      counts,
      pending.location,
      pending.versions.filter((v) => !still.has(versionId(prefix + v[0], v[1]))),
    );
  }

  /**
   * Sends one batch, then retries the versions that failed (per-key errors, or the whole request) with
   * exponential back-off. Resolves with what was deleted and what still failed after the last attempt.
   */
  async deleteWithRetries(
    store: EventObjectStore,
    refs: readonly VersionRef[],
  ): Promise<{ deleted: VersionRef[]; failed: VersionError[] }> {
    const { attempts, retryBaseMs, sleep, logger } = this.props;
    const deleted: VersionRef[] = [];
    let todo: readonly VersionRef[] = refs;
    let failed: VersionError[] = [];
    for (let attempt = 1; todo.length > 0 && attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(backoffMs(attempt - 1, { baseMs: retryBaseMs }));
      let outcome;
      try {
        outcome = await store.deleteVersions(todo);
      } catch (err) {
        const e = err as Error;
        failed = todo.map((r) => ({ ...r, code: e.name || 'Error', message: e.message }));
        logger.warn('delete request failed', { store: store.description, attempt, error: e.message });
        continue;
      }
      const done = new Set(outcome.deleted.map((r) => versionId(r.key, r.versionId)));
      const errors = new Map(outcome.errors.map((e) => [versionId(e.key, e.versionId), e]));
      for (const r of todo) if (done.has(versionId(r.key, r.versionId))) deleted.push(r);
      failed = todo
        .filter((r) => !done.has(versionId(r.key, r.versionId)))
        .map(
          (r) =>
            errors.get(versionId(r.key, r.versionId)) ?? {
              ...r,
              code: 'NoResult',
              message: 'the store reported neither success nor failure for this version',
            },
        );
      if (failed.length > 0) {
        logger.warn('some versions were not deleted', {
          store: store.description,
          attempt,
          failed: failed.length,
          codes: [...new Set(failed.map((f) => f.code))],
        });
      }
      todo = failed;
    }
    return { deleted, failed: todo.length > 0 ? failed : [] };
  }

  /** Which of `versions` are still listed; reads from the start of the prefix until past the last one. */
  private async presentVersions(
    store: EventObjectStore,
    prefix: string,
    versions: readonly PendingVersion[],
  ): Promise<Set<string>> {
    const present = new Set<string>();
    if (versions.length === 0) return present;
    const lastKey = versions.map((v) => prefix + v[0]).reduce((a, b) => (compareKeys(a, b) >= 0 ? a : b));
    let cursor: string | undefined;
    do {
      const page = await store.listVersions(prefix, { cursor, limit: MAX_DELETE_BATCH });
      for (const v of page.versions) present.add(versionId(v.key, v.versionId));
      const last = page.versions[page.versions.length - 1];
      // Listings are in key order: once past the last pending key, nothing further can be pending.
      if (!last || compareKeys(last.key, lastKey) > 0) break;
      cursor = page.next;
    } while (cursor);
    return present;
  }
}

function versionId(key: string, version: string): string {
  return `${key}\u0000${version}`;
}

function itemId(item: { pk: string; sk: string }): string {
  return `${item.pk}\u0000${item.sk}`;
}
