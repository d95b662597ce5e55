/**
 * The step that empties an account's `account=<id>/` prefix in every location's event store: the purge's
 * second step and the sweep's (for what arrived after the purge). Location by location, every object
 * version and delete marker goes in recorded batches (`BatchDeleter.drainPrefix`); a location is marked
 * done once its listing comes back empty, so a later run does not list it again.
 */
import { EVENT_OBJECTS } from '../../../../platform';
import { addObjectCounts } from './model';
import type { WorkStep } from './progress-ledger';
import type { TrackedProgress } from './progress-track';

/** The objects step of a purge or sweep, which moves on to `next` once every location is empty. */
export function emptyEventStores<P extends TrackedProgress>(next: P['step']): WorkStep<P> {
  return async (ledger, ctx, st) => {
    const { stores, deleter } = ledger.env;
    const accountId = st.accountId;
    const prefix = EVENT_OBJECTS.accountPrefix(accountId);
    for (const store of stores) {
      const location = store.location;
      if (ledger.of(st).locationsDone.includes(location)) continue;
      const state = { st };
      const drained = await deleter.drainPrefix(
        store,
        prefix,
        () => ctx.outOfTime(),
        ledger.batchRecorder(ctx, state, 'objects', {
          pending: (versions) => ({ kind: 'objects', location, versions }),
          count: (counts, gone) => addObjectCounts(counts, location, gone),
          location,
        }),
      );
      st = state.st;
      if (drained === 'paused') return { state: st, paused: true };
      st = await ledger.amend(ctx, st, { locationsDone: [...ledger.of(st).locationsDone, location] });
      await ledger.pass('objects:location-done', accountId, ctx.runId, location);
    }
    st = await ledger.advance(ctx, st, next);
    await ledger.pass('objects:done', accountId, ctx.runId);
    return { state: st };
  };
}
