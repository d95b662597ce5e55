/**
 * The purge job (DESIGN §7): deletes every byte of an expired account between 45 and 90 days after its
 * expiry, and leaves a receipt.
 *
 * Per account, in order: crypto-shred (delete its wrapped data keys, so its ciphertext everywhere is
 * unreadable at once) → every object version and delete marker under `account=<id>/` in every location →
 * its other directory items (campaigns, API keys, conversion claims) → the receipt → the account marked
 * purged. A day later the account's prefixes are swept once more for data that arrived late (`sweep.ts`).
 *
 * Resumable and idempotent: the progress (step, counts, pending batch, lease) lives on the account's own
 * directory record and is written by compare-and-set, before and after every deletion. A run killed at any
 * point leaves a record the next run continues from; a batch whose outcome was not recorded is settled by
 * looking at which of its entries are gone, so nothing is counted twice or missed. A lease keeps two runs
 * (say, two regions' schedules) off the same account; a killed run's lease lapses after the time budget
 * plus a margin.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EVENT_OBJECTS, ID_PATTERNS, RETENTION } from '../../../../platform';
import { BatchDeleter, leaseHeldByOther, receiptRuns, type RunContext } from './deletion';
import { DAY_MS, eligibility, type Eligibility } from './eligibility';
import { DeleteFailure, HookAbort, PurgeConflict, PurgeRequestError } from './errors';
import {
  addDirectoryCounts,
  addObjectCounts,
  emptyCounts,
  type AccountState,
  type PurgeCounts,
  type PurgeProgress,
  type PurgeStep,
  type PurgeTrigger,
} from './model';
import { buildReceipt, reasonProblem } from './receipt';
import {
  MAX_DELETE_BATCH,
  silentLogger,
  type CheckpointName,
  type EventObjectStore,
  type PurgeDirectory,
  type PurgeHooks,
  type PublishedConfigStore,
  type PurgeLogger,
  type ReceiptStore,
  type VersionError,
} from './ports';
import { PurgeSweep, sweepStanding, type SweepOutcome, type SweepPreview, type SweepStanding } from './sweep';

/** Default time budget of one run. */
export const DEFAULT_TIME_BUDGET_MS = 10 * 60_000;
/**
 * A deletion request is refused until this long after expiry: the ingest service may accept hits for up
 * to 60 s after expiry (its status cache) and Firehose buffers them for up to 15 minutes, so data can
 * still be arriving. Purging before then could leave late objects behind.
 */
export const REQUEST_SETTLE_MS = 20 * 60_000;

/** Options of {@link PurgeJob}. */
export interface PurgeJobProps {
  /** The directory of accounts, keys and campaigns. */
  readonly directory: PurgeDirectory;
  /** One event store per location; every one is searched for every account. */
  readonly objectStores: readonly EventObjectStore[];
  /** Where receipts go. */
  readonly receipts: ReceiptStore;
  /**
   * Where campaign config documents are published for the CDN, if this job is to remove each purged
   * account's (its `config/<accountId>/` prefix) with its campaigns.
   * @default none
   */
  readonly publishedConfigs?: PublishedConfigStore;
  /**
   * The clock for eligibility, leases and timestamps.
   * @default () => new Date()
   */
  readonly now?: () => Date;
  /**
   * A monotonic clock in milliseconds for the time budget.
   * @default performance.now
   */
  readonly elapsedMs?: () => number;
  /**
   * Observes checkpoints; a hook that throws aborts the run like a kill (see {@link PurgeHooks}).
   * @default no hooks
   */
  readonly hooks?: PurgeHooks;
  /** @default silent */
  readonly logger?: PurgeLogger;
  /**
   * Attempts per object version when a delete request reports per-key errors or fails as a whole
   * (purges and sweeps alike).
   * @default 4
   */
  readonly deleteAttempts?: number;
  /**
   * First back-off between attempts, doubled each time.
   * @default 200
   */
  readonly retryBaseMs?: number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Versions listed (and so deleted) per request; at most 1,000.
   * @default 1000
   */
  readonly pageSize?: number;
  /**
   * How long past its time budget a run keeps its claim on an account, so that a batch in flight at the
   * deadline can finish; a killed run's accounts are free again after budget plus this.
   * @default 5 minutes
   */
  readonly leaseMarginMs?: number;
  /** @default `run_<UTC time>_<random>` */
  readonly newRunId?: () => string;
}

/** Options of one run. */
export interface RunOptions {
  /**
   * List what would go, with counts, and change nothing.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * No new batch or account is started once this much time has passed; what is left continues next run.
   * @default 10 minutes
   */
  readonly timeBudgetMs?: number;
  /** Stops the run as the budget would (between batches), e.g. on SIGINT. */
  readonly signal?: AbortSignal;
}

/** What happened to one account in a run. */
export interface AccountOutcome {
  readonly accountId: string;
  /**
   * `purged`: done, receipt written. `paused`: the time budget ran out; the next run continues.
   * `busy`: another run holds it. `failed`: an error stopped it; the next run retries. `skipped`: it was
   * no longer eligible when claimed (reactivated in the meantime, say).
   */
  readonly result: 'purged' | 'paused' | 'busy' | 'failed' | 'skipped';
  /** The step it stopped at (all but `purged`). */
  readonly step?: PurgeStep;
  /** Counts so far (for `purged`: the receipt's). */
  readonly counts?: PurgeCounts;
  /** Where the receipt is. */
  readonly receipt?: string;
  readonly message?: string;
  /** Object versions that could not be deleted (at most 20 shown). */
  readonly errors?: readonly VersionError[];
  /** For `busy`: when the other run's lease lapses. */
  readonly busyUntil?: string;
}

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

type Claim = { readonly state: AccountState } | { readonly outcome: AccountOutcome };

/** One account as a run judges it at its start: for the purge, and for the sweep once purged. */
interface Judged {
  readonly account: AccountState;
  readonly standing: Eligibility;
  readonly sweep: SweepStanding;
}

/** Work of a run, in the order of the deadlines it is held to. */
type Work =
  | { readonly kind: 'purge'; readonly account: AccountState; readonly standing: EligibleStanding }
  | {
      readonly kind: 'sweep';
      readonly account: AccountState;
      readonly standing: Extract<SweepStanding, { kind: 'due' }>;
    };

type EligibleStanding = Extract<Eligibility, { kind: 'eligible' }>;

/** The purge job. One instance may serve many runs; runs may overlap (each claims accounts by lease). */
export class PurgeJob {
  private readonly directory: PurgeDirectory;
  private readonly stores: readonly EventObjectStore[];
  private readonly receipts: ReceiptStore;
  private readonly publishedConfigs: PublishedConfigStore | undefined;
  private readonly now: () => Date;
  private readonly elapsedMs: () => number;
  private readonly hooks: PurgeHooks;
  private readonly logger: PurgeLogger;
  private readonly deleter: BatchDeleter;
  private readonly sweeper: PurgeSweep;
  private readonly leaseMarginMs: number;
  private readonly newRunId: () => string;

  /** @throws RangeError when a store is given twice for a location or a bound is out of range */
  constructor(props: PurgeJobProps) {
    const locations = props.objectStores.map((s) => s.location);
    if (new Set(locations).size !== locations.length) {
      throw new RangeError(`one event store per location, got ${locations.join(', ')}`);
    }
    const pageSize = props.pageSize ?? MAX_DELETE_BATCH;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_DELETE_BATCH) {
      throw new RangeError(`pageSize must be 1 to ${MAX_DELETE_BATCH}, got ${pageSize}`);
    }
    const attempts = props.deleteAttempts ?? 4;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new RangeError(`deleteAttempts must be a positive integer, got ${attempts}`);
    }
    this.directory = props.directory;
    this.stores = props.objectStores;
    this.receipts = props.receipts;
    this.publishedConfigs = props.publishedConfigs;
    this.now = props.now ?? (() => new Date());
    this.elapsedMs = props.elapsedMs ?? (() => performance.now());
    this.hooks = props.hooks ?? {};
    this.logger = props.logger ?? silentLogger;
    this.deleter = new BatchDeleter({
      attempts,
      retryBaseMs: props.retryBaseMs ?? 200,
      sleep: props.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      logger: this.logger,
      pageSize,
    });
    this.sweeper = new PurgeSweep({
      directory: this.directory,
      stores: this.stores,
      receipts: this.receipts,
      ...(this.publishedConfigs ? { publishedConfigs: this.publishedConfigs } : {}),
      deleter: this.deleter,
      now: this.now,
      logger: this.logger,
      checkpoint: (name, accountId, runId, location) => this.checkpoint(name, accountId, runId, location),
    });
    this.leaseMarginMs = props.leaseMarginMs ?? 5 * 60_000;
    this.newRunId = props.newRunId ?? (() => newRunId(this.now()));
  }

  /** The locations this job searches. */
  get locations(): string[] {
    return this.stores.map((s) => s.location);
  }

  /**
   * A scheduled run: purges every eligible account and sweeps every purged account whose sweep is due,
   * earliest deadline first, within the time budget; or with `dryRun`, lists what would go and changes
   * nothing. Per-account failures are reported, not thrown.
   * @throws whatever a hook throws (a simulated kill), and errors listing the accounts
   */
  async run(options: RunOptions = {}): Promise<PurgeRunReport> {
    const startedAt = this.now();
    const nowMs = startedAt.getTime();
    const runId = this.newRunId();
    const ctx = this.context(runId, options);
    const accounts = await this.directory.listAccounts();
    const judged: Judged[] = accounts.map((a) => ({
      account: a,
      standing: eligibility(a, nowMs),
      sweep: sweepStanding(a, nowMs),
    }));
    // A purge and a sweep are held to the same deadline (expiry + 90 days): one queue, earliest first.
    const work: Work[] = judged
      .flatMap((j): Work[] =>
        j.standing.kind === 'eligible'
          ? [{ kind: 'purge', account: j.account, standing: j.standing }]
          : j.sweep.kind === 'due'
            ? [{ kind: 'sweep', account: j.account, standing: j.sweep }]
            : [],
      )
      .sort((a, b) => a.standing.deadlineMs - b.standing.deadlineMs);
    this.logger.info('purge run started', {
      runId,
      dryRun: options.dryRun === true,
      accounts: accounts.length,
      eligible: work.filter((w) => w.kind === 'purge').length,
      sweepsDue: work.filter((w) => w.kind === 'sweep').length,
    });

    const outcomes: AccountOutcome[] = [];
    const previews: AccountPreview[] = [];
    const notStarted: string[] = [];
    const sweeps: SweepOutcome[] = [];
    const sweepPreviews: SweepPreview[] = [];
    const sweepsNotStarted: string[] = [];
    try {
      for (const w of work) {
        const accountId = w.account.accountId;
        if (options.dryRun) {
          if (w.kind === 'purge') previews.push(await this.preview(w.account, w.standing, nowMs));
          else sweepPreviews.push(await this.sweeper.preview(w.account, w.standing, nowMs));
        } else if (ctx.outOfTime()) {
          (w.kind === 'purge' ? notStarted : sweepsNotStarted).push(accountId);
        } else if (w.kind === 'purge') {
          const outcome = await this.purgeAccount(ctx, accountId, 'schedule', undefined);
          outcomes.push(outcome);
          this.logOutcome(runId, outcome);
        } else {
          const outcome = await this.sweeper.sweep(ctx, accountId);
          sweeps.push(outcome);
          this.logOutcome(runId, outcome, 'sweep');
        }
      }
    } catch (err) {
      throw err instanceof HookAbort ? err.original : err;
    }

    const report: PurgeRunReport = {
      runId,
      mode: options.dryRun ? 'dry-run' : 'run',
      now: startedAt.toISOString(),
      startedAt: startedAt.toISOString(),
      finishedAt: this.now().toISOString(),
      census: census(judged.map((j) => j.standing)),
      outcomes,
      previews,
      notStarted,
      sweeps,
      sweepPreviews,
      sweepsNotStarted,
      anomalies: judged.flatMap((j) => {
        const problem =
          j.standing.kind === 'invalid' ? j.standing.problem : j.sweep.kind === 'invalid' && j.sweep.problem;
        return problem ? [{ accountId: j.account.accountId, problem }] : [];
      }),
      metrics: metricsOf(judged, nowMs, { outcomes, notStarted, sweeps, sweepsNotStarted }),
    };
    this.logger.info('purge run finished', { runId, ...report.metrics });
    return report;
  }

  /**
   * A customer's deletion request: purges one expired account now, without waiting for day 45, with the
   * same steps and receipt (which records `reason`). An active account is refused: it must be expired
   * first, so that no new data arrives while and after it is purged.
   * @throws PurgeRequestError, having changed nothing, for a malformed or unknown account id, an active
   *   account, one expired less than 20 minutes ago, or an unacceptable reason
   */
  async purgeNow(accountId: string, reason: string, options: RunOptions = {}): Promise<PurgeRunReport> {
    const startedAt = this.now();
    const nowMs = startedAt.getTime();
    const problem = reasonProblem(reason);
    if (problem) throw new PurgeRequestError('invalid-reason', problem);
    const account = await this.checkRequest(accountId, nowMs);
    const runId = this.newRunId();
    const ctx = this.context(runId, options);
    const standing = eligibility(account, nowMs);
    const judged: Judged = { account, standing, sweep: { kind: 'none' } };
    const outcomes: AccountOutcome[] = [];
    const previews: AccountPreview[] = [];
    try {
      if (account.status === 'purged') {
        outcomes.push({
          accountId,
          result: 'skipped',
          receipt: account.purge?.receipt,
          message: `already purged at ${account.purgedAt ?? 'an unknown time'}`,
        });
      } else if (options.dryRun) {
        previews.push(
          // checkRequest let through only expired accounts with a valid expiry: eligible or waiting.
          await this.preview(
            account,
            standing as Extract<Eligibility, { kind: 'eligible' | 'waiting' }>,
            nowMs,
          ),
        );
      } else {
        const outcome = await this.purgeAccount(ctx, accountId, 'request', reason.trim());
        outcomes.push(outcome);
        this.logOutcome(runId, outcome);
      }
    } catch (err) {
      throw err instanceof HookAbort ? err.original : err;
    }
    return {
      runId,
      mode: options.dryRun ? 'dry-run' : 'request',
      now: startedAt.toISOString(),
      startedAt: startedAt.toISOString(),
      finishedAt: this.now().toISOString(),
      census: census([standing]),
      outcomes,
      previews,
      notStarted: [],
      sweeps: [],
      sweepPreviews: [],
      sweepsNotStarted: [],
      anomalies: [],
      metrics: metricsOf([judged], nowMs, { outcomes, notStarted: [], sweeps: [], sweepsNotStarted: [] }),
    };
  }

  private async checkRequest(accountId: string, nowMs: number): Promise<AccountState> {
    if (!ID_PATTERNS.account.test(accountId)) {
      throw new PurgeRequestError(
        'invalid-account-id',
        `"${accountId}" is not an account id (acc_ followed by 8 to 32 lowercase letters or digits)`,
      );
    }
    const account = await this.directory.getAccount(accountId);
    if (!account) {
      throw new PurgeRequestError(
        'unknown-account',
        `account ${accountId} does not exist in ${this.directory.description}`,
      );
    }
    if (account.status === 'active') {
      throw new PurgeRequestError(
        'active-account',
        `account ${accountId} is active: expire it first (so no new data arrives), then purge it`,
      );
    }
    if (account.status === 'expired') {
      const standing = eligibility(account, nowMs);
      if (standing.kind === 'invalid') {
        throw new PurgeRequestError(
          'invalid-expiry',
          `account ${accountId} is expired but cannot be judged: ${standing.problem}; fix the record first`,
        );
      }
      const expiredAtMs = 'expiredAtMs' in standing ? standing.expiredAtMs : Number.NaN;
      if (nowMs < expiredAtMs + REQUEST_SETTLE_MS) {
        throw new PurgeRequestError(
          'too-recently-expired',
          `account ${accountId} expired less than ${REQUEST_SETTLE_MS / 60_000} minutes ago and events may still be in flight; retry after ${new Date(expiredAtMs + REQUEST_SETTLE_MS).toISOString()}`,
        );
      }
    }
    return account;
  }

  private context(runId: string, options: RunOptions): RunContext {
    const budget = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
    if (!Number.isFinite(budget) || budget < 0)
      throw new RangeError(`timeBudgetMs must be ≥ 0, got ${budget}`);
    const deadline = this.elapsedMs() + budget;
    return {
      runId,
      leaseMs: budget + this.leaseMarginMs,
      latest: new Map(),
      outOfTime: () => options.signal?.aborted === true || this.elapsedMs() >= deadline,
    };
  }

  private async checkpoint(name: CheckpointName, accountId: string, runId: string, location?: string) {
    if (!this.hooks.checkpoint) return;
    try {
      await this.hooks.checkpoint({ name, accountId, runId, ...(location ? { location } : {}) });
    } catch (err) {
      throw new HookAbort(err);
    }
  }

  /** Claims the account (lease), runs its remaining steps, and reports. */
  private async purgeAccount(
    ctx: RunContext,
    accountId: string,
    trigger: PurgeTrigger,
    reason: string | undefined,
  ): Promise<AccountOutcome> {
    let st: AccountState | undefined;
    try {
      const claim = await this.claim(ctx, accountId, trigger, reason);
      if ('outcome' in claim) return claim.outcome;
      st = claim.state;
      await this.checkpoint('claimed', accountId, ctx.runId);
      st = await this.settlePending(ctx, st);
      for (;;) {
        const p = progressOf(st);
        if (p.step === 'receipt') return await this.finish(ctx, st);
        if (ctx.outOfTime()) return await this.pause(ctx, st);
        if (p.step === 'shred') st = await this.shred(ctx, st);
        else if (p.step === 'objects') {
          const r = await this.purgeObjects(ctx, st);
          st = r.state;
          if (r.paused) return await this.pause(ctx, st);
        } else st = await this.purgeDirectory(ctx, st);
      }
    } catch (err) {
      if (err instanceof HookAbort) throw err;
      st = ctx.latest.get(accountId) ?? st;
      const p = st?.progress;
      // After a lost compare-and-set the record is someone else's: leave it alone.
      if (st && !(err instanceof PurgeConflict)) await this.release(ctx, st).catch(() => undefined);
      return {
        accountId,
        result: 'failed',
        step: p?.step,
        counts: p?.counts,
        message: (err as Error).message,
        ...(err instanceof DeleteFailure ? { errors: err.errors.slice(0, 20) } : {}),
      };
    }
  }

  private async claim(
    ctx: RunContext,
    accountId: string,
    trigger: PurgeTrigger,
    reason: string | undefined,
  ): Promise<Claim> {
    // Two rounds: a lost compare-and-set is re-judged on a fresh read (it may be another run's claim).
    for (let round = 0; round < 2; round++) {
      const st = await this.directory.getAccount(accountId);
      const nowMs = this.now().getTime();
      if (!st) return { outcome: { accountId, result: 'skipped', message: 'the account no longer exists' } };
      const standing = eligibility(st, nowMs);
      const allowed = trigger === 'request' ? st.status === 'expired' : standing.kind === 'eligible';
      if (!allowed) {
        return {
          outcome: {
            accountId,
            result: 'skipped',
            message: `no longer eligible (status ${st.status}${standing.kind === 'invalid' ? `: ${standing.problem}` : ''})`,
          },
        };
      }
      const p = st.progress;
      if (p && leaseHeldByOther(p.lease, ctx.runId, nowMs)) {
        return {
          outcome: {
            accountId,
            result: 'busy',
            step: p.step,
            busyUntil: p.lease.until,
            message: `run ${p.lease.runId} holds it until ${p.lease.until}`,
          },
        };
      }
      const lease = { runId: ctx.runId, until: new Date(nowMs + ctx.leaseMs).toISOString() };
      const progress: PurgeProgress = p
        ? {
            ...p,
            runIds: p.runIds.includes(ctx.runId) ? p.runIds : [...p.runIds, ctx.runId],
            lease,
            // A deletion request joining a scheduled purge in flight still gets its reason on the receipt.
            trigger: trigger === 'request' ? 'request' : p.trigger,
            ...(p.reason === undefined && reason !== undefined ? { reason } : {}),
          }
        : {
            purgeId: ctx.runId,
            trigger,
            ...(reason !== undefined ? { reason } : {}),
            startedAt: new Date(nowMs).toISOString(),
            runIds: [ctx.runId],
            step: 'shred',
            locationsDone: [],
            counts: emptyCounts(this.locations),
            lease,
          };
      const saved = await this.directory.saveAccount(st, { kind: 'progress', progress });
      if (saved) {
        ctx.latest.set(accountId, saved);
        return { state: saved };
      }
    }
    return {
      outcome: { accountId, result: 'busy', message: 'its record kept changing while being claimed' },
    };
  }

  /** Saves new progress (renewing the lease) by compare-and-set; a lost race stops this account. */
  private async save(ctx: RunContext, st: AccountState, progress: PurgeProgress): Promise<AccountState> {
    const lease = { runId: ctx.runId, until: new Date(this.now().getTime() + ctx.leaseMs).toISOString() };
    const saved = await this.directory.saveAccount(st, {
      kind: 'progress',
      progress: { ...progress, lease },
    });
    if (!saved) throw new PurgeConflict(st.accountId);
    ctx.latest.set(saved.accountId, saved);
    return saved;
  }

  /** Gives the account back (lease lapsed now) so that the next run need not wait. */
  private async release(ctx: RunContext, st: AccountState): Promise<void> {
    const p = st.progress;
    if (!p || p.lease.runId !== ctx.runId) return;
    await this.directory.saveAccount(st, {
      kind: 'progress',
      progress: { ...p, lease: { runId: ctx.runId, until: this.now().toISOString() } },
    });
  }

  private async pause(ctx: RunContext, st: AccountState): Promise<AccountOutcome> {
    await this.release(ctx, st);
    const p = progressOf(st);
    return {
      accountId: st.accountId,
      result: 'paused',
      step: p.step,
      counts: p.counts,
      message: 'time budget used up; the next run continues from here',
    };
  }

  /**
   * Settles a batch whose deletion a killed run started but did not record: whatever of it is gone now
   * is counted (it was there when listed, and only this purge deletes it).
   */
  private async settlePending(ctx: RunContext, st: AccountState): Promise<AccountState> {
    const p = progressOf(st);
    if (!p.pending) return st;
    const counts = await this.deleter.settle(
      this.directory,
      (location) => this.storeOf(location),
      st.accountId,
      p.counts,
      p.pending,
    );
    this.logger.info('settled an unrecorded batch of an interrupted run', {
      accountId: st.accountId,
      kind: p.pending.kind,
    });
    return this.save(ctx, st, { ...p, counts, pending: undefined });
  }

  /** Step 1: crypto-shred. Once the wrapped data keys are gone, every copy of the ciphertext is noise. */
  private async shred(ctx: RunContext, st: AccountState): Promise<AccountState> {
    const keys = await this.directory.listDataKeys(st.accountId);
    let p = progressOf(st);
    if (keys.length > 0) {
      st = await this.save(ctx, st, { ...p, pending: { kind: 'directory', items: keys } });
      await this.checkpoint('shred:pending', st.accountId, ctx.runId);
      await this.directory.deleteItems(keys);
      await this.checkpoint('shred:deleted', st.accountId, ctx.runId);
      p = progressOf(st);
      st = await this.save(ctx, st, {
        ...p,
        counts: addDirectoryCounts(p.counts, keys),
        pending: undefined,
        step: 'objects',
      });
    } else {
      st = await this.save(ctx, st, { ...p, step: 'objects' });
    }
    this.logger.info('data keys shredded', { accountId: st.accountId, dataKeys: keys.length });
    await this.checkpoint('shred:done', st.accountId, ctx.runId);
    return st;
  }

  /** Step 2: every object version and delete marker under the account's prefix, location by location. */
  private async purgeObjects(
    ctx: RunContext,
    st: AccountState,
  ): Promise<{ state: AccountState; paused: boolean }> {
    const accountId = st.accountId;
    const runId = ctx.runId;
    for (const store of this.stores) {
      const location = store.location;
      if (progressOf(st).locationsDone.includes(location)) continue;
      const drained = await this.deleter.drainPrefix(
        store,
        EVENT_OBJECTS.accountPrefix(accountId),
        () => ctx.outOfTime(),
        {
          pending: async (versions) => {
            st = await this.save(ctx, st, {
              ...progressOf(st),
              pending: { kind: 'objects', location, versions },
            });
            await this.checkpoint('objects:pending', accountId, runId, location);
          },
          deleted: () => this.checkpoint('objects:deleted', accountId, runId, location),
          committed: async (gone) => {
            const p = progressOf(st);
            st = await this.save(ctx, st, {
              ...p,
              counts: addObjectCounts(p.counts, location, gone),
              pending: undefined,
            });
            await this.checkpoint('objects:committed', accountId, runId, location);
          },
        },
      );
      if (drained === 'paused') return { state: st, paused: true };
      const p = progressOf(st);
      st = await this.save(ctx, st, { ...p, locationsDone: [...p.locationsDone, location] });
      await this.checkpoint('objects:location-done', accountId, runId, location);
    }
    st = await this.save(ctx, st, { ...progressOf(st), step: 'directory' });
    await this.checkpoint('objects:done', accountId, runId);
    return { state: st, paused: false };
  }

  /**
   * Step 3: the account's other directory items (campaigns, API keys, conversion claims, any data key
   * created since step 1), in bounded batches, and its published campaign configs.
   */
  private async purgeDirectory(ctx: RunContext, st: AccountState): Promise<AccountState> {
    const accountId = st.accountId;
    const items = await this.directory.listOwnedItems(accountId);
    // Before the campaign items, as the documents are derived from them.
    await this.publishedConfigs?.removeAccount(accountId);
    await this.deleter.deleteEntries(this.directory, items, {
      pending: async (batch) => {
        st = await this.save(ctx, st, { ...progressOf(st), pending: { kind: 'directory', items: batch } });
        await this.checkpoint('directory:pending', accountId, ctx.runId);
      },
      deleted: () => this.checkpoint('directory:deleted', accountId, ctx.runId),
      committed: async (gone) => {
        const p = progressOf(st);
        st = await this.save(ctx, st, {
          ...p,
          counts: addDirectoryCounts(p.counts, gone),
          pending: undefined,
        });
      },
    });
    st = await this.save(ctx, st, { ...progressOf(st), step: 'receipt' });
    await this.checkpoint('directory:done', accountId, ctx.runId);
    return st;
  }

  /** Step 4: the receipt, then the account marked purged (its personal fields dropped). */
  private async finish(ctx: RunContext, st: AccountState): Promise<AccountOutcome> {
    let p = progressOf(st);
    if (!p.finishedAt) {
      st = await this.save(ctx, st, {
        ...p,
        finishedAt: this.now().toISOString(),
        finishedRunId: ctx.runId,
        finishedStores: {
          directory: this.directory.description,
          objects: Object.fromEntries(this.stores.map((s) => [s.location, s.description])),
        },
      });
      p = progressOf(st);
      await this.checkpoint('receipt:prepared', st.accountId, ctx.runId);
    }
    const { runId, runIds } = receiptRuns(p, ctx.runId);
    const receipt = buildReceipt({
      account: st,
      progress: { ...p, runIds },
      runId,
      directory: p.finishedStores?.directory ?? this.directory.description,
      objectStores:
        p.finishedStores?.objects ?? Object.fromEntries(this.stores.map((s) => [s.location, s.description])),
    });
    const where = await this.receipts.write(receipt);
    await this.checkpoint('receipt:written', st.accountId, ctx.runId);
    const marked = await this.directory.saveAccount(st, {
      kind: 'purged',
      purgedAt: receipt.finishedAt,
      purgeId: receipt.purgeId,
      receipt: where,
    });
    if (!marked) throw new PurgeConflict(st.accountId);
    await this.checkpoint('purged', st.accountId, ctx.runId);
    return { accountId: st.accountId, result: 'purged', counts: receipt.counts, receipt: where };
  }

  /** What a purge of the account would delete now (read-only). */
  private async preview(
    account: AccountState,
    standing: Extract<Eligibility, { kind: 'eligible' | 'waiting' }>,
    nowMs: number,
  ): Promise<AccountPreview> {
    // Every item the account owns, its data keys included.
    let counts = addDirectoryCounts(
      emptyCounts(this.locations),
      await this.directory.listOwnedItems(account.accountId),
    );
    for (const store of this.stores)
      counts = await this.deleter.tally(store, EVENT_OBJECTS.accountPrefix(account.accountId), counts);
    const p = account.progress;
    return {
      accountId: account.accountId,
      expiredAt: new Date(standing.expiredAtMs).toISOString(),
      eligibleAt: new Date(standing.eligibleAtMs).toISOString(),
      deadline: new Date(standing.deadlineMs).toISOString(),
      ageDays: round2((nowMs - standing.expiredAtMs) / DAY_MS),
      overdue: nowMs >= standing.alarmAtMs,
      ...(p ? { inProgress: { purgeId: p.purgeId, step: p.step } } : {}),
      counts,
    };
  }

  private storeOf(location: string): EventObjectStore {
    const store = this.stores.find((s) => s.location === location);
    if (!store) throw new Error(`no event store is configured for location ${location}`);
    return store;
  }

  private logOutcome(runId: string, outcome: AccountOutcome | SweepOutcome, work = 'purge'): void {
    const fields = { runId, accountId: outcome.accountId, result: outcome.result, step: outcome.step };
    if (outcome.result === 'failed')
      this.logger.error(`${work} of ${outcome.accountId} failed`, { ...fields, message: outcome.message });
    else this.logger.info(`${work} of ${outcome.accountId}: ${outcome.result}`, fields);
  }
}

function progressOf(st: AccountState): PurgeProgress {
  if (!st.progress) throw new Error(`account ${st.accountId} has no purge in progress`);
  return st.progress;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
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
  judged: readonly Judged[],
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
    oldestUnpurgedExpiredDays: round2(oldest),
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

/** A run id: `run_<yyyymmddThhmmssZ>_<6 hex>`, sortable by start time and safe in object keys. */
export function newRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `run_${stamp}_${randomBytes(3).toString('hex')}`;
}
