/**
 * The listing of an account's object versions, written once for its three readers: the deletion loop
 * (`deletion.ts`), which lists the first page again after deleting each one; the dry run's tally; and the
 * check of which versions of an interrupted batch are still there. The last two follow the listing's
 * cursor.
 */
import { addObjectCounts, compareKeys, type PendingVersion, type PurgeCounts } from './model';
import { MAX_DELETE_BATCH, type EventObjectStore, type StoredVersion } from './ports';

/** How {@link versionPages} goes from one page to the next. */
export interface PageWalk {
  /**
   * Versions per page; at most {@link MAX_DELETE_BATCH}.
   * @default 1000
   */
  readonly limit?: number;
  /**
   * List the first page again after each one, until it comes back empty: for a caller that deletes each
   * page before it asks for the next. Everything before the first page is then gone, so no cursor (whose
   * marker version may itself be gone) is ever needed.
   * @default false: follow the listing's cursor to its last page
   */
  readonly restart?: boolean;
}

/** The versions and delete markers under `prefix` in one store, page by page, in key order. */
export async function* versionPages(
  store: EventObjectStore,
  prefix: string,
  walk: PageWalk = {},
): AsyncGenerator<readonly StoredVersion[]> {
  const limit = walk.limit ?? MAX_DELETE_BATCH;
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listVersions(prefix, { cursor, limit });
    if (walk.restart && page.versions.length === 0) return;
    yield page.versions;
    if (walk.restart) continue;
    if (!page.next) return;
    cursor = page.next;
  }
}

/** A listed version in the compact form of the counts and of a pending batch, under the key given. */
export function compactVersion(version: StoredVersion, key: string): PendingVersion {
  return [key, version.versionId, version.deleteMarker ? 1 : 0, version.size];
}

/** Identifies one version of one key, e.g. in a set of those deleted. */
export function versionKey(key: string, versionId: string): string {
  return `${key}\u0000${versionId}`;
}

/** Adds every version and delete marker under `prefix` in one store to `counts` (read-only, for previews). */
export async function tallyVersions(
  store: EventObjectStore,
  prefix: string,
  counts: PurgeCounts,
): Promise<PurgeCounts> {
  for await (const versions of versionPages(store, prefix)) {
    counts = addObjectCounts(
      counts,
      store.location,
      versions.map((v) => compactVersion(v, v.key)),
    );
  }
  return counts;
}

/**
 * Which of `versions` (keys relative to `prefix`) are still listed, as {@link versionKey}s of their full
 * keys; reads from the start of the prefix until past the last of them.
 */
export async function presentVersions(
  store: EventObjectStore,
  prefix: string,
  versions: readonly PendingVersion[],
): Promise<Set<string>> {
  const present = new Set<string>();
  if (versions.length === 0) return present;
  const lastKey = versions.map((v) => prefix + v[0]).reduce((a, b) => (compareKeys(a, b) >= 0 ? a : b));
  for await (const page of versionPages(store, prefix)) {
    for (const v of page) present.add(versionKey(v.key, v.versionId));
    const last = page[page.length - 1];
    // Listings are in key order: once past the last pending key, nothing further can be pending.
    if (!last || compareKeys(last.key, lastKey) > 0) break;
  }
  return present;
}
