/**
 * Kill and resume on embedded defaults: the job is stopped at every checkpoint in turn (a hook that
 * throws, which the core lets through like a kill), then the next run finishes with exact counts. Also
 * the time budget, per-key delete errors, and two runs at once.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKPOINTS,
  type CheckpointName,
  type EventObjectStore,
} from '../../../services/purge/src/core/ports';
import type { PurgeCounts, PurgeReceipt } from '../../../services/purge/src/core/model';
import { localWorld, type LocalWorld } from '../../support/purge-local';
import { NOW, treeSnapshot } from '../../support/purge-world';

let world: LocalWorld;
beforeEach(async () => {
  world = await localWorld();
});
afterEach(async () => {
  await world.dispose();
});

class Killed extends Error {}

/** A hook that kills the run the `occurrence`-th time `name` is passed for `accountId`. */
function killAt(name: CheckpointName, accountId: string, occurrence = 1) {
  let seen = 0;
  return {
    checkpoint: ({ name: n, accountId: a }: { name: CheckpointName; accountId: string }) => {
      if (n === name && a === accountId && ++seen === occurrence) throw new Killed(`killed at ${name}`);
    },
  };
}

const LATER = new Date(NOW.getTime() + 3600_000);

function expectedCounts(w: LocalWorld, id: string): PurgeCounts {
  const e = w.events[id]!;
  return {
    dataKeys: { deleted: 2, locations: ['americas', 'europe'] },
    objects: { americas: { versions: e.files, deleteMarkers: 0, bytes: e.bytes } },
    directory: { campaigns: 2, apiKeys: 1, conversionClaims: 1, other: 0 },
  };
}

async function receiptsOf(w: LocalWorld, id: string): Promise<PurgeReceipt[]> {
  const dir = join(w.dataDir, 'receipts', id);
  const files = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(
    files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as PurgeReceipt),
  );
}

// Two files per delete batch, so the 3 files of an account take two batches and batch checkpoints repeat.
const PAGE = 2;
const cases: [CheckpointName, number][] = [
  ...CHECKPOINTS.map((c): [CheckpointName, number] => [c, 1]),
  ['objects:pending', 2],
  ['objects:deleted', 2],
  ['objects:committed', 2],
];

test.each(cases)(
  'killed at %s (occurrence %i), the next run finishes with exact counts',
  async (name, occurrence) => {
    const target = 'acc_expired45d';
    // An hour later the account one millisecond short of day 45 is eligible too; the rest must stay as is.
    const others = Object.values(world.accounts)
      .filter((a) => !a.eligible && a.id !== 'acc_almost45d')
      .map((a) => a.id);
    const before = await treeSnapshot(join(world.dataDir, 'events'));

    await expect(
      world.job({ pageSize: PAGE, hooks: killAt(name, target, occurrence) }).run(),
    ).rejects.toBeInstanceOf(Killed);

    // Right after the kill the lease still holds: a run now leaves the account alone.
    if (name !== 'purged') {
      const early = await world.job({ pageSize: PAGE }).run();
      expect(early.outcomes.find((o) => o.accountId === target)).toMatchObject({ result: 'busy' });
    }

    const resumed = await world.job({ pageSize: PAGE, now: () => LATER }).run();
    expect(resumed.outcomes.filter((o) => o.result !== 'purged')).toEqual([]);
    const receipts = await receiptsOf(world, target);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.counts).toEqual(expectedCounts(world, target));
    expect((await receiptsOf(world, 'acc_expired89d'))[0]!.counts).toEqual(
      expectedCounts(world, 'acc_expired89d'),
    );
    if (name === 'purged') {
      // Killed after the last write: already complete, nothing left for the next run.
      expect(resumed.outcomes.map((o) => o.accountId)).not.toContain(target);
    } else {
      // Once the end is fixed (receipt:prepared), the receipt names only the runs up to then.
      const finishedFirst = name === 'receipt:prepared' || name === 'receipt:written';
      expect(receipts[0]!.runIds).toHaveLength(finishedFirst ? 1 : 2);
    }
    const after = await treeSnapshot(join(world.dataDir, 'events'));
    for (const id of others) {
      const pick = (t: Record<string, string>) =>
        Object.entries(t).filter(([k]) => k.startsWith(`account=${id}/`));
      expect(pick(after)).toEqual(pick(before));
    }
    expect(Object.keys(after).filter((k) => k.startsWith(`account=${target}/`))).toEqual([]);
    expect(await world.directory().listItems(`ACCOUNT#${target}`)).toEqual([
      expect.objectContaining({ status: 'purged', sk: 'META' }),
    ]);
  },
);

test('killed twice (mid-batch, then after the receipt), the third run still counts everything once', async () => {
  const target = 'acc_expired89d';
  await expect(
    world.job({ pageSize: PAGE, hooks: killAt('objects:deleted', target, 2) }).run(),
  ).rejects.toBeInstanceOf(Killed);
  const later = new Date(NOW.getTime() + 3600_000);
  await expect(
    world.job({ pageSize: PAGE, now: () => later, hooks: killAt('receipt:written', target) }).run(),
  ).rejects.toBeInstanceOf(Killed);
  const last = new Date(NOW.getTime() + 7200_000);
  const report = await world.job({ pageSize: PAGE, now: () => last }).run();
  expect(report.outcomes.find((o) => o.accountId === target)).toMatchObject({ result: 'purged' });
  const receipts = await receiptsOf(world, target);
  expect(receipts).toHaveLength(1);
  expect(receipts[0]!.counts).toEqual(expectedCounts(world, target));
  // The receipt names the run that finished the data (the second), not the one that only rewrote it.
  expect(receipts[0]!.runIds).toHaveLength(2);
});

test('a time budget of zero starts nothing and changes nothing', async () => {
  const before = await treeSnapshot(world.dataDir);
  const report = await world.job().run({ timeBudgetMs: 0 });
  expect(report.outcomes).toEqual([]);
  expect(report.notStarted).toEqual(['acc_expired89d', 'acc_expired45d']);
  expect(report.metrics.incomplete).toBe(true);
  expect(await treeSnapshot(world.dataDir)).toEqual(before);
});

test('a run that uses up its budget mid-account pauses, releases it, and the next run continues', async () => {
  // A fake monotonic clock: every reading advances 10 ms, so a 150 ms budget lasts a few batches.
  let t = 0;
  const elapsedMs = () => (t += 10);
  const first = await world.job({ pageSize: 1, elapsedMs }).run({ timeBudgetMs: 50 });
  expect(first.outcomes).toEqual([
    expect.objectContaining({ accountId: 'acc_expired89d', result: 'paused' }),
  ]);
  expect(first.notStarted).toEqual(['acc_expired45d']);
  expect(first.metrics.incomplete).toBe(true);
  // Released: the next run (same instant, no lease wait) continues.
  let rounds = 0;
  for (;;) {
    rounds += 1;
    const next = await world.job({ pageSize: 1, elapsedMs }).run({ timeBudgetMs: 50 });
    expect(next.outcomes.some((o) => o.result === 'busy' || o.result === 'failed')).toBe(false);
    if (!next.metrics.incomplete) break;
    expect(rounds).toBeLessThan(20);
  }
  for (const id of ['acc_expired89d', 'acc_expired45d']) {
    const receipts = await receiptsOf(world, id);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.counts).toEqual(expectedCounts(world, id));
  }
});

/** Wraps a store so that the given keys fail with `code` for their first `failures` delete attempts. */
function flaky(failing: (key: string) => boolean, failures: number, code = 'InternalError') {
  const attempts = new Map<string, number>();
  return (store: EventObjectStore): EventObjectStore => ({
    location: store.location,
    description: store.description,
    listVersions: (p, o) => store.listVersions(p, o),
    deleteVersions: async (refs) => {
      const fail = refs.filter((r) => {
        if (!failing(r.key)) return false;
        const n = (attempts.get(r.key) ?? 0) + 1;
        attempts.set(r.key, n);
        return n <= failures;
      });
      const out = await store.deleteVersions(refs.filter((r) => !fail.includes(r)));
      return {
        deleted: out.deleted,
        errors: [...out.errors, ...fail.map((r) => ({ ...r, code, message: 'try again' }))],
      };
    },
  });
}

test('per-key delete errors are retried; the retried versions are counted once', async () => {
  const wrapStore = flaky((k) => k.endsWith('seg-0001.ndjson'), 2);
  const report = await world.job({ wrapStore }).run();
  expect(report.outcomes.map((o) => o.result)).toEqual(['purged', 'purged']);
  for (const id of ['acc_expired89d', 'acc_expired45d'])
    expect((await receiptsOf(world, id))[0]!.counts).toEqual(expectedCounts(world, id));
});

test('a version that keeps failing is reported, the account is not marked purged, and a later run finishes', async () => {
  const sleeps: number[] = [];
  const wrapStore = flaky(
    (k) => k.includes('acc_expired45d') && k.endsWith('seg-0002.ndjson'),
    100,
    'AccessDenied',
  );
  const report = await world.job({ wrapStore, sleep: async (ms) => void sleeps.push(ms) }).run();
  const failed = report.outcomes.find((o) => o.accountId === 'acc_expired45d')!;
  expect(failed).toMatchObject({
    result: 'failed',
    step: 'objects',
    message: expect.stringMatching(/could not be deleted/),
  });
  expect(failed.errors).toEqual([
    expect.objectContaining({
      key: 'account=acc_expired45d/dt=2025-03-03/seg-0002.ndjson',
      code: 'AccessDenied',
    }),
  ]);
  expect(sleeps).toEqual([200, 400, 800]);
  expect(report.metrics.failedAccounts).toBe(1);
  expect((await world.directory().getAccount('acc_expired45d'))?.status).toBe('expired');
  expect(await receiptsOf(world, 'acc_expired45d')).toEqual([]);
  // The lease was released on failure: a run at the same instant, with the store fixed, finishes.
  const fixed = await world.job().run();
  expect(fixed.outcomes).toEqual([
    expect.objectContaining({ accountId: 'acc_expired45d', result: 'purged' }),
  ]);
  expect((await receiptsOf(world, 'acc_expired45d'))[0]!.counts).toEqual(
    expectedCounts(world, 'acc_expired45d'),
  );
});

test('two runs at once purge each account exactly once', async () => {
  const [a, b] = await Promise.all([world.job({ pageSize: 1 }).run(), world.job({ pageSize: 1 }).run()]);
  const purged = [...a.outcomes, ...b.outcomes].filter((o) => o.result === 'purged').map((o) => o.accountId);
  expect(purged.sort()).toEqual(['acc_expired45d', 'acc_expired89d']);
  for (const id of purged) {
    const receipts = await receiptsOf(world, id);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.counts).toEqual(expectedCounts(world, id));
  }
});
