/**
 * The sweep of a purged account: events can reach the event store after the purge (a disk spool drained
 * late, the stream's buffer), so once `RETENTION.purgeSweepAfterDays` have passed after the purge, and
 * before the 90-day deadline, the job deletes any wrapped data key or conversion claim the data path
 * wrote meanwhile, empties the account's `account=<id>/` prefixes once more in every location, writes a
 * sweep receipt next to the purge's and records the sweep on the account, which is then never touched
 * again.
 *
 * The sweep keeps its progress on the account's record (`sweepProgress`) with the same lease, pending
 * batch and compare-and-set as the purge, through the same ledger (`progress-ledger.ts`) and the same
 * steps, so a run killed at any point is finished by the next with exact counts.
 *
 * Only accounts this job purged (with a purge id and receipt) are swept: a record marked purged by other
 * means has no purge for a sweep to complete and is left alone.
 */
import { ID_PATTERNS, parseIsoInstant } from '../../../../platform';
import { deleteDirectoryItems } from './directory-step';
import { sweepDates, type SweepDates } from './eligibility';
import type { AccountState, SweepProgress, SweepStep } from './model';
import { emptyEventStores } from './objects-step';
import type { ClaimRule, ProgressLedger, RunContext, StepPlan, WorkOutcome } from './progress-ledger';
import { buildSweepReceipt } from './receipt';
import { writeReceipt } from './receipt-step';

/** Where a purged account stands with respect to its sweep, at one instant. */
export type SweepStanding =
  /** Not an account this job purged (not purged, or marked purged by other means): no sweep. */
  | { readonly kind: 'none' }
  /** Swept already: never touched again. */
  | { readonly kind: 'swept' }
  /** Purged, but its dates (or id) cannot be read: reported and alarmed on, never touched. */
  | { readonly kind: 'invalid'; readonly problem: string }
  /** Purged; the sweep is not due yet. */
  | ({ readonly kind: 'waiting' } & SweepDates)
  /** Purged; the sweep is due (or under way). */
  | ({ readonly kind: 'due' } & SweepDates);

/** Judges a purged account's sweep at `nowMs`. */
export function sweepStanding(account: AccountState, nowMs: number): SweepStanding {
  if (account.status !== 'purged' || !account.purge) return { kind: 'none' };
  if (account.swept) return { kind: 'swept' };
  if (!ID_PATTERNS.account.test(account.accountId)) {
    // The id becomes an object prefix: never build one from an id of unexpected shape.
    return { kind: 'invalid', problem: 'purged account id does not have the acc_… format; not swept' };
  }
  const expiredAtMs = parseIsoInstant(account.expiredAt);
  const purgedAtMs = parseIsoInstant(account.purgedAt);
  if (expiredAtMs === undefined || purgedAtMs === undefined) {
    const [field, value] =
      expiredAtMs === undefined ? ['expiredAt', account.expiredAt] : ['purgedAt', account.purgedAt];
    return {
      kind: 'invalid',
      problem: `purged account's ${field} ${JSON.stringify(value)} is not an ISO-8601 instant: its sweep cannot be scheduled`,
    };
  }
  const dates = sweepDates(expiredAtMs, purgedAtMs);
  return account.sweepProgress || nowMs >= dates.dueAtMs
    ? { kind: 'due', ...dates }
    : { kind: 'waiting', ...dates };
}

/**
 * What happened to one purged account's sweep in a run: `swept` means sweep receipt written and sweep
 * recorded; `skipped`, that no sweep was due any more when claimed (another run finished it, say).
 */
export type SweepOutcome = WorkOutcome<'swept', SweepStep>;

/** Claims the purged account's sweep (lease), runs its remaining steps, and reports. */
export function sweepAccount(
  ledger: ProgressLedger<SweepProgress>,
  ctx: RunContext,
  accountId: string,
): Promise<SweepOutcome> {
  return ledger.work(ctx, accountId, SWEEP_CLAIM, SWEEP_PLAN);
}

/** A sweep is claimed only while due; it is named by the run that starts it. */
const SWEEP_CLAIM: ClaimRule<SweepProgress> = {
  refusal: (st, nowMs) => {
    const standing = sweepStanding(st, nowMs);
    if (standing.kind === 'due') return undefined;
    return `no sweep due (${standing.kind === 'invalid' ? standing.problem : standing.kind})`;
  },
  opening: (runId, shared) => ({ sweepId: runId, ...shared }),
};

const SWEEP_PLAN: StepPlan<SweepProgress, 'swept'> = {
  steps: {
    // Wrapped data keys first (what follows becomes unreadable), and conversion claims.
    directory: deleteDirectoryItems(
      (directory, accountId) => directory.listDataPathItems(accountId),
      'objects',
    ),
    // Every object version and delete marker that arrived under the prefix since the purge.
    objects: emptyEventStores('receipt'),
  },
  finish: writeReceipt({
    build: buildSweepReceipt,
    mark: (receipt, where) => ({
      kind: 'swept',
      sweptAt: receipt.finishedAt,
      sweepId: receipt.sweepId,
      receipt: where,
      counts: receipt.counts,
    }),
    done: 'swept',
  }),
};
