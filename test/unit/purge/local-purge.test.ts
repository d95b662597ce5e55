/**
 * The purge core with the embedded-default adapters (local directory, file sink tree, receipt files) in a
 * temporary folder: what a run deletes and keeps, dry runs, receipts, deletion requests, metrics.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CAMPAIGN_CONFIG, DIRECTORY } from '../../../platform';
import { UnknownDataKeyError, DataKeyService } from '../../../services/ingest/src/crypto/data-keys';
import { LocalKeyProvider } from '../../../services/ingest/src/crypto/local-key-provider';
import { DAY_MS } from '../../../services/purge/src/core/eligibility';
import { PurgeRequestError } from '../../../services/purge/src/core/errors';
import { purgeMetricsEmf } from '../../../services/purge/src/core/metrics';
import type { PurgeReceipt } from '../../../services/purge/src/core/model';
import { localWorld, PURGED_LEFTOVER, type LocalWorld } from '../../support/purge-local';
import {
  CONTACT_DOMAIN,
  NOW,
  PERSONAL_IP,
  SEEDED_CLAIM,
  daysAgo,
  directorySnapshot,
  leftoverItems,
  publishLocalConfig,
  putRawAccount,
  treeSnapshot,
  type WorldAccount,
} from '../../support/purge-world';

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
    expect(await leftoverItems(dir, id)).toEqual([]);
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
      directory: { campaigns: 2, apiKeys: 1, conversionClaims: 1, other: 0 },
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
    directory: { campaigns: 2, apiKeys: 1, conversionClaims: 1, other: 0 },
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
    expect(receipt.counts.directory).toEqual({ campaigns: 2, apiKeys: 1, conversionClaims: 1, other: 0 });
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

describe('the directory layout: one partition per kind of item', () => {
  const TARGET = 'acc_expired45d';

  test('data keys are shredded from DATAKEY#<id> first; conversion claims in DEDUP#<id> go and are counted', async () => {
    const dir = world.directory();
    // A wrapped key of the earlier layout, in the account's own partition: a data key all the same.
    await dir.putItemIf({ pk: DIRECTORY.accountPk(TARGET), sk: 'DATAKEY#apac', wrapped: 'AAAA' }, {});
    expect((await dir.listItems(DIRECTORY.dataKeyPk(TARGET))).map((i) => i.sk)).toEqual([
      'americas',
      'europe',
    ]);
    expect((await dir.listItems(DIRECTORY.dedupPk(TARGET))).map((i) => i.sk)).toEqual([SEEDED_CLAIM]);

    class Killed extends Error {}
    const job = world.job({
      hooks: {
        checkpoint: ({ name, accountId }) => {
          if (name === 'shred:done' && accountId === TARGET) throw new Killed();
        },
      },
    });
    await expect(job.purgeNow(TARGET, 'TICKET-77')).rejects.toBeInstanceOf(Killed);
    // Right after the shred step: every wrapped key is gone, the campaigns and the claim are still there.
    expect(await dir.listItems(DIRECTORY.dataKeyPk(TARGET))).toEqual([]);
    expect((await dir.listItems(DIRECTORY.accountPk(TARGET))).map((i) => i.sk)).toEqual([
      'CAMPAIGN#cmp_expired45d-1',
      'CAMPAIGN#cmp_expired45d-2',
      'META',
    ]);
    expect(await dir.listItems(DIRECTORY.dedupPk(TARGET))).toHaveLength(1);

    const report = await world.job({ now: () => new Date(NOW.getTime() + 3600_000) }).run();
    const outcome = report.outcomes.find((o) => o.accountId === TARGET)!;
    expect(outcome.result).toBe('purged');
    const receipt = JSON.parse(await readFile(outcome.receipt!, 'utf8')) as PurgeReceipt;
    expect(receipt.counts.dataKeys).toEqual({ deleted: 3, locations: ['americas', 'apac', 'europe'] });
    expect(receipt.counts.directory).toEqual({ campaigns: 2, apiKeys: 1, conversionClaims: 1, other: 0 });
    expect(await leftoverItems(dir, TARGET)).toEqual([]);
  });

  test('thousands of conversion claims are deleted in batches the account record can hold', async () => {
    // Written straight into the file, as a busy account's claims would have accumulated.
    const file = join(world.dataDir, 'directory.json');
    const shape = JSON.parse(await readFile(file, 'utf8')) as { version: 1; items: object[] };
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    for (let i = 0; i < 2500; i++)
      shape.items.push({ pk: DIRECTORY.dedupPk(TARGET), sk: `api#claim-${i}`, expiresAt });
    await writeFile(file, JSON.stringify(shape));
    const dir = world.directory();
    const batches: number[] = [];
    const job = world.job({
      hooks: {
        checkpoint: async ({ name, accountId }) => {
          if (name !== 'directory:pending' || accountId !== TARGET) return;
          const record = await dir.readItem({ pk: DIRECTORY.accountPk(TARGET), sk: DIRECTORY.accountSk });
          const progress = JSON.parse(String(record!.purgeProgress)) as { pending: { items: unknown[] } };
          batches.push(progress.pending.items.length);
        },
      },
    });
    const report = await job.purgeNow(TARGET, 'TICKET-78');
    expect(report.outcomes[0]!.counts!.directory).toEqual({
      campaigns: 2,
      apiKeys: 1,
      conversionClaims: 2501,
      other: 0,
    });
    expect(batches).toEqual([1000, 1000, 504]);
    expect(await leftoverItems(dir, TARGET)).toEqual([]);
  });
});

describe("published campaign configs: per account, never another account's", () => {
  test("two accounts with the same campaign id: purging one leaves the other's documents byte for byte", async () => {
    const dir = world.directory();
    const shared = 'cmp_shared-campaign';
    const purged = 'acc_expired45d';
    const kept = 'acc_active0001';
    for (const accountId of [purged, kept]) {
      await dir.putCampaign({
        campaignId: shared,
        accountId,
        name: 'Spring',
        countAnonymous: true,
        allowedOrigins: [],
      });
      await publishLocalConfig(world.dataDir, (await dir.getCampaign(accountId, shared))!);
    }
    // The earlier layout's global document of that id, last published by the account that stays: the old
    // purge removed `config/<campaignId>.json` by campaign id alone, whoever it belonged to.
    const legacyKept = join(world.dataDir, CAMPAIGN_CONFIG.root, `${shared}.json`);
    await writeFile(legacyKept, JSON.stringify({ v: 1, campaignId: shared, accountId: kept }));
    // A document of the earlier layout that names the purged account goes with it.
    const legacyPurged = join(world.dataDir, CAMPAIGN_CONFIG.root, 'cmp_expired45d-1.json');
    await writeFile(
      legacyPurged,
      JSON.stringify({ v: 1, campaignId: 'cmp_expired45d-1', accountId: purged }),
    );
    const configRoot = join(world.dataDir, CAMPAIGN_CONFIG.root);
    const before = await treeSnapshot(configRoot);
    expect(Object.keys(before).sort()).toEqual([
      `${kept}/${shared}.json`,
      `${purged}/${shared}.json`,
      'cmp_expired45d-1.json',
      `${shared}.json`,
    ]);

    await world.job().purgeNow(purged, 'TICKET-5');

    const after = await treeSnapshot(configRoot);
    const { [`${purged}/${shared}.json`]: _gone, 'cmp_expired45d-1.json': _legacyGone, ...rest } = before;
    expect(after).toEqual(rest);
    expect(await stat(join(configRoot, purged)).catch(() => undefined)).toBeUndefined();
  });
});

describe('expiry dates the purge cannot count from are anomalies, alarmed on, never purged', () => {
  const BAD = 'acc_badexpiry01';

  async function badWorld(expiredAt: string): Promise<LocalWorld> {
    await world.dispose();
    world = await localWorld(NOW, {
      extra: [{ id: BAD, status: 'expired', expiredAt: daysAgo(60), eligible: false }],
    });
    // As an operator's direct edit or an older writer would store it: the directory refuses it now.
    await putRawAccount(world.directory(), {
      accountId: BAD,
      status: 'expired',
      expiredAt,
      contactEmail: `billing@${CONTACT_DOMAIN}`,
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    return world;
  }

  test.each([
    // Date.parse reads both as the next day: 1 March 2025 (92 days before NOW), 1 October 2026.
    ['2025-02-29T00:00:00Z', NOW, /is not an ISO-8601 instant/],
    ['2026-09-31T00:00:00Z', new Date('2026-12-01T00:00:00Z'), /is not an ISO-8601 instant/],
    ['2025-06-01T24:00:00Z', new Date('2025-09-01T00:00:00Z'), /is not an ISO-8601 instant/],
    // A future expiry: waiting for it would keep the data past the real 90 days, silently.
    [new Date(NOW.getTime() + 30 * 86_400_000).toISOString(), NOW, /is in the future/],
  ])('expiredAt %s (judged at %s)', async (expiredAt, now, problem) => {
    const w = await badWorld(expiredAt);
    const before = await treeSnapshot(join(w.dataDir, 'events', `account=${BAD}`));
    const dirBefore = await directorySnapshot(w.directory(), [BAD]);
    expect(Object.keys(before)).toHaveLength(3);

    const dry = await w.job({ now: () => now }).run({ dryRun: true });
    expect(dry.previews.map((p) => p.accountId)).not.toContain(BAD);
    const report = await w.job({ now: () => now }).run();
    expect(report.outcomes.map((o) => o.accountId)).not.toContain(BAD);
    expect(report.anomalies).toEqual([{ accountId: BAD, problem: expect.stringMatching(problem) }]);
    expect(report.census.invalid).toBe(1);
    // Counted in the alarm's metric: a human must fix the record.
    expect(report.metrics.overdueAccounts).toBeGreaterThanOrEqual(1);
    const later = await w.job({ now: () => now }).run();
    expect(later.metrics.overdueAccounts).toBe(1);
    expect(await treeSnapshot(join(w.dataDir, 'events', `account=${BAD}`))).toEqual(before);
    expect(await directorySnapshot(w.directory(), [BAD])).toEqual(dirBefore);

    // A deletion request is refused too, naming the problem, and changes nothing.
    await expect(w.job({ now: () => now }).purgeNow(BAD, 'TICKET-3')).rejects.toMatchObject({
      problem: 'invalid-expiry',
      message: expect.stringMatching(problem),
    });
    expect(await directorySnapshot(w.directory(), [BAD])).toEqual(dirBefore);
  });
});
