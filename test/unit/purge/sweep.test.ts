/**
 * The sweep of purged accounts on embedded defaults: what reaches the event store (or the directory) for
 * an account after its purge is deleted once the sweep falls due, a day after the purge and before the
 * 90-day deadline; a prefix sibling is untouched; the sweep happens exactly once, leaves a write-once
 * receipt next to the purge's, survives a kill at every checkpoint, and is alarmed on when overdue.
 */
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DIRECTORY, RETENTION } from '../../../platform';
import { itemKeys, toItem } from '../../../services/shared/directory/item-directory';
import { DAY_MS } from '../../../services/purge/src/core/eligibility';
import type { SweepReceipt } from '../../../services/purge/src/core/model';
import { SWEEP_CHECKPOINTS, type CheckpointName } from '../../../services/purge/src/core/ports';
import { FileReceiptStore } from '../../../services/purge/src/local/file-receipt-store';
import { formatReport } from '../../../services/purge/src/report';
import { localWorld, type LocalWorld } from '../../support/purge-local';
import { NOW, daysAgo, directorySnapshot, leftoverItems, treeSnapshot } from '../../support/purge-world';

const PURGED = 'acc_alpha0001';
const SIBLING = 'acc_alpha00012';
const SWEEP_DUE = new Date(NOW.getTime() + RETENTION.purgeSweepAfterDays * DAY_MS);
const at = (ms: number) => () => new Date(ms);

let world: LocalWorld;
beforeEach(async () => {
  world = await localWorld(NOW, {
    extra: [
      { id: PURGED, status: 'expired', expiredAt: daysAgo(60), eligible: true },
      // Its prefix `account=acc_alpha00012/` starts with `account=acc_alpha0001` (without the slash).
      { id: SIBLING, status: 'active', eligible: false },
    ],
  });
});
afterEach(async () => {
  await world.dispose();
});

/** Writes late event files under an account's prefix, as a disk spool drained after the purge would. */
async function deliverLate(accountId: string, files: number, tag = 'late'): Promise<number> {
  const dir = join(world.dataDir, 'events', `account=${accountId}`, 'dt=2025-06-01');
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const body = `{"id":"${tag}-${i}","accountId":"${accountId}"}\n`;
    await writeFile(join(dir, `${tag}-${i}.ndjson`), body);
    bytes += Buffer.byteLength(body);
  }
  return bytes;
}

/** What the data path may write for an account after its purge: a wrapped key and a conversion claim. */
async function writeLateItems(accountId: string): Promise<void> {
  const dir = world.directory();
  const record = {
    accountId,
    location: 'americas',
    wrapped: 'AAAA',
    dataKeyId: 'late',
    createdAt: NOW.toISOString(),
  };
  await dir.putItemIf(toItem(itemKeys.dataKey(accountId, 'americas'), record), {});
  await dir.claimConversion({ accountId, key: 'api#late', expiresAtMs: Date.now() + DAY_MS }, Date.now());
}

async function eventFiles(accountId: string): Promise<string[]> {
  return Object.keys(await treeSnapshot(join(world.dataDir, 'events', `account=${accountId}`)));
}

async function sweepReceiptFiles(accountId: string): Promise<string[]> {
  const files = await readdir(join(world.dataDir, 'receipts', accountId)).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.sweep.json'));
}

test('late data under a purged prefix is gone after the first run once the sweep is due; the sibling is untouched; exactly once', async () => {
  const purge = await world.job().run();
  expect(purge.outcomes.map((o) => [o.accountId, o.result])).toContainEqual([PURGED, 'purged']);
  expect(purge.sweeps).toEqual([]);
  const purgeId = purge.runId;
  const purgeReceipt = purge.outcomes.find((o) => o.accountId === PURGED)!.receipt!;
  expect(await eventFiles(PURGED)).toEqual([]);

  const lateBytes = await deliverLate(PURGED, 2);
  await writeLateItems(PURGED);
  const siblingEvents = await treeSnapshot(join(world.dataDir, 'events', `account=${SIBLING}`));
  expect(Object.keys(siblingEvents)).toHaveLength(3);
  const siblingItems = await directorySnapshot(world.directory(), [SIBLING]);

  // Half a day after the purge: not due, nothing is touched.
  const early = SWEEP_DUE.getTime() - 12 * 3600_000;
  const notYet = await world.job({ now: at(early) }).run();
  expect(notYet.sweeps).toEqual([]);
  expect((await world.job({ now: at(early) }).run({ dryRun: true })).sweepPreviews).toEqual([]);
  expect(await eventFiles(PURGED)).toHaveLength(2);
  expect(await sweepReceiptFiles(PURGED)).toEqual([]);

  // Due: a dry run lists the sweep with what it would delete, and changes nothing.
  const beforeDry = await treeSnapshot(world.dataDir);
  const dry = await world.job({ now: () => SWEEP_DUE }).run({ dryRun: true });
  expect(await treeSnapshot(world.dataDir)).toEqual(beforeDry);
  const preview = dry.sweepPreviews.find((p) => p.accountId === PURGED);
  expect(preview).toEqual({
    accountId: PURGED,
    purgeId,
    purgedAt: NOW.toISOString(),
    dueAt: SWEEP_DUE.toISOString(),
    deadline: new Date(NOW.getTime() + 30 * DAY_MS).toISOString(),
    overdue: false,
    counts: {
      dataKeys: { deleted: 1, locations: ['americas'] },
      objects: { americas: { versions: 2, deleteMarkers: 0, bytes: lateBytes } },
      directory: { campaigns: 0, apiKeys: 0, conversionClaims: 1, other: 0 },
    },
  });
  expect(formatReport(dry, 'file')).toMatch(
    new RegExp(`${PURGED} {2}sweep of purge ${purgeId} \\(purged ${NOW.toISOString()}; due since`),
  );

  const swept = await world.job({ now: () => SWEEP_DUE }).run();
  const outcome = swept.sweeps.find((o) => o.accountId === PURGED)!;
  expect(outcome).toMatchObject({ result: 'swept', counts: preview!.counts });
  // (The run purges what became eligible meanwhile, as ever; the purged account is not purged again.)
  expect(swept.outcomes.map((o) => o.accountId)).not.toContain(PURGED);
  expect(await eventFiles(PURGED)).toEqual([]);
  expect(
    await stat(join(world.dataDir, 'events', `account=${PURGED}`)).catch(() => undefined),
  ).toBeUndefined();
  expect(await leftoverItems(world.directory(), PURGED)).toEqual([]);
  // The sibling whose prefix starts with the purged one's: every byte and item as it was.
  expect(await treeSnapshot(join(world.dataDir, 'events', `account=${SIBLING}`))).toEqual(siblingEvents);
  expect(await directorySnapshot(world.directory(), [SIBLING])).toEqual(siblingItems);

  // The receipt: next to the purge's, write-once, naming the purge it completes.
  const file = join(world.dataDir, 'receipts', PURGED, `${purgeId}.sweep.json`);
  expect(outcome.receipt).toBe(file);
  expect((await stat(file)).mode & 0o777).toBe(0o444);
  const receipt = JSON.parse(await readFile(file, 'utf8')) as SweepReceipt;
  expect(receipt).toEqual({
    kind: 'trackstack.purge-sweep-receipt',
    version: 1,
    accountId: PURGED,
    purgeId,
    purgeReceipt,
    sweepId: swept.runId,
    runId: swept.runId,
    runIds: [swept.runId],
    expiredAt: daysAgo(60),
    purgedAt: NOW.toISOString(),
    dueAt: SWEEP_DUE.toISOString(),
    deadline: preview!.deadline,
    startedAt: SWEEP_DUE.toISOString(),
    finishedAt: SWEEP_DUE.toISOString(),
    counts: preview!.counts,
    stores: { directory: 'file', objects: { americas: `file:${join(world.dataDir, 'events')}` } },
  });
  expect(
    await new FileReceiptStore({ dir: join(world.dataDir, 'receipts') }).readSweep(PURGED, purgeId),
  ).toEqual(receipt);
  // Recorded on the account, by compare-and-set like the purge's progress.
  const record = await world
    .directory()
    .readItem({ pk: DIRECTORY.accountPk(PURGED), sk: DIRECTORY.accountSk });
  expect(record).toMatchObject({
    status: 'purged',
    purgeId,
    sweptAt: SWEEP_DUE.toISOString(),
    sweepId: swept.runId,
    sweepReceipt: file,
  });
  expect(JSON.parse(String(record!.sweepCounts))).toEqual(preview!.counts);
  expect(record!.sweepProgress).toBeUndefined();

  // Exactly once: a later run, even with more late data, does not sweep the account again.
  // (Accounts purged by the previous run are swept by this one, as due.)
  await deliverLate(PURGED, 1, 'later');
  const afterSweep = await world
    .directory()
    .readItem({ pk: DIRECTORY.accountPk(PURGED), sk: DIRECTORY.accountSk });
  const again = await world.job({ now: at(SWEEP_DUE.getTime() + DAY_MS) }).run();
  expect(again.sweeps.map((o) => o.accountId)).not.toContain(PURGED);
  expect(await eventFiles(PURGED)).toEqual(['dt=2025-06-01/later-0.ndjson']);
  expect(
    await world.directory().readItem({ pk: DIRECTORY.accountPk(PURGED), sk: DIRECTORY.accountSk }),
  ).toEqual(afterSweep);
  expect(await sweepReceiptFiles(PURGED)).toEqual([`${purgeId}.sweep.json`]);
});

test('a purged account unswept past its deadline counts in the alarm metric until it is swept', async () => {
  // Purged on day 89: the deadline is a day later, and the sweep is due then.
  const purge = await world.job().run();
  expect(purge.outcomes.map((o) => o.accountId)).toContain('acc_expired89d');
  await deliverLate('acc_expired89d', 1);
  const pastDeadline = NOW.getTime() + 2 * DAY_MS;

  const dry = await world.job({ now: at(pastDeadline) }).run({ dryRun: true });
  expect(dry.sweepPreviews.find((p) => p.accountId === 'acc_expired89d')).toMatchObject({
    overdue: true,
    dueAt: new Date(NOW.getTime() + DAY_MS).toISOString(),
  });
  expect(formatReport(dry, 'file')).toMatch(/acc_expired89d {2}sweep of purge .* OVERDUE \(past day 80\)/);
  expect(dry.metrics.overdueAccounts).toBe(1);

  const starved = await world.job({ now: at(pastDeadline) }).run({ timeBudgetMs: 0 });
  expect(starved.sweepsNotStarted).toContain('acc_expired89d');
  expect(starved.metrics).toMatchObject({ overdueAccounts: 1, incomplete: true });
  expect(formatReport(starved, 'file')).toMatch(/sweeps not started \(time budget used up/);

  const done = await world.job({ now: at(pastDeadline) }).run();
  expect(done.sweeps.find((o) => o.accountId === 'acc_expired89d')).toMatchObject({ result: 'swept' });
  expect(done.metrics.overdueAccounts).toBe(0);
  expect(await eventFiles('acc_expired89d')).toEqual([]);
});

test('a sweep whose versions keep failing is reported as a failed account and finished by a later run', async () => {
  await world.job().run();
  await deliverLate(PURGED, 2);
  let failing = true;
  const report = await world
    .job({
      now: () => SWEEP_DUE,
      wrapStore: (store) => ({
        location: store.location,
        description: store.description,
        listVersions: (p, o) => store.listVersions(p, o),
        deleteVersions: async (refs) =>
          failing
            ? { deleted: [], errors: refs.map((r) => ({ ...r, code: 'AccessDenied', message: 'denied' })) }
            : store.deleteVersions(refs),
      }),
    })
    .run();
  expect(report.sweeps.find((o) => o.accountId === PURGED)).toMatchObject({
    result: 'failed',
    step: 'objects',
    errors: [
      expect.objectContaining({ code: 'AccessDenied' }),
      expect.objectContaining({ code: 'AccessDenied' }),
    ],
  });
  expect(report.metrics.failedAccounts).toBeGreaterThanOrEqual(1);
  expect(await sweepReceiptFiles(PURGED)).toEqual([]);
  failing = false;
  const fixed = await world.job({ now: () => SWEEP_DUE }).run();
  expect(fixed.sweeps.find((o) => o.accountId === PURGED)).toMatchObject({ result: 'swept' });
  expect(await eventFiles(PURGED)).toEqual([]);
});

test('two runs at once sweep each account exactly once', async () => {
  await world.job().run();
  await deliverLate(PURGED, 3);
  const [a, b] = await Promise.all([
    world.job({ now: () => SWEEP_DUE, pageSize: 1 }).run(),
    world.job({ now: () => SWEEP_DUE, pageSize: 1 }).run(),
  ]);
  const swept = [...a.sweeps, ...b.sweeps].filter((o) => o.result === 'swept' && o.accountId === PURGED);
  expect(swept).toHaveLength(1);
  expect(swept[0]!.counts!.objects.americas!.versions).toBe(3);
  expect(await sweepReceiptFiles(PURGED)).toHaveLength(1);
});

describe('killed at every checkpoint of the sweep, the next run finishes it once with exact counts', () => {
  class Killed extends Error {}
  const cases: [CheckpointName, number][] = [
    ...SWEEP_CHECKPOINTS.map((c): [CheckpointName, number] => [c, 1]),
    ['sweep:objects:pending', 2],
    ['sweep:objects:deleted', 2],
    ['sweep:objects:committed', 2],
  ];

  test.each(cases)('%s (occurrence %i)', async (name, occurrence) => {
    await world.job().run();
    const bytes = await deliverLate(PURGED, 3);
    await writeLateItems(PURGED);
    const sibling = await treeSnapshot(join(world.dataDir, 'events', `account=${SIBLING}`));
    let seen = 0;
    const hooks = {
      checkpoint: ({ name: n, accountId }: { name: CheckpointName; accountId: string }) => {
        if (n === name && accountId === PURGED && ++seen === occurrence) throw new Killed(name);
      },
    };
    // Two files per batch: the three late files take two batches.
    await expect(world.job({ now: () => SWEEP_DUE, pageSize: 2, hooks }).run()).rejects.toBeInstanceOf(
      Killed,
    );
    if (name !== 'swept') {
      // The killed run's lease still holds.
      const early = await world.job({ now: () => SWEEP_DUE, pageSize: 2 }).run();
      expect(early.sweeps.find((o) => o.accountId === PURGED)).toMatchObject({ result: 'busy' });
    }
    const later = new Date(SWEEP_DUE.getTime() + 3600_000);
    const resumed = await world.job({ now: () => later, pageSize: 2 }).run();
    expect(resumed.sweeps.filter((o) => o.result !== 'swept')).toEqual([]);
    expect(resumed.sweeps.filter((o) => o.accountId === PURGED).map((o) => o.result)).toEqual(
      name === 'swept' ? [] : ['swept'],
    );

    const files = await sweepReceiptFiles(PURGED);
    expect(files).toHaveLength(1);
    const receipt = JSON.parse(
      await readFile(join(world.dataDir, 'receipts', PURGED, files[0]!), 'utf8'),
    ) as SweepReceipt;
    expect(receipt.counts).toEqual({
      dataKeys: { deleted: 1, locations: ['americas'] },
      objects: { americas: { versions: 3, deleteMarkers: 0, bytes } },
      directory: { campaigns: 0, apiKeys: 0, conversionClaims: 1, other: 0 },
    });
    const finishedFirst =
      name === 'sweep:receipt:prepared' || name === 'sweep:receipt:written' || name === 'swept';
    expect(receipt.runIds).toHaveLength(finishedFirst ? 1 : 2);
    expect(await eventFiles(PURGED)).toEqual([]);
    expect(await leftoverItems(world.directory(), PURGED)).toEqual([]);
    expect(await treeSnapshot(join(world.dataDir, 'events', `account=${SIBLING}`))).toEqual(sibling);
    const record = await world
      .directory()
      .readItem({ pk: DIRECTORY.accountPk(PURGED), sk: DIRECTORY.accountSk });
    expect(record).toMatchObject({
      sweptAt: receipt.finishedAt,
      sweepReceipt: expect.stringMatching(/\.sweep\.json$/),
    });
    expect(record!.sweepProgress).toBeUndefined();
  });
});
