/**
 * The edge health check's decision rules, with a scripted fetch and an in-memory edge store: a location
 * goes down only when every probe of a run fails, comes back only when every probe succeeds, and the store
 * is written only when the set of down locations changes.
 */
import { EDGE_STORE, edgeHealthPath, type Location } from '../../../platform';
import {
  checkHealth,
  nextState,
  type CheckHealthProps,
} from '../../../services/edge-health/src/check-health';
import type { EdgeStore } from '../../../services/shared/edge-store/edge-store';

/** An in-memory edge store that counts writes. */
class MemoryStore implements EdgeStore {
  readonly data = new Map<string, string>();
  writes = 0;
  async get(key: string) {
    return this.data.get(key);
  }
  async put(entries: Readonly<Record<string, string>>) {
    this.writes++;
    for (const [k, v] of Object.entries(entries)) this.data.set(k, v);
  }
  async delete(keys: readonly string[]) {
    this.writes++;
    for (const k of keys) this.data.delete(k);
  }
}

type Answer = number | 'timeout';

/** A fetch that answers each location's probes from a script (the last answer repeats). */
function scriptedFetch(script: Partial<Record<Location, readonly Answer[]>>, urls: string[]): typeof fetch {
  const seen = new Map<string, number>();
  return (async (input: string | URL | Request) => {
    const url = String(input);
    urls.push(url);
    const location = (['americas', 'europe', 'apac'] as const).find((l) => url.endsWith(edgeHealthPath(l)))!;
    const answers = script[location] ?? [200];
    const n = seen.get(location) ?? 0;
    seen.set(location, n + 1);
    const answer = answers[Math.min(n, answers.length - 1)]!;
    if (answer === 'timeout')
      throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    return new Response(answer === 204 ? null : '{}', { status: answer });
  }) as typeof fetch;
}

async function run(
  store: MemoryStore,
  script: Partial<Record<Location, readonly Answer[]>>,
  extra: Partial<CheckHealthProps> = {},
) {
  const urls: string[] = [];
  const sleeps: number[] = [];
  const report = await checkHealth({
    edgeUrl: 'https://edge.example',
    locations: ['americas', 'europe', 'apac'],
    probes: 3,
    intervalMs: 10_000,
    timeoutMs: 3_000,
    store,
    fetch: scriptedFetch(script, urls),
    sleep: async (ms) => void sleeps.push(ms),
    ...extra,
  });
  return { report, urls, sleeps };
}

describe('nextState', () => {
  it.each([
    ['up', 0, 3, 'down'],
    ['up', 1, 3, 'up'],
    ['up', 3, 3, 'up'],
    ['down', 0, 3, 'down'],
    ['down', 2, 3, 'down'],
    ['down', 3, 3, 'up'],
    ['up', 0, 1, 'down'],
    ['down', 1, 1, 'up'],
  ] as const)('%s with %i/%i ok → %s', (before, ok, probes, after) => {
    expect(nextState(before, ok, probes)).toBe(after);
  });
});

describe('checkHealth', () => {
  it('probes every location TS_PROBES times through the CDN, interval apart, and writes nothing while all are up', async () => {
    const store = new MemoryStore();
    const { report, urls, sleeps } = await run(store, {});
    expect(urls.filter((u) => u === 'https://edge.example/_health/europe')).toHaveLength(3);
    expect(urls).toHaveLength(9);
    expect(sleeps).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, 10_000]);
    expect(report.changed).toBe(false);
    expect(store.writes).toBe(0);
    expect(report.locations.map((l) => [l.location, l.ok, l.before, l.after])).toEqual([
      ['americas', 3, 'up', 'up'],
      ['europe', 3, 'up', 'up'],
      ['apac', 3, 'up', 'up'],
    ]);
  });

  it('marks a location down only when every probe failed (5xx or timeout)', async () => {
    const store = new MemoryStore();
    const mixed = await run(store, { europe: [503, 200, 503] });
    expect(mixed.report.down).toEqual([]);
    expect(store.writes).toBe(0);

    const failed = await run(store, { europe: [503, 'timeout', 502] });
    expect(failed.report.down).toEqual(['europe']);
    expect(store.data.get(EDGE_STORE.downKey)).toBe('europe');
    expect(
      failed.report.locations.find((l) => l.location === 'europe')!.results.map((r) => r.error ?? r.status),
    ).toEqual([503, 'no answer within 3000 ms', 502]);
  });

  it('brings a location back only when every probe succeeded, and writes only on a change', async () => {
    const store = new MemoryStore();
    store.data.set(EDGE_STORE.downKey, 'apac');
    await run(store, { apac: [200, 500, 200] });
    expect(store.data.get(EDGE_STORE.downKey)).toBe('apac');
    expect(store.writes).toBe(0);

    await run(store, { apac: [404] });
    expect(store.writes).toBe(0);

    const back = await run(store, { apac: [200, 204, 200] });
    expect(back.report.changed).toBe(true);
    expect(back.report.locations.find((l) => l.location === 'apac')).toMatchObject({
      before: 'down',
      after: 'up',
    });
    expect(store.data.has(EDGE_STORE.downKey)).toBe(false);
    expect(store.writes).toBe(1);
  });

  it('keeps the state of a location it does not probe, and writes the down set in one order', async () => {
    const store = new MemoryStore();
    store.data.set(EDGE_STORE.downKey, 'apac');
    const { report } = await run(store, { americas: [500] }, { locations: ['americas', 'europe'] });
    expect(report.down).toEqual(['americas', 'apac']);
    expect(store.data.get(EDGE_STORE.downKey)).toBe('americas,apac');
  });

  it('counts a redirect as a failure', async () => {
    const store = new MemoryStore();
    const { report } = await run(store, { europe: [302] });
    expect(report.down).toEqual(['europe']);
  });

  it('refuses a run with nothing to probe', async () => {
    await expect(run(new MemoryStore(), {}, { locations: [] })).rejects.toThrow(/no location to probe/);
    await expect(run(new MemoryStore(), {}, { probes: 0 })).rejects.toThrow(/probes must be at least 1/);
  });
});
