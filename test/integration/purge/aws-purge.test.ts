/**
 * The purge job against a real moto_server: three regional versioned event buckets, the DynamoDB
 * directory, KMS-wrapped data keys and the Object Lock receipts bucket. After a run exactly the eligible
 * accounts' data is gone, every other account's versions are byte-for-byte unchanged, and the receipts
 * are locked in compliance mode.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
} from '@aws-sdk/client-s3';
import { LOCATIONS, type Location } from '../../../platform';
import { handler, resetPurgeHandler } from '../../../services/purge/src/lambda';
import type { PurgeReceipt } from '../../../services/purge/src/core/model';
import { runPurgeCli } from '../../../services/purge/src/cli';
import { motoEndpoint } from '../../support/env';
import { awsWorld, motoSettings, type AwsWorld } from '../../support/purge-aws';
import {
  CONTACT_DOMAIN,
  NOW,
  PERSONAL_IP,
  bucketSnapshot,
  daysAgo,
  directorySnapshot,
  leftoverItems,
  ofAccounts,
} from '../../support/purge-world';

const endpoint = motoEndpoint();

async function snapshotAll(world: AwsWorld): Promise<Record<Location, Record<string, string>>> {
  const out = {} as Record<Location, Record<string, string>>;
  for (const l of LOCATIONS) out[l] = await bucketSnapshot(world.s3[l], world.buckets[l]);
  return out;
}

async function readReceipt(
  world: AwsWorld,
  uri: string,
): Promise<{ receipt: PurgeReceipt; key: string; text: string }> {
  const key = uri.replace(`s3://${world.receiptsBucket}/`, '');
  const got = await world.receiptsS3.send(new GetObjectCommand({ Bucket: world.receiptsBucket, Key: key }));
  const text = await got.Body!.transformToString();
  return { receipt: JSON.parse(text) as PurgeReceipt, key, text };
}

describe('a seeded world', () => {
  let world: AwsWorld;
  let before: Record<Location, Record<string, string>>;
  let others: string[];
  let eligible: string[];
  let directoryBefore: Awaited<ReturnType<typeof directorySnapshot>>;

  beforeAll(async () => {
    world = await awsWorld(endpoint);
    eligible = Object.values(world.accounts)
      .filter((a) => a.eligible)
      .map((a) => a.id);
    others = Object.values(world.accounts)
      .filter((a) => !a.eligible)
      .map((a) => a.id);
    // A late object of the already purged account: the job must not touch purged accounts either.
    await world.s3.europe.send(
      new PutObjectCommand({
        Bucket: world.buckets.europe,
        Key: 'account=acc_purged0001/dt=2025-01-01/late.ndjson',
        Body: '{}',
      }),
    );
    before = await snapshotAll(world);
    directoryBefore = await directorySnapshot(world.directory, others);
  });

  test('the world holds versions and delete markers for every account with data, in every region', () => {
    for (const id of [...eligible, 'acc_active0001', 'acc_reactivated']) {
      for (const l of LOCATIONS) {
        const entries = Object.entries(ofAccounts(before[l], [id]));
        expect(entries).toHaveLength(6);
        expect(entries.filter(([, v]) => v === 'marker')).toHaveLength(1);
      }
    }
  });

  test('a dry run reports the eligible accounts with their counts and changes nothing', async () => {
    const rt = await world.runtime();
    const report = await rt.job.run({ dryRun: true });
    expect(report.previews.map((p) => p.accountId)).toEqual(['acc_expired89d', 'acc_expired45d']);
    for (const p of report.previews) {
      expect(p.counts.dataKeys).toEqual({ deleted: 3, locations: ['americas', 'apac', 'europe'] });
      for (const l of LOCATIONS) {
        expect(p.counts.objects[l]).toEqual(world.objects[p.accountId]![l]);
      }
    }
    expect(await snapshotAll(world)).toEqual(before);
  });

  test('a run deletes exactly the eligible accounts, leaves every other byte, and writes locked receipts', async () => {
    const rt = await world.runtime();
    const report = await rt.job.run();
    expect(report.outcomes.map((o) => [o.accountId, o.result])).toEqual([
      ['acc_expired89d', 'purged'],
      ['acc_expired45d', 'purged'],
    ]);

    const after = await snapshotAll(world);
    for (const l of LOCATIONS) {
      expect(ofAccounts(after[l], eligible)).toEqual({});
      expect(ofAccounts(after[l], others)).toEqual(ofAccounts(before[l], others));
      // Nothing outside any account prefix was touched either.
      expect(after[l]).toEqual(ofAccounts(before[l], others));
    }
    expect(await directorySnapshot(world.directory, others)).toEqual(directoryBefore);

    for (const id of eligible) {
      const items = await world.directory.listItems(`ACCOUNT#${id}`);
      expect(items).toEqual([
        expect.objectContaining({ sk: 'META', status: 'purged', purgedAt: NOW.toISOString() }),
      ]);
      expect(items[0]!.contactEmail).toBeUndefined();
      expect(await world.directory.listApiKeys(id)).toEqual([]);

      const outcome = report.outcomes.find((o) => o.accountId === id)!;
      expect(items[0]!.purgeReceipt).toBe(outcome.receipt);
      const { receipt, key, text } = await readReceipt(world, outcome.receipt!);
      expect(receipt).toMatchObject({
        accountId: id,
        purgeId: report.runId,
        runId: report.runId,
        trigger: 'schedule',
        startedAt: NOW.toISOString(),
        finishedAt: NOW.toISOString(),
        counts: {
          dataKeys: { deleted: 3, locations: ['americas', 'apac', 'europe'] },
          objects: world.objects[id],
          directory: { campaigns: 2, apiKeys: 1, conversionClaims: 1, other: 0 },
        },
        stores: {
          directory: `dynamodb:${world.table}`,
          objects: Object.fromEntries(LOCATIONS.map((l) => [l, `s3://${world.buckets[l]}`])),
        },
      });
      expect(text).not.toContain(CONTACT_DOMAIN);
      expect(text).not.toContain(PERSONAL_IP);

      // Locked in compliance mode: not even the job's own credentials can delete the version.
      const head = await world.receiptsS3.send(
        new HeadObjectCommand({ Bucket: world.receiptsBucket, Key: key }),
      );
      expect(head.ObjectLockMode).toBe('COMPLIANCE');
      expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThan(NOW.getTime() + 2500 * 86_400_000);
      await expect(
        world.receiptsS3.send(
          new DeleteObjectCommand({ Bucket: world.receiptsBucket, Key: key, VersionId: head.VersionId }),
        ),
      ).rejects.toMatchObject({ name: 'AccessDenied' });
    }
    expect(report.metrics).toMatchObject({
      accountsPurged: 2,
      objectVersionsDeleted: 30,
      deleteMarkersDeleted: 6,
      overdueAccounts: 0,
    });
  });

  test('a second run changes nothing and adds no receipt', async () => {
    const rt = await world.runtime();
    const snap = await snapshotAll(world);
    const receiptsBefore = await world.receiptsS3.send(
      new ListObjectVersionsCommand({ Bucket: world.receiptsBucket }),
    );
    const report = await rt.job.run();
    expect(report.outcomes).toEqual([]);
    expect(await snapshotAll(world)).toEqual(snap);
    const receiptsAfter = await world.receiptsS3.send(
      new ListObjectVersionsCommand({ Bucket: world.receiptsBucket }),
    );
    expect(receiptsAfter.Versions?.length).toBe(receiptsBefore.Versions?.length);
    expect(receiptsAfter.Versions?.length).toBe(2);
  });
});

test('a version S3 refuses to delete (legal hold) is retried, reported, and purged by a later run', async () => {
  const world = await awsWorld(endpoint, {
    pick: (a) => a.id === 'acc_expired89d' || a.id === 'acc_active0001',
    bucketSetup: (l) => (l === 'europe' ? 'object-lock' : 'versioned'),
  });
  const held = `account=acc_expired89d/dt=2025-03-03/part-2.ndjson`;
  const versions = await world.s3.europe.send(
    new ListObjectVersionsCommand({ Bucket: world.buckets.europe, Prefix: held }),
  );
  const heldVersion = versions.Versions![0]!.VersionId!;
  await world.s3.europe.send(
    new PutObjectLegalHoldCommand({
      Bucket: world.buckets.europe,
      Key: held,
      VersionId: heldVersion,
      LegalHold: { Status: 'ON' },
    }),
  );
  const activeBefore = await bucketSnapshot(world.s3.europe, world.buckets.europe, 'account=acc_active0001/');
  const sleeps: number[] = [];
  const rt = await world.runtime({ job: { sleep: async (ms) => void sleeps.push(ms) } });
  const first = await rt.job.run();
  expect(first.outcomes).toEqual([
    expect.objectContaining({
      accountId: 'acc_expired89d',
      result: 'failed',
      step: 'objects',
      errors: [expect.objectContaining({ key: held, versionId: heldVersion, code: 'AccessDenied' })],
    }),
  ]);
  expect(sleeps).toHaveLength(3);
  expect(first.metrics).toMatchObject({ failedAccounts: 1, eligibleUnpurgedAccounts: 1 });
  // Everything else of the account in europe is gone; the held version remains.
  expect(
    Object.keys(await bucketSnapshot(world.s3.europe, world.buckets.europe, 'account=acc_expired89d/')),
  ).toEqual([`${held}@${heldVersion}`]);
  expect((await world.directory.getAccount('acc_expired89d'))?.status).toBe('expired');

  await world.s3.europe.send(
    new PutObjectLegalHoldCommand({
      Bucket: world.buckets.europe,
      Key: held,
      VersionId: heldVersion,
      LegalHold: { Status: 'OFF' },
    }),
  );
  const second = await (await world.runtime()).job.run();
  expect(second.outcomes).toEqual([
    expect.objectContaining({ accountId: 'acc_expired89d', result: 'purged' }),
  ]);
  const { receipt } = await readReceipt(world, second.outcomes[0]!.receipt!);
  // Counted once, across both runs.
  expect(receipt.counts.objects).toEqual(world.objects.acc_expired89d);
  expect(receipt.runIds).toHaveLength(2);
  expect(await bucketSnapshot(world.s3.europe, world.buckets.europe, 'account=acc_active0001/')).toEqual(
    activeBefore,
  );
});

test('the Lambda handler runs within the invocation time, publishes the EMF metric and throws on failure', async () => {
  const world = await awsWorld(endpoint, {
    now: new Date(),
    pick: (a) => a.id === 'acc_expired89d' || a.id === 'acc_active0001',
  });
  const vars: Record<string, string> = {
    ...Object.fromEntries(Object.entries(world.env()).map(([k, v]) => [k, String(v)])),
    TS_RECEIPT_RETENTION_DAYS: '30',
    AWS_ENDPOINT_URL: endpoint,
  };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const writes: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  // The handler logs JSON lines (a failed account at error level); they are not this test's subject.
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const logError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    Object.assign(process.env, vars);
    resetPurgeHandler();
    // Less time left than the reserve: nothing is started, and the metric says the run is incomplete.
    const starved = await handler({}, { getRemainingTimeInMillis: () => 10_000 });
    expect(starved).toMatchObject({
      purged: [],
      notStarted: ['acc_expired89d'],
      metrics: { incomplete: true },
    });

    const result = await handler(
      { 'detail-type': 'Scheduled Event' },
      { getRemainingTimeInMillis: () => 900_000 },
    );
    expect(result).toMatchObject({
      purged: ['acc_expired89d'],
      metrics: { accountsPurged: 1, overdueAccounts: 0 },
    });
    const emf = writes.map((w) => JSON.parse(w) as Record<string, unknown>).filter((d) => '_aws' in d);
    expect(emf).toHaveLength(2);
    expect(emf[1]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'trackstack/dev', Dimensions: [['Location']] }] },
      Location: 'americas',
      PurgeOverdueAccounts: 0,
      PurgeAccountsPurged: 1,
      PurgeRunIncomplete: 0,
    });
    expect(emf[0]).toMatchObject({
      PurgeRunIncomplete: 1,
      PurgeOverdueAccounts: 1,
      PurgeOldestUnpurgedExpiredDays: 89,
    });

    // A failing account makes the invocation fail (retry, then the dead-letter queue), after the metric.
    await world.directory.putAccount({
      accountId: 'acc_brokenbucket',
      status: 'expired',
      expiredAt: new Date(Date.now() - 60 * 86_400_000).toISOString(),
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    process.env.TS_EVENT_BUCKET_APAC = 'purge-no-such-bucket';
    resetPurgeHandler();
    await expect(handler({}, { getRemainingTimeInMillis: () => 900_000 })).rejects.toThrow(
      /1 account\(s\) failed: acc_brokenbucket at objects: .*(NoSuchBucket|does not exist)/,
    );
    expect(writes.filter((w) => w.includes('"_aws"'))).toHaveLength(3);
  } finally {
    spy.mockRestore();
    log.mockRestore();
    logError.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete process.env.TS_EVENT_BUCKET_APAC;
    resetPurgeHandler();
  }
});

test('npm run purge -- --stage: the CLI against AWS (moto), with names from the environment', async () => {
  const world = await awsWorld(endpoint, {
    now: new Date(),
    pick: (a) => a.id === 'acc_expired45d' || a.id === 'acc_active0001',
  });
  const out: string[] = [];
  const err: string[] = [];
  const env = {
    TS_TABLE_NAME: world.table,
    TS_RECEIPTS_BUCKET: world.receiptsBucket,
    ...Object.fromEntries(LOCATIONS.map((l) => [`TS_EVENT_BUCKET_${l.toUpperCase()}`, world.buckets[l]])),
  };
  const io = {
    stdout: (t: string) => out.push(t),
    stderr: (t: string) => err.push(t),
    env,
    runtime: { awsClientConfig: motoSettings(endpoint) },
  };
  expect(await runPurgeCli(['--stage', 'dev', '--now', 'acc_active0001', '--reason', 'TICKET-7'], io)).toBe(
    2,
  );
  expect(err.join('\n')).toMatch(/Refused, nothing was changed: account acc_active0001 is active/);
  expect(await runPurgeCli(['--stage', 'dev', '--dry-run'], io)).toBe(0);
  expect(out.join('\n')).toMatch(
    /1 account\(s\) would be purged[\s\S]*acc_expired45d[\s\S]*events apac: 5 object version\(s\), 1 delete marker\(s\)/,
  );
  expect(await runPurgeCli(['--stage', 'dev', '--run'], io)).toBe(0);
  expect(out.join('\n')).toMatch(
    new RegExp(`acc_expired45d: purged; receipt s3://${world.receiptsBucket}/receipts/acc_expired45d/run_`),
  );
  expect(
    Object.keys(await bucketSnapshot(world.s3.apac, world.buckets.apac, 'account=acc_expired45d/')),
  ).toEqual([]);
  expect(
    Object.keys(await bucketSnapshot(world.s3.apac, world.buckets.apac, 'account=acc_active0001/')),
  ).toHaveLength(6);
});

test('prefix siblings in one bucket: purging acc_alpha0001 leaves every version of acc_alpha00012 untouched', async () => {
  // `account=acc_alpha00012/…` starts with `account=acc_alpha0001`: only the trailing slash tells them apart.
  const world = await awsWorld(endpoint, {
    pick: () => false,
    extra: [
      { id: 'acc_alpha0001', status: 'expired', expiredAt: daysAgo(60), eligible: true },
      { id: 'acc_alpha00012', status: 'active', eligible: false },
    ],
  });
  const sibling = 'account=acc_alpha00012/';
  const before = await snapshotAll(world);
  for (const l of LOCATIONS) {
    // Both accounts share each bucket, versions and delete markers included.
    expect(Object.keys(ofAccounts(before[l], ['acc_alpha0001']))).toHaveLength(6);
    expect(Object.keys(ofAccounts(before[l], ['acc_alpha00012']))).toHaveLength(6);
  }
  const siblingItems = await directorySnapshot(world.directory, ['acc_alpha00012']);

  const report = await (await world.runtime()).job.run();
  expect(report.outcomes.map((o) => [o.accountId, o.result])).toEqual([['acc_alpha0001', 'purged']]);
  const after = await snapshotAll(world);
  for (const l of LOCATIONS) {
    expect(ofAccounts(after[l], ['acc_alpha0001'])).toEqual({});
    // Every version and delete marker of the sibling, byte for byte, and nothing else left in the bucket.
    expect(await bucketSnapshot(world.s3[l], world.buckets[l], sibling)).toEqual(
      ofAccounts(before[l], ['acc_alpha00012']),
    );
    expect(after[l]).toEqual(ofAccounts(before[l], ['acc_alpha00012']));
  }
  expect(await directorySnapshot(world.directory, ['acc_alpha00012'])).toEqual(siblingItems);
  expect(await leftoverItems(world.directory, 'acc_alpha0001')).toEqual([]);
});
