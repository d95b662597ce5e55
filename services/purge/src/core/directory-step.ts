/**
 * The step that deletes an account's directory items in recorded batches of at most `DIRECTORY_BATCH`,
 * and its published campaign configs: the purge's third step (everything the account still owns) and the
 * sweep's first (what the data path wrote after the purge: wrapped data keys first, then conversion
 * claims).
 */
import { addDirectoryCounts, type DirectoryEntry } from './model';
import type { PurgeDirectory } from './ports';
import type { WorkStep } from './progress-ledger';
import type { TrackedProgress } from './progress-track';

/**
 * The directory step of a purge or sweep: deletes what `list` finds for the account, then moves on to
 * `next`.
 */
export function deleteDirectoryItems<P extends TrackedProgress>(
  list: (directory: PurgeDirectory, accountId: string) => Promise<DirectoryEntry[]>,
  next: P['step'],
): WorkStep<P> {
  return async (ledger, ctx, st) => {
    const { directory, deleter, publishedConfigs } = ledger.env;
    const accountId = st.accountId;
    const items = await list(directory, accountId);
    // Before the campaign items, as the documents are derived from them. (Nothing republishes a purged
    // account's configs, so removing the prefix again in its sweep costs nothing.)
    if (publishedConfigs) {
      const removed = await publishedConfigs.deleteAccount(accountId);
      ledger.env.logger.info('published configs deleted', {
        accountId,
        store: publishedConfigs.description,
        ...removed,
      });
    }
    const state = { st };
    await deleter.deleteEntries(
      directory,
      items,
      ledger.batchRecorder(ctx, state, 'directory', {
        pending: (batch) => ({ kind: 'directory', items: batch }),
        count: addDirectoryCounts,
      }),
    );
    st = await ledger.advance(ctx, state.st, next);
    await ledger.pass('directory:done', accountId, ctx.runId);
    return { state: st };
  };
}
