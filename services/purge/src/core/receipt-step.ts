/**
 * The last step of a purge or a sweep: its end is fixed on the progress first (time, run, stores), so
 * that a receipt written again after a crash is the same bytes; then the receipt is written once to the
 * audit store, and only then is the account record marked (purged, or swept).
 */
import { PurgeConflict } from './errors';
import type { AccountState, AuditReceipt, DeletionProgress } from './model';
import type { AccountChange } from './ports';
import type { StepPlan } from './progress-ledger';
import type { TrackedProgress } from './progress-track';

/** What a receipt is built from: the account and its persisted progress alone. */
export interface ReceiptInput<P extends TrackedProgress> {
  readonly account: AccountState;
  readonly progress: P;
  /** The run the receipt names as the one that finished the work. */
  readonly runId: string;
  /** The directory the work covered. */
  readonly directory: string;
  /** The event store of each location the work covered. */
  readonly objectStores: Readonly<Record<string, string>>;
}

/** How one kind of work turns into its receipt and marks the account. */
export interface ReceiptRule<
  P extends TrackedProgress,
  R extends AuditReceipt,
  Done extends 'purged' | 'swept',
> {
  /** Builds the receipt (`buildReceipt`, `buildSweepReceipt`). */
  build(input: ReceiptInput<P>): R;
  /** The change that marks the account once its receipt is at `where`. */
  mark(receipt: R, where: string): AccountChange;
  /** The outcome's result, and the checkpoint passed once the account is marked. */
  readonly done: Done;
}

/** The `receipt` step of a purge or sweep, by `rule`. */
export function writeReceipt<
  P extends TrackedProgress,
  R extends AuditReceipt,
  Done extends 'purged' | 'swept',
>(rule: ReceiptRule<P, R, Done>): StepPlan<P, Done>['finish'] {
  return async (ledger, ctx, st) => {
    const { directory, stores, receipts, checkpoint, now } = ledger.env;
    const covered = {
      directory: directory.description,
      objects: Object.fromEntries(stores.map((s) => [s.location, s.description])),
    };
    let p = ledger.of(st);
    if (!p.finishedAt) {
      st = await ledger.amend(ctx, st, {
        finishedAt: now().toISOString(),
        finishedRunId: ctx.runId,
        finishedStores: covered,
      });
      p = ledger.of(st);
      await ledger.pass('receipt:prepared', st.accountId, ctx.runId);
    }
    const { runId, runIds } = receiptRuns(p, ctx.runId);
    const receipt = rule.build({
      account: st,
      progress: { ...p, runIds },
      runId,
      directory: p.finishedStores?.directory ?? covered.directory,
      objectStores: p.finishedStores?.objects ?? covered.objects,
    });
    const where = await receipts.write(receipt);
    await ledger.pass('receipt:written', st.accountId, ctx.runId);
    const marked = await directory.saveAccount(st, rule.mark(receipt, where));
    if (!marked) throw new PurgeConflict(st.accountId);
    await checkpoint(rule.done, st.accountId, ctx.runId);
    return { accountId: st.accountId, result: rule.done, counts: receipt.counts, receipt: where };
  };
}

/**
 * The runs a receipt names: those up to the one that fixed the end (`finishedRunId`). A run that only
 * rewrote the receipt after a crash is not part of it, so the receipt stays identical.
 */
export function receiptRuns(
  progress: DeletionProgress,
  currentRunId: string,
): { readonly runId: string; readonly runIds: readonly string[] } {
  const runId = progress.finishedRunId ?? currentRunId;
  const upTo = progress.runIds.indexOf(runId);
  return { runId, runIds: upTo >= 0 ? progress.runIds.slice(0, upTo + 1) : progress.runIds };
}
