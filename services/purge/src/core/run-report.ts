/**
 * The report of a run, built once for a scheduled run, a dry run and a deletion request alike: the
 * census of the accounts at its start, what happened to each purge and sweep, what a dry run would
 * delete, the accounts that cannot be judged, and the figures the run publishes as metrics
 * (`metrics.ts`).
 */
import { RETENTION } from '../../../../platform';
import { reportedDays, type Eligibility } from './eligibility';
import type { AccountState, PurgeStep } from './model';
import type { AccountPreview, SweepPreview } from './preview';
import type { WorkOutcome } from './progress-ledger';
import type { SweepOutcome, SweepStanding } from './sweep';

/**
 * What happened to one account's purge in a run: `purged` means receipt written and account marked;
 * `skipped`, that it was no longer eligible when claimed (reactivated in the meantime, say).
 */
export type AccountOutcome = WorkOutcome<'purged', PurgeStep>;

/** The figures a run publishes as metrics (see `metrics.ts`). */
export interface PurgeMetrics {
  /** Days since expiry of the oldest expired account not yet purged; 0 when there is none. */
  readonly oldestUnpurgedExpiredDays: number;
  /**
   * Expired accounts still unpurged past `expiredAt + 80 days`; purged accounts past that day whose sweep
   * is due and not done (one still unswept at its deadline always is); plus accounts that cannot be
   * judged (an unreadable or future expiry: they would never be purged, so a human must look). Above 0,
   * the alarm fires.
   */
  readonly overdueAccounts: number;
  /** Eligible accounts still unpurged after the run (the backlog). */
  readonly eligibleUnpurgedAccounts: number;
  /** Accounts this run finished (receipt written, marked purged). */
  readonly accountsPurged: number;
  /** Object versions of the accounts this run finished, over every run of their purge (their receipts' sum). */
  readonly objectVersionsDeleted: number;
  /** Delete markers, counted like {@link objectVersionsDeleted}. */
  readonly deleteMarkersDeleted: number;
  /** Accounts whose purge or sweep stopped on an error this run; the next run retries them. */
  readonly failedAccounts: number;
  /** The run stopped on its time budget (or a signal) with work left, purges or sweeps. */
  readonly incomplete: boolean;
}

/** The report of one run. */
export interface PurgeRunReport {
  readonly runId: string;
  readonly mode: 'run' | 'dry-run' | 'request';
  /** The instant eligibility was judged at (ISO-8601). */
  readonly now: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The accounts at the start of the run, by standing. */
  readonly census: Readonly<Record<Eligibility['kind'], number>>;
  readonly outcomes: readonly AccountOutcome[];
  /** Dry run only: what would go. */
  readonly previews: readonly AccountPreview[];
  /** Eligible accounts this run did not get to (time budget). */
  readonly notStarted: readonly string[];
  /** The sweeps of purged accounts this run did (or tried), see `sweep.ts`. */
  readonly sweeps: readonly SweepOutcome[];
  /** Dry run only: the sweeps that are due, with what they would delete. */
  readonly sweepPreviews: readonly SweepPreview[];
  /** Purged accounts whose due sweep this run did not get to (time budget). */
  readonly sweepsNotStarted: readonly string[];
  /**
   * Accounts that cannot be judged (for the purge, or for the sweep of a purged one), and why; never
   * touched, and counted in `overdueAccounts` so that the alarm calls a human.
   */
  readonly anomalies: readonly { readonly accountId: string; readonly problem: string }[];
  readonly metrics: PurgeMetrics;
}

/** One account as a run judges it at its start: for the purge, and for the sweep once purged. */
export interface JudgedAccount {
  readonly account: AccountState;
  readonly standing: Eligibility;
  readonly sweep: SweepStanding;
}

/** The lists of a report that say what a run did with each account. */
type RunLists = 'outcomes' | 'previews' | 'notStarted' | 'sweeps' | 'sweepPreviews' | 'sweepsNotStarted';

/** What a run did, for {@link buildRunReport}; a list the run left empty may be left out. */
export interface RunRecord extends Partial<Pick<PurgeRunReport, RunLists>> {
  readonly runId: string;
  readonly mode: PurgeRunReport['mode'];
  /** When the run started: the instant every account was judged at. */
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** Every account the run judged. */
  readonly judged: readonly JudgedAccount[];
}

/** The report of a run, with its census, anomalies and metrics. */
export function buildRunReport(run: RunRecord): PurgeRunReport {
  const { judged, outcomes = [], notStarted = [], sweeps = [], sweepsNotStarted = [] } = run;
  return {
    runId: run.runId,
    mode: run.mode,
    now: run.startedAt.toISOString(),
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    census: census(judged.map((j) => j.standing)),
    outcomes,
    previews: run.previews ?? [],
    notStarted,
    sweeps,
    sweepPreviews: run.sweepPreviews ?? [],
    sweepsNotStarted,
    anomalies: judged.flatMap((j) => {
      const problem =
        j.standing.kind === 'invalid' ? j.standing.problem : j.sweep.kind === 'invalid' && j.sweep.problem;
      return problem ? [{ accountId: j.account.accountId, problem }] : [];
    }),
    metrics: metricsOf(judged, run.startedAt.getTime(), { outcomes, notStarted, sweeps, sweepsNotStarted }),
  };
}

function census(standings: readonly Eligibility[]): Record<Eligibility['kind'], number> {
  const out: Record<Eligibility['kind'], number> = {
    active: 0,
    purged: 0,
    invalid: 0,
    waiting: 0,
    eligible: 0,
  };
  for (const s of standings) out[s.kind] += 1;
  return out;
}

function metricsOf(
  judged: readonly JudgedAccount[],
  nowMs: number,
  done: {
    readonly outcomes: readonly AccountOutcome[];
    readonly notStarted: readonly string[];
    readonly sweeps: readonly SweepOutcome[];
    readonly sweepsNotStarted: readonly string[];
  },
): PurgeMetrics {
  const { outcomes, sweeps } = done;
  const purged = new Set(outcomes.filter((o) => o.result === 'purged').map((o) => o.accountId));
  const swept = new Set(sweeps.filter((o) => o.result === 'swept').map((o) => o.accountId));
  let oldest = 0;
  let overdue = 0;
  let eligibleLeft = 0;
  for (const { account, standing: s, sweep } of judged) {
    if (s.kind === 'invalid' || sweep.kind === 'invalid') {
      overdue += 1;
      continue;
    }
    // Late data of a purged account must be gone by the deadline too: alarm as for a purge, from day 80.
    if (sweep.kind === 'due' && !swept.has(account.accountId) && nowMs >= sweep.alarmAtMs) overdue += 1;
    if ((s.kind !== 'eligible' && s.kind !== 'waiting') || purged.has(account.accountId)) continue;
    oldest = Math.max(oldest, s.ageDays);
    if (s.ageDays >= RETENTION.purgeAlarmAfterDays) overdue += 1;
    if (s.kind === 'eligible') eligibleLeft += 1;
  }
  let versions = 0;
  let markers = 0;
  for (const o of outcomes) {
    if (o.result !== 'purged' || !o.counts) continue;
    for (const c of Object.values(o.counts.objects)) {
      versions += c.versions;
      markers += c.deleteMarkers;
    }
  }
  return {
    oldestUnpurgedExpiredDays: reportedDays(oldest),
    overdueAccounts: overdue,
    eligibleUnpurgedAccounts: eligibleLeft,
    accountsPurged: purged.size,
    objectVersionsDeleted: versions,
    deleteMarkersDeleted: markers,
    failedAccounts: [...outcomes, ...sweeps].filter((o) => o.result === 'failed').length,
    incomplete:
      done.notStarted.length > 0 ||
      done.sweepsNotStarted.length > 0 ||
      [...outcomes, ...sweeps].some((o) => o.result === 'paused'),
  };
}
