/**
 * A full purge run on GCP's adapters: the Firestore directory on the real Firestore emulator (started by
 * the jest global setup), and the Cloud Storage event, config and receipts buckets on a stand-in of the
 * Storage client (`test/unit/purge/fake-gcs.ts`: there is no Cloud Storage emulator here, so the bucket's
 * retention lock and IAM are not exercised). Then the Cloud Functions handler, invoked directly with a
 * fake request and response, on the emulator with the local file stores.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { names } from '../../../platform';
import { parsePurgeEnv } from '../../../platform/contracts/purge-env';
import { LocalKeyProvider } from '../../../services/ingest/src/crypto/local-key-provider';
import { FirestoreDirectory } from '../../../services/shared/directory/firestore-directory';
import type { GcsStorageLike } from '../../../services/purge/src/gcp/gcp-adapters';
import { createPurgeRuntime } from '../../../services/purge/src/runtime';
import { handler, resetPurgeGcfHandler } from '../../../services/purge/src/gcf';
import { NOW, daysAgo, seedDirectory } from '../../support/purge-world';
import { FakeGcsBucket } from '../../unit/purge/fake-gcs';
import { gcpEmulators } from '../gcp/emulators';

gcpEmulators();
// A project of its own: the job lists every account of the collection, and the emulator is shared.
const projectId = `purge-${randomBytes(4).toString('hex')}`;
const client = new Firestore({ projectId });
const directory = new FirestoreDirectory({ client, collection: names.gcpDirectoryCollection() });
const EXPIRED = 'acc_gcpexpired1';
const ACTIVE = 'acc_gcpactive01';
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-purge-gcp-'));
  const provider = new LocalKeyProvider({ keyFile: join(dataDir, 'master.key') });
  await seedDirectory(
    directory,
    [
      { id: EXPIRED, status: 'expired', expiredAt: daysAgo(50), eligible: true },
      { id: ACTIVE, status: 'active', eligible: false },
    ],
    { americas: provider },
  );
});

afterAll(async () => {
  await resetPurgeGcfHandler();
  await client.terminate();
  await rm(dataDir, { recursive: true, force: true });
});

test('an expired account past day 45 is shredded, emptied and receipted; the active one is untouched', async () => {
  const buckets = new Map(['ev', 'cfg', 'rc'].map((n) => [n, new FakeGcsBucket(n)]));
  const ev = buckets.get('ev')!;
  for (const a of [EXPIRED, ACTIVE]) {
    ev.put(`account=${a}/dt=2025-04-01/part-0.jsonl`);
    ev.put(`account=${a}/dt=2025-04-01/part-0.jsonl`);
    buckets.get('cfg')!.put(`config/${a}/cmp_x.json`);
  }
  const storage = { bucket: (name: string) => buckets.get(name)! } as unknown as GcsStorageLike;
  const env = parsePurgeEnv({
    TS_DIRECTORY: 'firestore',
    TS_GCP_PROJECT: projectId,
    TS_OBJECT_STORE: 'gcs',
    TS_LOCATIONS: 'americas',
    TS_EVENT_BUCKET_AMERICAS: 'ev',
    TS_CONFIG_BUCKET: 'cfg',
    TS_RECEIPT_STORE: 'gcs',
    TS_RECEIPTS_BUCKET: 'rc',
  });
  const rt = await createPurgeRuntime(env, { gcp: { firestore: client, storage }, job: { now: () => NOW } });
  const report = await rt.job.run();
  await rt.close();
  expect(report.outcomes.map((o) => [o.accountId, o.result])).toEqual([[EXPIRED, 'purged']]);
  expect(await directory.listItems(`DATAKEY#${EXPIRED}`)).toEqual([]);
  expect((await directory.listItems(`DATAKEY#${ACTIVE}`)).length).toBe(1);
  expect(ev.names().every((n) => n.startsWith(`account=${ACTIVE}/`))).toBe(true);
  expect(ev.names()).toHaveLength(2);
  expect(
    buckets
      .get('cfg')!
      .names()
      .map((n) => n.split('#')[0]),
  ).toEqual([`config/${ACTIVE}/cmp_x.json`]);
  const receipt = report.outcomes[0]!.receipt!;
  expect(receipt).toMatch(new RegExp(`^gs://rc/receipts/${EXPIRED}/`));
  expect(buckets.get('rc')!.calls).toEqual([expect.stringMatching(/ if 0$/)]);
  expect((await directory.getAccount(EXPIRED))?.status).toBe('purged');
  expect((await directory.getAccount(ACTIVE))?.status).toBe('active');
});

test('the Cloud Functions handler answers 200 with the dry run summary and logs the overdue account it sees', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    TS_DIRECTORY: 'firestore',
    TS_GCP_PROJECT: projectId,
    TS_DATA_DIR: dataDir,
    TS_LOG_LEVEL: 'silent',
  });
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  let status = 0;
  let body: unknown;
  const res = { status: (s: number) => ((status = s), res), json: (b: unknown) => ((body = b), res) };
  try {
    await handler({ body: { dryRun: true } } as never, res as never);
  } finally {
    write.mockRestore();
    process.env = saved;
  }
  expect(status).toBe(200);
  expect(body).toMatchObject({ mode: 'dry-run', metrics: { failedAccounts: 0 } });
  const overdue = written
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.metric === 'PurgeOverdueAccounts');
  // The handler runs on the real clock: the account purged in the test above (expired in 2025) is past
  // day 80 with its sweep due and not done, so it counts as overdue.
  expect(overdue).toMatchObject({ value: 1, severity: 'WARNING', stage: 'local', location: 'americas' });
});
