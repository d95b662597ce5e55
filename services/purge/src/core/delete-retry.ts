/**
 * The retry of one batch's deletion: the versions a delete request did not delete (per-key errors, or
 * the whole request failing) are sent again with exponential back-off, and those that still fail after
 * the last attempt are returned, never dropped, so the caller counts only what went and reports the rest.
 */
import { backoffMs } from '../../../shared/backoff';
import type { EventObjectStore, PurgeLogger, VersionError, VersionRef } from './ports';
import { versionKey } from './version-listing';

/** How often, and how patiently, a batch's deletion is retried. */
export interface RetryPolicy {
  /** Attempts per object version when a delete request reports per-key errors or fails as a whole. */
  readonly attempts: number;
  /** First back-off between attempts, doubled each time. */
  readonly retryBaseMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Where each failed attempt is reported. */
  readonly logger: PurgeLogger;
}

/** What a retried deletion came to. */
export interface RetriedDeletion {
  readonly deleted: VersionRef[];
  /** The versions still there after the last attempt, with the store's last error for each. */
  readonly failed: VersionError[];
}

/** Sends one batch to `store`, then retries the versions that failed as `policy` says. */
export async function deleteWithRetries(
  store: EventObjectStore,
  refs: readonly VersionRef[],
  policy: RetryPolicy,
): Promise<RetriedDeletion> {
  const { attempts, retryBaseMs, sleep, logger } = policy;
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
    const done = new Set(outcome.deleted.map((r) => versionKey(r.key, r.versionId)));
    const errors = new Map(outcome.errors.map((e) => [versionKey(e.key, e.versionId), e]));
    for (const r of todo) if (done.has(versionKey(r.key, r.versionId))) deleted.push(r);
    failed = todo
      .filter((r) => !done.has(versionKey(r.key, r.versionId)))
      .map(
        (r) =>
          errors.get(versionKey(r.key, r.versionId)) ?? {
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
