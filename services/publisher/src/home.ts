/**
 * Data residency at the edge: the routing function reads an account's home location from the edge store
 * (`home:<accountId>`), so every account `publish-config` publishes gets its directory record's
 * `homeLocation` written there (or removed when the record has none), only when it differs.
 */
import { EDGE_STORE } from '../../../platform';
import type { AccountRecord } from '../../shared/directory/directory';
import { setHomeAtEdge, type EdgeStore } from '../../shared/edge-store/edge-store';

/** What happened to one account's home key. */
export interface HomeOutcome {
  readonly accountId: string;
  /** The value the edge store held; `undefined` when absent. */
  readonly before?: string;
  /** The record's home location; `undefined` when it has none. */
  readonly after?: string;
  readonly result: 'set' | 'removed' | 'unchanged';
}

/** Brings each account's `home:<accountId>` in line with its record (nothing written on a dry run). */
export async function syncHomes(
  store: EdgeStore,
  accounts: readonly AccountRecord[],
  options: { readonly dryRun?: boolean } = {},
): Promise<HomeOutcome[]> {
  const out: HomeOutcome[] = [];
  for (const a of accounts) {
    const before = await store.get(EDGE_STORE.homeKey(a.accountId));
    const after = a.homeLocation;
    const result = before === after ? 'unchanged' : after === undefined ? 'removed' : 'set';
    if (result !== 'unchanged' && !options.dryRun) await setHomeAtEdge(store, a.accountId, after);
    out.push({
      accountId: a.accountId,
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
      result,
    });
  }
  return out;
}

/** One line for a changed home: `acc_…  home: (none) → europe`. */
export function formatHome(o: HomeOutcome): string {
  return `  ${o.accountId}  home: ${o.before ?? '(none)'} → ${o.after ?? '(none)'}`;
}
