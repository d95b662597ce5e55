/**
 * The lease and progress handling that the purge and the sweep of a purged account share, parameterized
 * by which progress of the account's record they keep (`progress-track.ts`): claiming the account under a
 * lease, saving progress by compare-and-set (which renews the lease), settling a batch a killed run left
 * in flight, pausing on the time budget, giving the account back on failure, and running the remaining
 * steps in order.
 *
 * Every save is a compare-and-set on the record's revision, status and expiry, so a lost race (another
 * run took the account over, or an operator changed the record) stops the work on that account and
 * leaves the record alone. See "Resumable, idempotent, bounded" in `services/purge/README.md`.
 */
import { parseIsoInstant } from '../../../../platform';
import type { BatchDeleter, BatchSteps } from './deletion';
import { DeleteFailure, HookAbort, PurgeConflict } from './errors';
import {
  emptyCounts,
  type AccountState,
  type DeletionProgress,
  type PendingBatch,
  type PurgeCounts,
  type PurgeLease,
} from './model';
import type {
  CheckpointName,
  EventObjectStore,
  PublishedConfigStore,
  PurgeDirectory,
  PurgeLogger,
  ReceiptStore,
  SharedCheckpointName,
  VersionError,
} from './ports';
import type { ProgressTrack, TrackedProgress } from './progress-track';

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

/** What happened to one account's purge (`Done`: `purged`) or sweep (`swept`) in a run. */
export interface WorkOutcome<Done extends string, Step extends string> {
  readonly accountId: string;
  /**
   * `Done`: finished, receipt written. `paused`: the time budget ran out; the next run continues.
   * `busy`: another run holds it. `failed`: an error stopped it; the next run retries. `skipped`: it was
   * no longer this work's to do when claimed (reactivated in the meantime, or another run finished it).
   */
  readonly result: Done | 'paused' | 'busy' | 'failed' | 'skipped';
  /** The step it stopped at (all but `Done`). */
  readonly step?: Step;
  /** Counts so far (for `Done`: the receipt's). */
  readonly counts?: PurgeCounts;
  /** Where the receipt is. */
  readonly receipt?: string;
  readonly message?: string;
  /** Object versions that could not be deleted (at most 20 shown). */
  readonly errors?: readonly VersionError[];
  /** For a `busy` purge: when the other run's lease lapses. */
  readonly busyUntil?: string;
}

/** What every kind of progress starts with: no location done, nothing counted, this run's lease. */
export interface OpeningFields<Step extends string> {
  readonly startedAt: string;
  readonly runIds: readonly string[];
  readonly step: Step;
  readonly locationsDone: readonly string[];
  readonly counts: PurgeCounts;
  readonly lease: PurgeLease;
}

/** Who may claim an account for a piece of work, and how its progress starts. */
export interface ClaimRule<P extends TrackedProgress> {
  /** Why the account, read afresh at `nowMs`, is not (or no longer) this work's to do; it is then skipped. */
  refusal(st: AccountState, nowMs: number): string | undefined;
  /** New progress: its own fields (its id, a purge's trigger and reason) ahead of `shared`. */
  opening(runId: string, shared: OpeningFields<P['step']>): P;
  /**
   * What a run joining progress under way changes besides the run list and the lease.
   * @default nothing
   */
  joining?(found: P): Partial<P>;
}

/** Where a step left the account. */
export interface StepResult {
  readonly state: AccountState;
  /**
   * The time budget ran out mid-step: the account is paused.
   * @default false
   */
  readonly paused?: boolean;
}

/** One step of a piece of work: does it, saves the next step, and resolves with the state saved last. */
export type WorkStep<P extends TrackedProgress> = (
  ledger: ProgressLedger<P>,
  ctx: RunContext,
  st: AccountState,
) => Promise<StepResult>;

/** The steps of a piece of work: each step but the last, by name, and the last (`receipt`). */
export interface StepPlan<P extends TrackedProgress, Done extends string> {
  readonly steps: { readonly [S in Exclude<P['step'], 'receipt'>]: WorkStep<P> };
  readonly finish: (
    ledger: ProgressLedger<P>,
    ctx: RunContext,
    st: AccountState,
  ) => Promise<WorkOutcome<Done, P['step']>>;
}

/** What the steps of a purge or a sweep work with: the job's stores and settings. */
export interface WorkEnv {
  readonly directory: PurgeDirectory;
  /** One event store per location. */
  readonly stores: readonly EventObjectStore[];
  readonly receipts: ReceiptStore;
  /**
   * Where each account's campaign configs are published, if they are removed with it.
   * @default none
   */
  readonly publishedConfigs?: PublishedConfigStore;
  readonly deleter: BatchDeleter;
  readonly now: () => Date;
  readonly logger: PurgeLogger;
  /** Passes a checkpoint; throws `HookAbort` when a hook stands for a kill. */
  readonly checkpoint: (
    name: CheckpointName,
    accountId: string,
    runId: string,
    location?: string,
  ) => Promise<void>;
}

type Claim<Step extends string> =
  { readonly state: AccountState } | { readonly outcome: WorkOutcome<never, Step> };

/** Keeps one kind of progress on the account records (see {@link ProgressTrack}) while work runs. */
export class ProgressLedger<P extends TrackedProgress> {
  constructor(
    /** The stores and settings the steps use. */
    readonly env: WorkEnv,
    /** Which progress this ledger keeps. */
    readonly track: ProgressTrack<P>,
  ) {}

  /**
   * Claims the account (lease), settles a batch a killed run left in flight, runs the remaining steps of
   * `plan` in order, and reports. Failures are reported, not thrown; the account is given back.
   * @throws HookAbort from a checkpoint hook (a simulated kill), untouched
   */
  async work<Done extends string>(
    ctx: RunContext,
    accountId: string,
    rule: ClaimRule<P>,
    plan: StepPlan<P, Done>,
  ): Promise<WorkOutcome<Done, P['step']>> {
    let claimed: AccountState | undefined;
    try {
      const claim = await this.claim(ctx, accountId, rule);
      if ('outcome' in claim) return claim.outcome;
      claimed = claim.state;
      await this.pass('claimed', accountId, ctx.runId);
      let st = await this.settlePending(ctx, claimed);
      for (;;) {
        const step: P['step'] = this.of(st).step;
        if (step === 'receipt') return await plan.finish(this, ctx, st);
        if (ctx.outOfTime()) return await this.pause(ctx, st);
        // Every step but `receipt` is in the plan (its type says so; the comparison above cannot narrow it).
        const done: StepResult = await plan.steps[step as Exclude<P['step'], 'receipt'>](this, ctx, st);
        st = done.state;
        if (done.paused) return await this.pause(ctx, st);
      }
    } catch (err) {
      if (err instanceof HookAbort) throw err;
      // Every save since the claim is in `ctx.latest`: the state the failure left.
      return this.failure(ctx, accountId, ctx.latest.get(accountId) ?? claimed, err);
    }
  }

  /** The progress of a claimed account (which always has one). */
  of(st: AccountState): P {
    const p = this.track.read(st);
    if (!p) throw new Error(`account ${st.accountId} has no ${this.track.noun} in progress`);
    return p;
  }

  /** Saves new progress (renewing the lease) by compare-and-set; a lost race stops this account. */
  async save(ctx: RunContext, st: AccountState, progress: P): Promise<AccountState> {
    const until = new Date(this.env.now().getTime() + ctx.leaseMs).toISOString();
    const saved = await this.env.directory.saveAccount(
      st,
      this.track.store({ ...progress, lease: { runId: ctx.runId, until } }),
    );
    if (!saved) throw new PurgeConflict(st.accountId);
    ctx.latest.set(saved.accountId, saved);
    return saved;
  }

  /** Saves the progress with some of the fields every kind of progress has changed. */
  amend(ctx: RunContext, st: AccountState, fields: Partial<DeletionProgress>): Promise<AccountState> {
    return this.save(ctx, st, { ...this.of(st), ...fields });
  }

  /** Saves the step to do next. */
  advance(ctx: RunContext, st: AccountState, step: P['step']): Promise<AccountState> {
    return this.save(ctx, st, { ...this.of(st), step });
  }

  /** Passes one of the checkpoints the purge and the sweep share, under this work's name for it. */
  pass(name: SharedCheckpointName, accountId: string, runId: string, location?: string): Promise<void> {
    return this.env.checkpoint(`${this.track.checkpointPrefix}${name}`, accountId, runId, location);
  }

  /**
   * What to do around each batch's delete call (see `BatchSteps`): record the batch as pending before it,
   * count what went and clear it after it, and pass this work's `<stage>:pending` and `<stage>:deleted`
   * checkpoints (and `objects:committed` once an object batch is counted). `state.st` follows every save.
   */
  batchRecorder<T>(
    ctx: RunContext,
    state: { st: AccountState },
    stage: 'objects' | 'directory',
    batch: {
      /** The batch as it is recorded while in flight. */
      pending(items: readonly T[]): PendingBatch;
      /** The counts with what went added. */
      count(counts: PurgeCounts, gone: readonly T[]): PurgeCounts;
      /** @default none (a directory batch) */
      location?: string;
    },
  ): BatchSteps<T> {
    const accountId = state.st.accountId;
    const { location } = batch;
    return {
      pending: async (items) => {
        state.st = await this.amend(ctx, state.st, { pending: batch.pending(items) });
        await this.pass(`${stage}:pending`, accountId, ctx.runId, location);
      },
      deleted: () => this.pass(`${stage}:deleted`, accountId, ctx.runId, location),
      committed: async (gone) => {
        const p = this.of(state.st);
        state.st = await this.amend(ctx, state.st, {
          counts: batch.count(p.counts, gone),
          pending: undefined,
        });
        if (stage === 'objects') await this.pass('objects:committed', accountId, ctx.runId, location);
      },
    };
  }

  private async claim(ctx: RunContext, accountId: string, rule: ClaimRule<P>): Promise<Claim<P['step']>> {
    // Two rounds: a lost compare-and-set is re-judged on a fresh read (it may be another run's claim).
    for (let round = 0; round < 2; round++) {
      const st = await this.env.directory.getAccount(accountId);
      const nowMs = this.env.now().getTime();
      if (!st) return { outcome: { accountId, result: 'skipped', message: 'the account no longer exists' } };
      const refusal = rule.refusal(st, nowMs);
      if (refusal !== undefined) return { outcome: { accountId, result: 'skipped', message: refusal } };
      const found = this.track.read(st);
      if (found && leaseHeldByOther(found.lease, ctx.runId, nowMs)) {
        return { outcome: { accountId, result: 'busy', step: found.step, ...this.track.busy(found.lease) } };
      }
      const lease = { runId: ctx.runId, until: new Date(nowMs + ctx.leaseMs).toISOString() };
      const progress: P = found
        ? {
            ...found,
            runIds: found.runIds.includes(ctx.runId) ? found.runIds : [...found.runIds, ctx.runId],
            lease,
            ...rule.joining?.(found),
          }
        : rule.opening(ctx.runId, {
            startedAt: new Date(nowMs).toISOString(),
            runIds: [ctx.runId],
            step: this.track.firstStep,
            locationsDone: [],
            counts: emptyCounts(this.env.stores.map((s) => s.location)),
            lease,
          });
      const saved = await this.env.directory.saveAccount(st, this.track.store(progress));
      if (saved) {
        ctx.latest.set(accountId, saved);
        return { state: saved };
      }
    }
    return {
      outcome: { accountId, result: 'busy', message: 'its record kept changing while being claimed' },
    };
  }

  /** Gives the account back (lease lapsed now) so that the next run need not wait. */
  private async release(ctx: RunContext, st: AccountState): Promise<void> {
    const p = this.track.read(st);
    if (!p || p.lease.runId !== ctx.runId) return;
    await this.env.directory.saveAccount(
      st,
      this.track.store({ ...p, lease: { runId: ctx.runId, until: this.env.now().toISOString() } }),
    );
  }

  private async pause(ctx: RunContext, st: AccountState): Promise<WorkOutcome<never, P['step']>> {
    await this.release(ctx, st);
    const p = this.of(st);
    return {
      accountId: st.accountId,
      result: 'paused',
      step: p.step,
      counts: p.counts,
      message: this.track.pausedMessage,
    };
  }

  /**
   * Settles a batch whose deletion a killed run started but did not record: whatever of it is gone now
   * is counted (see `BatchDeleter.settle`).
   */
  private async settlePending(ctx: RunContext, st: AccountState): Promise<AccountState> {
    const p = this.of(st);
    if (!p.pending) return st;
    const { directory, stores, deleter, logger } = this.env;
    const counts = await deleter.settle(directory, stores, st.accountId, p.counts, p.pending);
    logger.info(this.track.settledMessage, { accountId: st.accountId, kind: p.pending.kind });
    return this.save(ctx, st, { ...p, counts, pending: undefined });
  }

  /** Reports a failure, and gives the account back unless the record is no longer this run's. */
  private async failure(
    ctx: RunContext,
    accountId: string,
    st: AccountState | undefined,
    err: unknown,
  ): Promise<WorkOutcome<never, P['step']>> {
    const p = st && this.track.read(st);
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
