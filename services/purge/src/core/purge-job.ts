/**
 * The purge job (DESIGN §7, issue 4): deletes every byte of an expired account between 45 and 90 days
 * after its expiry, and leaves a receipt.
 *
 * Per account, in order: crypto-shred (delete its wrapped data keys, so its ciphertext everywhere is
 * unreadable at once) → every object version and delete marker under `account=<id>/` in every location →
 * its other directory items (campaigns, API keys) → the receipt → the account marked purged.
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
import { ID_PATTERNS, RETENTION } from '../../../../infra/platform';
import { DAY_MS, eligibility, parseInstant, type Eligibility } from './eligibility';
import { DeleteFailure, HookAbort, PurgeConflict, PurgeRequestError } from './errors';
import {
  accountPrefix,
  addDirectoryCounts,
  addObjectCounts,
  compareKeys,
  emptyCounts,
  type AccountState,
  type PendingVersion,
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
  type VersionRef,
} from './ports';

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
   * Where campaign config documents are published for the CDN, if this job is to remove them with the
   * campaigns.
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
   * Attempts per object version when a delete request reports per-key errors or fails as a whole.
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
   * Expired accounts still unpurged past `expiredAt + 80 days`, plus expired accounts whose expiry cannot
   * be read (they would never be purged, so a human must look): above 0, the alarm fires.
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
  /** Accounts whose purge stopped on an error this run; the next run retries them. */
  readonly failedAccounts: number;
  /** The run stopped on its time budget (or a signal) with work left. */
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
  /** Accounts that cannot be judged, and why; never touched. */
  readonly anomalies: readonly { readonly accountId: string; readonly problem: string }[];
  readonly metrics: PurgeMetrics;
}

interface RunContext {
  readonly runId: string;
  readonly leaseMs: number;
  /** The last state saved per account, so a failure mid-step can still release the lease. */
  readonly latest: Map<string, AccountState>;
  outOfTime(): boolean;
}

type Claim = { readonly state: AccountState } | { readonly outcome: AccountOutcome };

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
  private readonly deleteAttempts: number;
  private readonly retryBaseMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pageSize: number;
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
    this.deleteAttempts = attempts;
    this.retryBaseMs = props.retryBaseMs ?? 200;
    this.sleep = props.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.pageSize = pageSize;
    this.leaseMarginMs = props.leaseMarginMs ?? 5 * 60_000;
    this.newRunId = props.newRunId ?? (() => newRunId(this.now()));
  }

  /** The locations this job searches. */
  get locations(): string[] {
    return this.stores.map((s) => s.location);
  }

  /**
   * A scheduled run: purges every eligible account (oldest expiry first) within the time budget, or with
   * `dryRun`, lists what would go and changes nothing. Per-account failures are reported, not thrown.
   * @throws whatever a hook throws (a simulated kill), and errors listing the accounts
   */
  async run(options: RunOptions = {}): Promise<PurgeRunReport> {
    const startedAt = this.now();
    const nowMs = startedAt.getTime();
    const runId = this.newRunId();
    const ctx = this.context(runId, options);
    const accounts = await this.directory.listAccounts();
    const judged = accounts.map((a) => ({ account: a, standing: eligibility(a, nowMs) }));
    const eligible = judged
      .filter(
        (j): j is { account: AccountState; standing: Extract<Eligibility, { kind: 'eligible' }> } =>
          j.standing.kind === 'eligible',
      )
      .sort((a, b) => a.standing.expiredAtMs - b.standing.expiredAtMs);
    this.logger.info('purge run started', {
      runId,
      dryRun: options.dryRun === true,
      accounts: accounts.length,
      eligible: eligible.length,
    });

    const outcomes: AccountOutcome[] = [];
    const previews: AccountPreview[] = [];
    const notStarted: string[] = [];
    try {
      for (const { account, standing } of eligible) {
        if (options.dryRun) {
          previews.push(await this.preview(account, standing, nowMs));
          continue;
        }
        if (ctx.outOfTime()) {
          notStarted.push(account.accountId);
          continue;
        }
        const outcome = await this.purgeAccount(ctx, account.accountId, 'schedule', undefined);
        outcomes.push(outcome);
        this.logOutcome(runId, outcome);
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
      anomalies: judged.flatMap((j) =>
        j.standing.kind === 'invalid'
          ? [{ accountId: j.account.accountId, problem: j.standing.problem }]
          : [],
      ),
      metrics: metricsOf(
        judged.map((j) => j.standing),
        judged.map((j) => j.account.accountId),
        outcomes,
        notStarted,
      ),
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
      anomalies: [],
      metrics: metricsOf([standing], [accountId], outcomes, []),
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
      const expiredAtMs = parseInstant(account.expiredAt);
      if (expiredAtMs === undefined) {
        throw new PurgeRequestError(
          'invalid-expiry',
          `account ${accountId} is expired but its expiredAt (${String(account.expiredAt)}) is not an ISO-8601 instant; fix the record first`,
        );
      }
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
      if (p && p.lease.runId !== ctx.runId && Date.parse(p.lease.until) > nowMs) {
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
    const pending = p.pending;
    if (!pending) return st;
    let counts = p.counts;
    if (pending.kind === 'directory') {
      const still = new Set((await this.directory.existingItems(pending.items)).map(itemId));
      counts = addDirectoryCounts(
        counts,
        pending.items.filter((i) => !still.has(itemId(i))),
      );
    } else {
      const store = this.storeOf(pending.location);
      const still = await this.presentVersions(store, accountPrefix(st.accountId), pending.versions);
      const prefix = accountPrefix(st.accountId);
      counts = addObjectCounts(
        counts,
        pending.location,
        pending.versions.filter((v) => !still.has(versionId(prefix + v[0], v[1]))),
      );
    }
    this.logger.info('settled an unrecorded batch of an interrupted run', {
      accountId: st.accountId,
      kind: pending.kind,
    });
    return this.save(ctx, st, { ...p, counts, pending: undefined });
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
    const prefix = accountPrefix(st.accountId);
    for (const store of this.stores) {
      if (progressOf(st).locationsDone.includes(store.location)) continue;
      for (;;) {
        if (ctx.outOfTime()) return { state: st, paused: true };
        // Always the first page: everything before it is already deleted, so no cursor (whose marker
        // version may itself be gone) is ever needed.
        const page = await store.listVersions(prefix, { limit: this.pageSize });
        if (page.versions.length === 0) {
          const p = progressOf(st);
          st = await this.save(ctx, st, { ...p, locationsDone: [...p.locationsDone, store.location] });
          await this.checkpoint('objects:location-done', st.accountId, ctx.runId, store.location);
          break;
        }
        const batch: PendingVersion[] = page.versions.slice(0, MAX_DELETE_BATCH).map((v) => {
          if (!v.key.startsWith(prefix)) {
            // A store that returned a key outside the prefix is broken; deleting it would touch another account.
            throw new Error(`${store.description} listed ${v.key} for prefix ${prefix}`);
          }
          return [v.key.slice(prefix.length), v.versionId, v.deleteMarker ? 1 : 0, v.size];
        });
        st = await this.save(ctx, st, {
          ...progressOf(st),
          pending: { kind: 'objects', location: store.location, versions: batch },
        });
        await this.checkpoint('objects:pending', st.accountId, ctx.runId, store.location);
        const result = await this.deleteWithRetries(
          store,
          batch.map(([key, version]) => ({ key: prefix + key, versionId: version })),
        );
        await this.checkpoint('objects:deleted', st.accountId, ctx.runId, store.location);
        const gone = new Set(result.deleted.map((r) => versionId(r.key, r.versionId)));
        const p = progressOf(st);
        st = await this.save(ctx, st, {
          ...p,
          counts: addObjectCounts(
            p.counts,
            store.location,
            batch.filter((v) => gone.has(versionId(prefix + v[0], v[1]))),
          ),
          pending: undefined,
        });
        await this.checkpoint('objects:committed', st.accountId, ctx.runId, store.location);
        if (result.failed.length > 0) throw new DeleteFailure(store.location, result.failed);
      }
    }
    st = await this.save(ctx, st, { ...progressOf(st), step: 'directory' });
    await this.checkpoint('objects:done', st.accountId, ctx.runId);
    return { state: st, paused: false };
  }

  /**
   * Sends one batch, then retries the versions that failed (per-key errors, or the whole request) with
   * exponential back-off. Resolves with what was deleted and what still failed after the last attempt.
   */
  private async deleteWithRetries(
    store: EventObjectStore,
    refs: readonly VersionRef[],
  ): Promise<{ deleted: VersionRef[]; failed: VersionError[] }> {
    const deleted: VersionRef[] = [];
    let todo: readonly VersionRef[] = refs;
    let failed: VersionError[] = [];
    for (let attempt = 1; todo.length > 0 && attempt <= this.deleteAttempts; attempt++) {
      if (attempt > 1) await this.sleep(this.retryBaseMs * 2 ** (attempt - 2));
      let outcome;
      try {
        outcome = await store.deleteVersions(todo);
      } catch (err) {
        const e = err as Error;
        failed = todo.map((r) => ({ ...r, code: e.name || 'Error', message: e.message }));
        this.logger.warn('delete request failed', { store: store.description, attempt, error: e.message });
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
        this.logger.warn('some versions were not deleted', {
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

  /** Step 3: the account's other directory items (campaigns, API keys, any data key created since step 1). */
  private async purgeDirectory(ctx: RunContext, st: AccountState): Promise<AccountState> {
    const items = await this.directory.listOwnedItems(st.accountId);
    let p = progressOf(st);
    if (items.length > 0) {
      st = await this.save(ctx, st, { ...p, pending: { kind: 'directory', items } });
      await this.checkpoint('directory:pending', st.accountId, ctx.runId);
      // Before the campaign items: once they are gone, nothing would say which documents to remove.
      if (this.publishedConfigs) {
        for (const item of items) if (item.campaignId) await this.publishedConfigs.remove(item.campaignId);
      }
      await this.directory.deleteItems(items);
      await this.checkpoint('directory:deleted', st.accountId, ctx.runId);
      p = progressOf(st);
    }
    st = await this.save(ctx, st, {
      ...p,
      counts: addDirectoryCounts(p.counts, items),
      pending: undefined,
      step: 'receipt',
    });
    await this.checkpoint('directory:done', st.accountId, ctx.runId);
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
    const finishedRunId = p.finishedRunId ?? ctx.runId;
    const upTo = p.runIds.indexOf(finishedRunId);
    const receipt = buildReceipt({
      account: st,
      // Runs that only rewrote the receipt after a crash are not part of it: the receipt stays identical.
      progress: { ...p, runIds: upTo >= 0 ? p.runIds.slice(0, upTo + 1) : p.runIds },
      runId: finishedRunId,
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
    const prefix = accountPrefix(account.accountId);
    // Every item the account owns, its data keys included.
    let counts = addDirectoryCounts(
      emptyCounts(this.locations),
      await this.directory.listOwnedItems(account.accountId),
    );
    for (const store of this.stores) {
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
    }
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

  private logOutcome(runId: string, outcome: AccountOutcome): void {
    const fields = { runId, accountId: outcome.accountId, result: outcome.result, step: outcome.step };
    if (outcome.result === 'failed')
      this.logger.error(`purge of ${outcome.accountId} failed`, { ...fields, message: outcome.message });
    else this.logger.info(`purge of ${outcome.accountId}: ${outcome.result}`, fields);
  }
}

function progressOf(st: AccountState): PurgeProgress {
  if (!st.progress) throw new Error(`account ${st.accountId} has no purge in progress`);
  return st.progress;
}

function versionId(key: string, version: string): string {
  return `${key}\u0000${version}`;
}

function itemId(item: { pk: string; sk: string }): string {
  return `${item.pk}\u0000${item.sk}`;
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
  standings: readonly Eligibility[],
  accountIds: readonly string[],
  outcomes: readonly AccountOutcome[],
  notStarted: readonly string[],
): PurgeMetrics {
  const purged = new Set(outcomes.filter((o) => o.result === 'purged').map((o) => o.accountId));
  let oldest = 0;
  let overdue = 0;
  let eligibleLeft = 0;
  standings.forEach((s, i) => {
    if (s.kind === 'invalid') {
      overdue += 1;
      return;
    }
    if ((s.kind !== 'eligible' && s.kind !== 'waiting') || purged.has(accountIds[i] ?? '')) return;
    oldest = Math.max(oldest, s.ageDays);
    if (s.ageDays >= RETENTION.purgeAlarmAfterDays) overdue += 1;
    if (s.kind === 'eligible') eligibleLeft += 1;
  });
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
    failedAccounts: outcomes.filter((o) => o.result === 'failed').length,
    incomplete: notStarted.length > 0 || outcomes.some((o) => o.result === 'paused'),
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
