/**
 * The purge core with the embedded-default adapters (local directory, file sink tree, receipt files) in a
 * temporary folder: what a run deletes and keeps, dry runs, receipts, deletion requests, metrics.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UnknownDataKeyError, DataKeyService } from '../../services/ingest/src/crypto/data-keys';
import { LocalKeyProvider } from '../../services/ingest/src/crypto/local-key-provider';
import { DAY_MS } from '../../services/purge/src/core/eligibility';
import { PurgeRequestError } from '../../services/purge/src/core/errors';
import { purgeMetricsEmf } from '../../services/purge/src/core/metrics';
import type { PurgeReceipt } from '../../services/purge/src/core/model';
import { localWorld, PURGED_LEFTOVER, type LocalWorld } from '../support/purge-local';
import {
  CONTACT_DOMAIN,
  NOW,
  PERSONAL_IP,
  directorySnapshot,
  treeSnapshot,
  type WorldAccount,
} from '../support/purge-world';

let world: LocalWorld;
beforeEach(async () => {
  world = await localWorld();
});
afterEach(async () => {
  await world.dispose();
});

const ids = (pick: (a: WorldAccount) => boolean) =>
  Object.values(world.accounts)
    .filter(pick)
    .map((a) => a.id);

function untouchedSnapshot(tree: Record<string, string>, accountIds: readonly string[]) {
  return Object.fromEntries(
    Object.entries(tree).filter(([k]) => accountIds.some((id) => k.startsWith(`account=${id}/`))),
  );
}

test('a run purges exactly the accounts expired at least 45 days ago; every other byte is unchanged', async () => {
  const eligible = ids((a) => a.eligible);
  const others = ids((a) => !a.eligible);
  expect(eligible.sort()).toEqual(['acc_expired45d', 'acc_expired89d']);
  const eventsBefore = await treeSnapshot(join(world.dataDir, 'events'));
  const dirBefore = await directorySnapshot(world.directory(), others);

  const report = await world.job().run();

  expect(report.outcomes.map((o) => [o.accountId, o.result])).toEqual([
    ['acc_expired89d', 'purged'],
    ['acc_expired45d', 'purged'],
  ]);
  const eventsAfter = await treeSnapshot(join(world.dataDir, 'events'));
  // Nothing of the eligible accounts is left, not even their folders.
  for (const id of eligible)
    expect(Object.keys(eventsAfter).some((k) => k.startsWith(`account=${id}/`))).toBe(false);
  expect(untouchedSnapshot(eventsAfter, others)).toEqual(untouchedSnapshot(eventsBefore, others));
  expect(eventsAfter[`account=acc_purged0001/${PURGED_LEFTOVER}`]).toBeDefined();
  expect(await directorySnapshot(world.directory(), others)).toEqual(dirBefore);

  // The directory keeps only the purged account record, stripped of personal fields.
  const dir = world.directory();
  for (const id of eligible) {
    const items = await dir.listItems(`ACCOUNT#${id}`);
    expect(items).toHaveLength(1);
    expect(await dir.listApiKeys(id)).toEqual([]);
    const record = items[0]!;
    expect(record).toMatchObject({ status: 'purged', purgedAt: NOW.toISOString(), purgeId: report.runId });
    expect(record.contactEmail).toBeUndefined();
    expect(record.purgeProgress).toBeUndefined();
    expect(Object.keys(record).sort()).toEqual(
      [
        'accountId',
        'createdAt',
        'expiredAt',
        'pk',
        'purgeId',
        'purgeReceipt',
        'purgeRevision',
        'purgedAt',
        'sk',
        'status',
      ].sort(),
    );
  }
});

test('receipts: exact counts per store, start and end, run id, read-only files, no personal data', async () => {
  const report = await world.job().run();
  const outcome = report.outcomes.find((o) => o.accountId === 'acc_expired45d')!;
  const file = outcome.receipt!;
  expect(file).toBe(join(world.dataDir, 'receipts', 'acc_expired45d', `${report.runId}.json`));
  expect((await stat(file)).mode & 0o777).toBe(0o444);
  const text = await readFile(file, 'utf8');
  const receipt = JSON.parse(text) as PurgeReceipt;
  const seeded = world.events.acc_expired45d!;
  expect(receipt).toEqual({
    kind: 'trackstack.purge-receipt',
    version: 1,
    accountId: 'acc_expired45d',
    purgeId: report.runId,
    runId: report.runId,
    runIds: [report.runId],
    trigger: 'schedule',
    expiredAt: world.accounts.expired45!.expiredAt,
    eligibleAt: NOW.toISOString(),
    deadline: new Date(NOW.getTime() + 45 * DAY_MS).toISOString(),
    startedAt: NOW.toISOString(),
    finishedAt: NOW.toISOString(),
    counts: {
      dataKeys: { deleted: 2, locations: ['americas', 'europe'] },
      objects: { americas: { versions: seeded.files, deleteMarkers: 0, bytes: seeded.bytes } },
      directory: { campaigns: 2, apiKeys: 1, other: 0 },
    },
    stores: { directory: 'file', objects: { americas: `file:${join(world.dataDir, 'events')}` } },
  });
  expect(text).not.toContain(CONTACT_DOMAIN);
  expect(text).not.toContain(PERSONAL_IP);
  expect(text).not.toMatch(/@/);
});

test('a dry run lists what would go, with counts, and changes nothing at all', async () => {
  const before = await treeSnapshot(world.dataDir);
  const report = await world.job().run({ dryRun: true });
  expect(await treeSnapshot(world.dataDir)).toEqual(before);
  expect(report.mode).toBe('dry-run');
  expect(report.outcomes).toEqual([]);
  expect(report.previews.map((p) => [p.accountId, p.overdue, p.ageDays])).toEqual([
    ['acc_expired89d', true, 89],
    ['acc_expired45d', false, 45],
  ]);
  expect(report.previews[1]!.counts).toEqual({
    dataKeys: { deleted: 2, locations: ['americas', 'europe'] },
    objects: { americas: { versions: 3, deleteMarkers: 0, bytes: world.events.acc_expired45d!.bytes } },
    directory: { campaigns: 2, apiKeys: 1, other: 0 },
  });
  expect(report.census).toEqual({ active: 2, waiting: 2, eligible: 2, purged: 1, invalid: 0 });
});

test('a second run finds nothing to do and writes no second receipt', async () => {
  await world.job().run();
  const before = await treeSnapshot(world.dataDir);
  const again = await world.job().run();
  expect(again.outcomes).toEqual([]);
  expect(await treeSnapshot(world.dataDir)).toEqual(before);
});

test('metrics: overdue accounts and the oldest unpurged expiry, rendered as EMF', async () => {
  const dry = await world.job().run({ dryRun: true });
  expect(dry.metrics).toMatchObject({
    overdueAccounts: 1,
    oldestUnpurgedExpiredDays: 89,
    eligibleUnpurgedAccounts: 2,
  });
  const done = await world.job().run();
  expect(done.metrics).toEqual({
    oldestUnpurgedExpiredDays: 45,
    overdueAccounts: 0,
    eligibleUnpurgedAccounts: 0,
    accountsPurged: 2,
    objectVersionsDeleted: 6,
    deleteMarkersDeleted: 0,
    failedAccounts: 0,
    incomplete: false,
  });
  const emf = JSON.parse(purgeMetricsEmf(dry.metrics, 'trackstack/dev', { Location: 'europe' }, 1)) as Record<
    string,
    unknown
  >;
  expect(emf).toMatchObject({
    _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: 'trackstack/dev', Dimensions: [['Location']] }] },
    Location: 'europe',
    PurgeOverdueAccounts: 1,
    PurgeOldestUnpurgedExpiredDays: 89,
    PurgeRunIncomplete: 0,
  });
});

describe('purgeNow: a customer deletion request', () => {
  test('purges an expired account before day 45, with the reason on the receipt', async () => {
    const report = await world.job().purgeNow('acc_expired44d', '  TICKET-1234 customer asked for deletion ');
    const outcome = report.outcomes[0]!;
    expect(outcome).toMatchObject({ accountId: 'acc_expired44d', result: 'purged' });
    const receipt = JSON.parse(await readFile(outcome.receipt!, 'utf8')) as PurgeReceipt;
    expect(receipt).toMatchObject({ trigger: 'request', reason: 'TICKET-1234 customer asked for deletion' });
    expect(receipt.counts.directory).toEqual({ campaigns: 2, apiKeys: 1, other: 0 });
    expect(await treeSnapshot(join(world.dataDir, 'events', 'account=acc_expired44d'))).toEqual({});
    // Nothing else was touched.
    expect((await world.job().run({ dryRun: true })).previews.map((p) => p.accountId)).toEqual([
      'acc_expired89d',
      'acc_expired45d',
    ]);
  });

  test.each([
    ['acc_active0001', 'active-account', /is active: expire it first/],
    ['acc_reactivated', 'active-account', /is active/],
    ['acc_nosuchone1', 'unknown-account', /does not exist/],
    ['not-an-id', 'invalid-account-id', /is not an account id/],
  ])('refuses %s (%s) and changes nothing', async (accountId, problem, message) => {
    const before = await treeSnapshot(world.dataDir);
    const err = await world
      .job()
      .purgeNow(accountId, 'TICKET-1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PurgeRequestError);
    expect(err).toMatchObject({ problem, message: expect.stringMatching(message) });
    expect(await treeSnapshot(world.dataDir)).toEqual(before);
  });

  test('refuses a reason with personal data, and one too short', async () => {
    const before = await treeSnapshot(world.dataDir);
    await expect(
      world.job().purgeNow('acc_expired44d', 'asked by jane.doe@example.org'),
    ).rejects.toMatchObject({
      problem: 'invalid-reason',
      message: expect.stringMatching(/e-mail address/),
    });
    await expect(world.job().purgeNow('acc_expired44d', ' x ')).rejects.toMatchObject({
      problem: 'invalid-reason',
    });
    expect(await treeSnapshot(world.dataDir)).toEqual(before);
  });

  test('refuses an account expired minutes ago (events may still be in flight)', async () => {
    const soon = new Date(Date.parse(world.accounts.expired44!.expiredAt!) + 5 * 60_000);
    await expect(world.job({ now: () => soon }).purgeNow('acc_expired44d', 'TICKET-9')).rejects.toMatchObject(
      {
        problem: 'too-recently-expired',
      },
    );
  });

  test('an already purged account is reported, not purged again', async () => {
    const first = await world.job().purgeNow('acc_expired45d', 'TICKET-2');
    const again = await world.job().purgeNow('acc_expired45d', 'TICKET-2');
    expect(again.outcomes[0]).toMatchObject({ result: 'skipped', receipt: first.outcomes[0]!.receipt });
  });
});

test('after the purge, the account ciphertext left anywhere cannot be decrypted', async () => {
  const [line] = (
    await readFile(
      join(world.dataDir, 'events', 'account=acc_expired45d', 'dt=2025-03-01', 'seg-0000.ndjson'),
      'utf8',
    )
  ).split('\n');
  const envelope = (JSON.parse(line!) as { pii: Parameters<DataKeyService['decryptFields']>[1] }).pii;
  const fresh = () =>
    new DataKeyService({
      provider: new LocalKeyProvider({ keyFile: join(world.dataDir, 'master.key') }),
      directory: world.directory(),
      location: 'americas',
    });
  expect(await fresh().decryptFields('acc_expired45d', envelope)).toEqual({
    ip: PERSONAL_IP,
    userAgent: 'Mozilla/5.0 test',
  });
  await world.job().run();
  await expect(fresh().decryptFields('acc_expired45d', envelope)).rejects.toBeInstanceOf(UnknownDataKeyError);
});
