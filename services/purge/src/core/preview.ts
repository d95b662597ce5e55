/**
 * The dry run's look at one account: what its purge, or the sweep of a purged one, would delete now.
 * Read-only: it lists the directory and the event stores and changes nothing.
 */
import { EVENT_OBJECTS } from '../../../../platform';
import { DAY_MS, reportedDays, type Eligibility } from './eligibility';
import {
  addDirectoryCounts,
  emptyCounts,
  type AccountState,
  type DirectoryEntry,
  type PurgeCounts,
  type PurgeStep,
  type SweepStep,
} from './model';
import type { EventObjectStore, PurgeDirectory } from './ports';
import type { SweepStanding } from './sweep';
import { tallyVersions } from './version-listing';

/** What a dry run found for one eligible account. */
export interface AccountPreview {
  readonly accountId: string;
  readonly expiredAt: string;
  readonly eligibleAt: string;
  readonly deadline: string;
  readonly ageDays: number;
  /** Past `expiredAt + 80 days`: the alarm is firing for it. */
  readonly overdue: boolean;
  /** A purge already under way, with its step. */
  readonly inProgress?: { readonly purgeId: string; readonly step: PurgeStep };
  /** What would be deleted. */
  readonly counts: PurgeCounts;
}

/** What a dry run found for one purged account whose sweep is due. */
export interface SweepPreview {
  readonly accountId: string;
  /** The purge the sweep completes. */
  readonly purgeId: string;
  readonly purgedAt: string;
  readonly dueAt: string;
  readonly deadline: string;
  /** Past `expiredAt + 80 days`: unswept, it is counted in the alarm's metric. */
  readonly overdue: boolean;
  /** A sweep already under way, with its step. */
  readonly inProgress?: { readonly sweepId: string; readonly step: SweepStep };
  /** What would be deleted now. */
  readonly counts: PurgeCounts;
}

/** Where a preview looks. */
export interface PreviewSources {
  readonly directory: PurgeDirectory;
  /** One event store per location. */
  readonly stores: readonly EventObjectStore[];
}

/** What a purge of the account would delete now. */
export async function previewPurge(
  from: PreviewSources,
  account: AccountState,
  standing: Extract<Eligibility, { kind: 'eligible' | 'waiting' }>,
  nowMs: number,
): Promise<AccountPreview> {
  // Every item the account owns, its data keys included.
  const items = await from.directory.listOwnedItems(account.accountId);
  const counts = await wouldGo(from, account.accountId, items);
  const p = account.progress;
  return {
    accountId: account.accountId,
    expiredAt: new Date(standing.expiredAtMs).toISOString(),
    eligibleAt: new Date(standing.eligibleAtMs).toISOString(),
    deadline: new Date(standing.deadlineMs).toISOString(),
    ageDays: reportedDays((nowMs - standing.expiredAtMs) / DAY_MS),
    overdue: nowMs >= standing.alarmAtMs,
    ...(p ? { inProgress: { purgeId: p.purgeId, step: p.step } } : {}),
    counts,
  };
}

/** What the sweep of a purged account would delete now. */
export async function previewSweep(
  from: PreviewSources,
  account: AccountState,
  standing: Extract<SweepStanding, { kind: 'due' }>,
  nowMs: number,
): Promise<SweepPreview> {
  const items = await from.directory.listDataPathItems(account.accountId);
  const counts = await wouldGo(from, account.accountId, items);
  const p = account.sweepProgress;
  return {
    accountId: account.accountId,
    purgeId: account.purge?.purgeId ?? '',
    purgedAt: new Date(standing.purgedAtMs).toISOString(),
    dueAt: new Date(standing.dueAtMs).toISOString(),
    deadline: new Date(standing.deadlineMs).toISOString(),
    overdue: nowMs >= standing.alarmAtMs,
    ...(p ? { inProgress: { sweepId: p.sweepId, step: p.step } } : {}),
    counts,
  };
}

/** The directory items given, and every version under the account's prefix in every location. */
async function wouldGo(
  from: PreviewSources,
  accountId: string,
  items: readonly DirectoryEntry[],
): Promise<PurgeCounts> {
  let counts = addDirectoryCounts(emptyCounts(from.stores.map((s) => s.location)), items);
  for (const store of from.stores)
    counts = await tallyVersions(store, EVENT_OBJECTS.accountPrefix(accountId), counts);
  return counts;
}
