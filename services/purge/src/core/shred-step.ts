/**
 * The purge's first step, crypto-shredding: the account's wrapped data keys (its `DATAKEY#<id>`
 * partition, one item per location) are deleted, so that every copy of its ciphertext, in any region,
 * replica or backup, is unreadable from then on, before a single object is deleted.
 */
import { addDirectoryCounts, type PurgeProgress } from './model';
import type { WorkStep } from './progress-ledger';

/** Deletes the data keys as one recorded batch (there is one per location), then moves on to `objects`. */
export const shredDataKeys: WorkStep<PurgeProgress> = async (ledger, ctx, st) => {
  const { directory, checkpoint, logger } = ledger.env;
  const keys = await directory.listDataKeys(st.accountId);
  if (keys.length > 0) {
    st = await ledger.amend(ctx, st, { pending: { kind: 'directory', items: keys } });
    await checkpoint('shred:pending', st.accountId, ctx.runId);
    await directory.deleteItems(keys);
    await checkpoint('shred:deleted', st.accountId, ctx.runId);
    const p = ledger.of(st);
    // Counted, cleared and moved on in one save.
    st = await ledger.save(ctx, st, {
      ...p,
      counts: addDirectoryCounts(p.counts, keys),
      pending: undefined,
      step: 'objects',
    });
  } else {
    st = await ledger.advance(ctx, st, 'objects');
  }
  logger.info('data keys shredded', { accountId: st.accountId, dataKeys: keys.length });
  await checkpoint('shred:done', st.accountId, ctx.runId);
  return { state: st };
};
