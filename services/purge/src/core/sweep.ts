/**
 * The sweep of a purged account: events can reach the event store after the purge (a disk spool drained
 * late, the stream's buffer), so once `RETENTION.purgeSweepAfterDays` have passed after the purge, and
 * before the 90-day deadline, the job empties the account's `account=<id>/` prefixes once more in every
 * location, deletes any wrapped data key or conversion claim the data path wrote meanwhile, writes a
 * sweep receipt next to the purge's and records the sweep on the account, which is then never touched
 * again.
 *
 * Like the purge, the sweep keeps its progress on the account's record (`sweepProgress`, by
 * compare-and-set) with the same lease, pending batch and checkpoints, so a run killed at any point is
 * finished by the next with exact counts; it deletes with the same loop (`deletion.ts`).
 *
 * Only accounts this job purged (with a purge id and receipt) are swept: a record marked purged by other
 * means has no purge for a sweep to complete and is left alone.
 */
import { EVENT_OBJECTS, ID_PATTERNS, parseIsoInstant } from '../../../../platform';
import { sweepDates, type SweepDates } from './eligibility';
import { DeleteFailure, HookAbort, PurgeConflict } from './errors';
import { leaseHeldByOther, receiptRuns, type BatchDeleter, type RunContext } from './deletion';
import {
  addDirectoryCounts,
  addObjectCounts,
  emptyCounts,
  type AccountState,
  type PurgeCounts,
  type SweepProgress,
  type SweepStep,
} from './model';
import type {
  EventObjectStore,
  PublishedConfigStore,
  PurgeDirectory,
  PurgeLogger,
  ReceiptStore,
  SweepCheckpointName,
  VersionError,
} from './ports';
import { buildSweepReceipt } from './receipt';

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

/** What happened to one purged account's sweep in a run. */
export interface SweepOutcome {
  readonly accountId: string;
  /**
   * `swept`: done, sweep receipt written. `paused`: the time budget ran out; the next run continues.
   * `busy`: another run holds it. `failed`: an error stopped it; the next run retries. `skipped`: no
   * sweep was due any more when claimed (another run finished it, say).
   */
  readonly result: 'swept' | 'paused' | 'busy' | 'failed' | 'skipped';
  /** The step it stopped at (all but `swept`). */
  readonly step?: SweepStep;
  /** Counts so far (for `swept`: the sweep receipt's). */
  readonly counts?: PurgeCounts;
  /** Where the sweep receipt is. */
  readonly receipt?: string;
  readonly message?: string;
  /** Object versions that could not be deleted (at most 20 shown). */
  readonly errors?: readonly VersionError[];
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

/** What {@link PurgeSweep} works with: the purge job's stores and settings. */
export interface PurgeSweepProps {
  readonly directory: PurgeDirectory;
  readonly stores: readonly EventObjectStore[];
  readonly receipts: ReceiptStore;
  /** @default none */
  readonly publishedConfigs?: PublishedConfigStore;
  readonly deleter: BatchDeleter;
  readonly now: () => Date;
  readonly logger: PurgeLogger;
  /** Passes a checkpoint; throws `HookAbort` when a hook stands for a kill. */
  readonly checkpoint: (
    name: SweepCheckpointName,
    accountId: string,
    runId: string,
    location?: string,
  ) => Promise<void>;
}

type Claim = { readonly state: AccountState } | { readonly outcome: SweepOutcome };

/** Sweeps purged accounts; the purge job runs it for every sweep that is due. */
export class PurgeSweep {
  constructor(private readonly props: PurgeSweepProps) {}

  private get locations(): string[] {
    return this.props.stores.map((s) => s.location);
  }

  /** Claims the purged account's sweep (lease), runs its remaining steps, and reports. */
  async sweep(ctx: RunContext, accountId: string): Promise<SweepOutcome> {
    let st: AccountState | undefined;
    try {
      const claim = await this.claim(ctx, accountId);
      if ('outcome' in claim) return claim.outcome;
      st = claim.state;
      await this.props.checkpoint('sweep:claimed', accountId, ctx.runId);
      st = await this.settlePending(ctx, st);
      for (;;) {
        const p = sweepOf(st);
        if (p.step === 'receipt') return await this.finish(ctx, st);
        if (ctx.outOfTime()) return await this.pause(ctx, st);
        if (p.step === 'directory') st = await this.sweepDirectory(ctx, st);
        else {
          const r = await this.sweepObjects(ctx, st);
          st = r.state;
          if (r.paused) return await this.pause(ctx, st);
        }
      }
    } catch (err) {
      if (err instanceof HookAbort) throw err;
      st = ctx.latest.get(accountId) ?? st;
      const p = st?.sweepProgress;
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

  /** What the sweep would delete now (read-only). */
  async preview(
    account: AccountState,
    standing: Extract<SweepStanding, { kind: 'due' }>,
    nowMs: number,
  ): Promise<SweepPreview> {
    const { directory, stores, deleter } = this.props;
    let counts = addDirectoryCounts(
      emptyCounts(this.locations),
      await directory.listDataPathItems(account.accountId),
    );
    for (const store of stores)
      counts = await deleter.tally(store, EVENT_OBJECTS.accountPrefix(account.accountId), counts);
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

  private async claim(ctx: RunContext, accountId: string): Promise<Claim> {
    // Two rounds: a lost compare-and-set is re-judged on a fresh read (it may be another run's claim).
    for (let round = 0; round < 2; round++) {
      const st = await this.props.directory.getAccount(accountId);
      const nowMs = this.props.now().getTime();
      if (!st) return { outcome: { accountId, result: 'skipped', message: 'the account no longer exists' } };
      const standing = sweepStanding(st, nowMs);
      if (standing.kind !== 'due') {
        const why = standing.kind === 'invalid' ? standing.problem : standing.kind;
        return { outcome: { accountId, result: 'skipped', message: `no sweep due (${why})` } };
      }
      const p = st.sweepProgress;
      if (p && leaseHeldByOther(p.lease, ctx.runId, nowMs)) {
        return {
          outcome: {
            accountId,
            result: 'busy',
            step: p.step,
            message: `run ${p.lease.runId} holds its sweep until ${p.lease.until}`,
          },
        };
      }
      const lease = { runId: ctx.runId, until: new Date(nowMs + ctx.leaseMs).toISOString() };
      const progress: SweepProgress = p
        ? { ...p, runIds: p.runIds.includes(ctx.runId) ? p.runIds : [...p.runIds, ctx.runId], lease }
        : {
            sweepId: ctx.runId,
            startedAt: new Date(nowMs).toISOString(),
            runIds: [ctx.runId],
            step: 'directory',
            locationsDone: [],
            counts: emptyCounts(this.locations),
            lease,
          };
      const saved = await this.props.directory.saveAccount(st, { kind: 'sweep-progress', progress });
      if (saved) {
        ctx.latest.set(accountId, saved);
        return { state: saved };
      }
    }
    return {
      outcome: { accountId, result: 'busy', message: 'its record kept changing while being claimed' },
    };
  }

  /** Saves new sweep progress (renewing the lease) by compare-and-set; a lost race stops this account. */
  private async save(ctx: RunContext, st: AccountState, progress: SweepProgress): Promise<AccountState> {
    const until = new Date(this.props.now().getTime() + ctx.leaseMs).toISOString();
    const saved = await this.props.directory.saveAccount(st, {
      kind: 'sweep-progress',
      progress: { ...progress, lease: { runId: ctx.runId, until } },
    });
    if (!saved) throw new PurgeConflict(st.accountId);
    ctx.latest.set(saved.accountId, saved);
    return saved;
  }

  /** Gives the sweep back (lease lapsed now) so that the next run need not wait. */
  private async release(ctx: RunContext, st: AccountState): Promise<void> {
    const p = st.sweepProgress;
    if (!p || p.lease.runId !== ctx.runId) return;
    await this.props.directory.saveAccount(st, {
      kind: 'sweep-progress',
      progress: { ...p, lease: { runId: ctx.runId, until: this.props.now().toISOString() } },
    });
  }

  private async pause(ctx: RunContext, st: AccountState): Promise<SweepOutcome> {
    await this.release(ctx, st);
    const p = sweepOf(st);
    return {
      accountId: st.accountId,
      result: 'paused',
      step: p.step,
      counts: p.counts,
      message: 'time budget used up; the next run continues the sweep from here',
    };
  }

  /** Settles a batch a killed run started but did not record (see `BatchDeleter.settle`). */
  private async settlePending(ctx: RunContext, st: AccountState): Promise<AccountState> {
    const p = sweepOf(st);
    if (!p.pending) return st;
    const counts = await this.props.deleter.settle(
      this.props.directory,
      (location) => this.storeOf(location),
      st.accountId,
      p.counts,
      p.pending,
    );
    this.props.logger.info('settled an unrecorded batch of an interrupted sweep', {
      accountId: st.accountId,
      kind: p.pending.kind,
    });
    return this.save(ctx, st, { ...p, counts, pending: undefined });
  }

  /** Step 1: wrapped data keys first (what follows becomes unreadable), and conversion claims. */
  private async sweepDirectory(ctx: RunContext, st: AccountState): Promise<AccountState> {
    const { directory, deleter, publishedConfigs, checkpoint } = this.props;
    const accountId = st.accountId;
    const items = await directory.listDataPathItems(accountId);
    // Nothing republishes a purged account's configs; removing the prefix again costs nothing.
    await publishedConfigs?.removeAccount(accountId);
    await deleter.deleteEntries(directory, items, {
      pending: async (batch) => {
        st = await this.save(ctx, st, { ...sweepOf(st), pending: { kind: 'directory', items: batch } });
        await checkpoint('sweep:directory:pending', accountId, ctx.runId);
      },
      deleted: () => checkpoint('sweep:directory:deleted', accountId, ctx.runId),
      committed: async (gone) => {
        const p = sweepOf(st);
        st = await this.save(ctx, st, {
          ...p,
          counts: addDirectoryCounts(p.counts, gone),
          pending: undefined,
        });
      },
    });
    st = await this.save(ctx, st, { ...sweepOf(st), step: 'objects' });
    await checkpoint('sweep:directory:done', accountId, ctx.runId);
    return st;
  }

  /** Step 2: every object version and delete marker that arrived under the prefix since the purge. */
  private async sweepObjects(
    ctx: RunContext,
    st: AccountState,
  ): Promise<{ state: AccountState; paused: boolean }> {
    const { deleter, checkpoint } = this.props;
    const accountId = st.accountId;
    const prefix = EVENT_OBJECTS.accountPrefix(accountId);
    for (const store of this.props.stores) {
      const location = store.location;
      if (sweepOf(st).locationsDone.includes(location)) continue;
      const drained = await deleter.drainPrefix(store, prefix, () => ctx.outOfTime(), {
        pending: async (versions) => {
          st = await this.save(ctx, st, {
            ...sweepOf(st),
            pending: { kind: 'objects', location, versions },
          });
          await checkpoint('sweep:objects:pending', accountId, ctx.runId, location);
        },
        deleted: () => checkpoint('sweep:objects:deleted', accountId, ctx.runId, location),
        committed: async (gone) => {
          const p = sweepOf(st);
          st = await this.save(ctx, st, {
            ...p,
            counts: addObjectCounts(p.counts, location, gone),
            pending: undefined,
          });
          await checkpoint('sweep:objects:committed', accountId, ctx.runId, location);
        },
      });
      if (drained === 'paused') return { state: st, paused: true };
      const p = sweepOf(st);
      st = await this.save(ctx, st, { ...p, locationsDone: [...p.locationsDone, location] });
      await checkpoint('sweep:objects:location-done', accountId, ctx.runId, location);
    }
    st = await this.save(ctx, st, { ...sweepOf(st), step: 'receipt' });
    await checkpoint('sweep:objects:done', accountId, ctx.runId);
    return { state: st, paused: false };
  }

  /** Step 3: the sweep receipt, then the sweep recorded on the account. */
  private async finish(ctx: RunContext, st: AccountState): Promise<SweepOutcome> {
    const { directory, stores, receipts, checkpoint } = this.props;
    let p = sweepOf(st);
    if (!p.finishedAt) {
      st = await this.save(ctx, st, {
        ...p,
        finishedAt: this.props.now().toISOString(),
        finishedRunId: ctx.runId,
        finishedStores: {
          directory: directory.description,
          objects: Object.fromEntries(stores.map((s) => [s.location, s.description])),
        },
      });
      p = sweepOf(st);
      await checkpoint('sweep:receipt:prepared', st.accountId, ctx.runId);
    }
    const { runId, runIds } = receiptRuns(p, ctx.runId);
    const receipt = buildSweepReceipt({
      account: st,
      progress: { ...p, runIds },
      runId,
      directory: p.finishedStores?.directory ?? directory.description,
      objectStores:
        p.finishedStores?.objects ?? Object.fromEntries(stores.map((s) => [s.location, s.description])),
    });
    const where = await receipts.write(receipt);
    await checkpoint('sweep:receipt:written', st.accountId, ctx.runId);
    const marked = await directory.saveAccount(st, {
      kind: 'swept',
      sweptAt: receipt.finishedAt,
      sweepId: receipt.sweepId,
      receipt: where,
      counts: receipt.counts,
    });
    if (!marked) throw new PurgeConflict(st.accountId);
    await checkpoint('swept', st.accountId, ctx.runId);
    return { accountId: st.accountId, result: 'swept', counts: receipt.counts, receipt: where };
  }

  private storeOf(location: string): EventObjectStore {
    const store = this.props.stores.find((s) => s.location === location);
    if (!store) throw new Error(`no event store is configured for location ${location}`);
    return store;
  }
}

function sweepOf(st: AccountState): SweepProgress {
  if (!st.sweepProgress) throw new Error(`account ${st.accountId} has no sweep in progress`);
  return st.sweepProgress;
}
