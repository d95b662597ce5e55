/**
 * The purge job: deletes every byte of an expired account between 45 and 90 days after its expiry, and
 * leaves a receipt (see `services/purge/README.md`). A day after its purge, each account's prefixes are
 * swept once more for data that arrived late.
 *
 * This module orchestrates a run: it judges every account, queues the purges (`purge-account.ts`) and
 * sweeps (`sweep.ts`) by their deadline, runs each within the time budget (or, in a dry run, previews it,
 * `preview.ts`) and reports (`run-report.ts`). What makes each purge and sweep resumable after a kill at
 * any point, the claim, lease and progress on the account's own record, is the ledger's
 * (`progress-ledger.ts`).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BatchDeleter } from './deletion';
import { eligibility, type Eligibility } from './eligibility';
import { HookAbort, PurgeRequestError } from './errors';
import type { AccountState, PurgeProgress, SweepProgress } from './model';
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
} from './ports';
import { previewPurge, previewSweep, type AccountPreview, type SweepPreview } from './preview';
import { ProgressLedger, type RunContext, type WorkEnv } from './progress-ledger';
import { PURGE_TRACK, SWEEP_TRACK } from './progress-track';
import { checkRequest, purgeAccount } from './purge-account';
import { reasonProblem } from './receipt';
import { buildRunReport, type AccountOutcome, type JudgedAccount, type PurgeRunReport } from './run-report';
import { sweepAccount, sweepStanding, type SweepOutcome, type SweepStanding } from './sweep';

/** Default time budget of one run. */
export const DEFAULT_TIME_BUDGET_MS = 10 * 60_000;

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
  private readonly now: () => Date;
  private readonly elapsedMs: () => number;
  private readonly hooks: PurgeHooks;
  private readonly logger: PurgeLogger;
  /** What the purges and sweeps work with; the previews read its directory and stores. */
  private readonly env: WorkEnv;
  private readonly purges: ProgressLedger<PurgeProgress>;
  private readonly sweeps: ProgressLedger<SweepProgress>;
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
    this.now = props.now ?? (() => new Date());
    this.elapsedMs = props.elapsedMs ?? (() => performance.now());
    this.hooks = props.hooks ?? {};
    this.logger = props.logger ?? silentLogger;
    this.env = {
      directory: this.directory,
      stores: this.stores,
      receipts: props.receipts,
      ...(props.publishedConfigs ? { publishedConfigs: props.publishedConfigs } : {}),
      deleter: new BatchDeleter({
        attempts,
        retryBaseMs: props.retryBaseMs ?? 200,
        sleep: props.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        logger: this.logger,
        pageSize,
      }),
      now: this.now,
      logger: this.logger,
      checkpoint: (name, accountId, runId, location) => this.checkpoint(name, accountId, runId, location),
    };
    this.purges = new ProgressLedger(this.env, PURGE_TRACK);
    this.sweeps = new ProgressLedger(this.env, SWEEP_TRACK);
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
    const judged: JudgedAccount[] = accounts.map((a) => ({
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
          if (w.kind === 'purge') previews.push(await previewPurge(this.env, w.account, w.standing, nowMs));
          else sweepPreviews.push(await previewSweep(this.env, w.account, w.standing, nowMs));
        } else if (ctx.outOfTime()) {
          (w.kind === 'purge' ? notStarted : sweepsNotStarted).push(accountId);
        } else if (w.kind === 'purge') {
          const outcome = await purgeAccount(this.purges, ctx, accountId, 'schedule', undefined);
          outcomes.push(outcome);
          this.logOutcome(runId, outcome);
        } else {
          const outcome = await sweepAccount(this.sweeps, ctx, accountId);
          sweeps.push(outcome);
          this.logOutcome(runId, outcome, 'sweep');
        }
      }
    } catch (err) {
      throw err instanceof HookAbort ? err.original : err;
    }

    const report = buildRunReport({
      runId,
      mode: options.dryRun ? 'dry-run' : 'run',
      startedAt,
      finishedAt: this.now(),
      judged,
      outcomes,
      previews,
      notStarted,
      sweeps,
      sweepPreviews,
      sweepsNotStarted,
    });
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
    const account = await checkRequest(this.directory, accountId, nowMs);
    const runId = this.newRunId();
    const ctx = this.context(runId, options);
    const standing = eligibility(account, nowMs);
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
          await previewPurge(
            this.env,
            account,
            standing as Extract<Eligibility, { kind: 'eligible' | 'waiting' }>,
            nowMs,
          ),
        );
      } else {
        const outcome = await purgeAccount(this.purges, ctx, accountId, 'request', reason.trim());
        outcomes.push(outcome);
        this.logOutcome(runId, outcome);
      }
    } catch (err) {
      throw err instanceof HookAbort ? err.original : err;
    }
    return buildRunReport({
      runId,
      mode: options.dryRun ? 'dry-run' : 'request',
      startedAt,
      finishedAt: this.now(),
      // A request is about its one account, never a sweep.
      judged: [{ account, standing, sweep: { kind: 'none' } }],
      outcomes,
      previews,
    });
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

  private logOutcome(runId: string, outcome: AccountOutcome | SweepOutcome, work = 'purge'): void {
    const fields = { runId, accountId: outcome.accountId, result: outcome.result, step: outcome.step };
    if (outcome.result === 'failed')
      this.logger.error(`${work} of ${outcome.accountId} failed`, { ...fields, message: outcome.message });
    else this.logger.info(`${work} of ${outcome.accountId}: ${outcome.result}`, fields);
  }
}

/** A run id: `run_<yyyymmddThhmmssZ>_<6 hex>`, sortable by start time and safe in object keys. */
export function newRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `run_${stamp}_${randomBytes(3).toString('hex')}`;
}
