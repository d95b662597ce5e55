/**
 * The purge's scale bar: 100,000 object versions of one account deleted with at most 101
 * DeleteObjects calls, never more than 1,000 keys in one (moto accepts more; S3 refuses them), and not
 * one object of another account touched. The calls are counted on the wire by a middleware on the real
 * S3 client the job uses. See `purge-moto.ts` for the two test-only changes of this moto_server.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  ListObjectVersionsCommand,
  S3Client,
  type ObjectVersion,
  type DeleteMarkerEntry,
} from '@aws-sdk/client-s3';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import { S3EventObjectStore } from '../../../services/purge/src/aws/s3-event-store';
import { S3ReceiptStore, receiptsBucketDefinition } from '../../../services/purge/src/aws/s3-receipt-store';
import { PurgeJob } from '../../../services/purge/src/core/purge-job';
import { ItemDirectoryPurgeStore } from '../../../services/purge/src/directory-store';
import { motoClientConfig } from '../../../tooling/moto';
import { startFastMoto, type FastMoto } from '../../support/purge-moto';
import { NOW, createVersionedBucket, daysAgo } from '../../support/purge-world';

const ACCOUNT = 'acc_scale000001';
const CONTROL = 'acc_control00001';
// 97,000 keys with one version, 1,000 more with a second version, and 1,000 delete markers on those:
// 97,000 + 2,000 + 1,000 = 100,000 entries to delete.
const KEYS = 98_000;
const EXTRA_VERSIONS = 1_000;
const MARKERS = 1_000;
const TOTAL = KEYS + EXTRA_VERSIONS + MARKERS;

let moto: FastMoto;
beforeAll(async () => {
  moto = await startFastMoto();
});
afterAll(async () => {
  await moto?.stop();
});

async function listAll(s3: S3Client, bucket: string, prefix: string) {
  const versions: ObjectVersion[] = [];
  const markers: DeleteMarkerEntry[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, VersionIdMarker }),
    );
    versions.push(...(page.Versions ?? []));
    markers.push(...(page.DeleteMarkers ?? []));
    if (!page.IsTruncated) return { versions, markers };
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

test('100,000 versions of one account: at most 101 DeleteObjects calls of at most 1,000 keys, nothing else touched', async () => {
  const config = motoClientConfig(moto.endpoint, 'us-east-1');
  const s3 = new S3Client(config);
  const bucket = 'purge-scale-events';
  const receiptsBucket = 'purge-scale-receipts';
  await createVersionedBucket(s3, bucket, 'us-east-1');
  await s3.send(new CreateBucketCommand(receiptsBucketDefinition(receiptsBucket, 'us-east-1')));
  const ddb = new DynamoDBClient(config);
  await ddb.send(new CreateTableCommand(directoryTableDefinition('purge-scale-directory')));
  const directory = new DynamoDirectory({ client: ddb, tableName: 'purge-scale-directory' });
  for (const [accountId, status] of [
    [ACCOUNT, 'expired'],
    [CONTROL, 'active'],
  ] as const) {
    await directory.putAccount({
      accountId,
      status,
      ...(status === 'expired' ? { expiredAt: daysAgo(60) } : {}),
      createdAt: '2024-01-01T00:00:00.000Z',
    });
  }

  const seedStart = performance.now();
  await moto.seed({
    bucket,
    prefix: `account=${ACCOUNT}/dt=2025-03-01/`,
    count: KEYS,
    extraVersions: EXTRA_VERSIONS,
    deleteMarkers: MARKERS,
    body: '{"e":1}\n',
  });
  // The control account sorts after the purged one and shares the bucket and the date prefix layout.
  await moto.seed({
    bucket,
    prefix: `account=${CONTROL}/dt=2025-03-01/`,
    count: 500,
    extraVersions: 100,
    deleteMarkers: 50,
  });
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const controlBefore = await listAll(s3, bucket, `account=${CONTROL}/`);
  expect(controlBefore.versions).toHaveLength(600);
  expect(controlBefore.markers).toHaveLength(50);

  // Counted on the wire: each DeleteObjects request as sent, and the <Object> entries in its body.
  const deletes: number[] = [];
  let listCalls = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteObjectsCommand') {
        const body = (args.request as { body?: unknown }).body;
        deletes.push(String(body).match(/<Object>/g)?.length ?? 0);
      }
      if (context.commandName === 'ListObjectVersionsCommand') listCalls += 1;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countPurgeCalls' },
  );

  const job = new PurgeJob({
    directory: new ItemDirectoryPurgeStore({ directory, description: 'dynamodb:purge-scale-directory' }),
    objectStores: [new S3EventObjectStore({ client: s3, bucket, location: 'americas' })],
    receipts: new S3ReceiptStore({ client: s3, bucket: receiptsBucket, now: () => NOW }),
    now: () => NOW,
  });
  const purgeStart = performance.now();
  const report = await job.run({ timeBudgetMs: 30 * 60_000 });
  const purgeSeconds = (performance.now() - purgeStart) / 1000;

  const maxKeys = Math.max(...deletes);
  console.log(
    `purge scale: ${TOTAL.toLocaleString('en')} entries (versions and delete markers) deleted with ` +
      `${deletes.length} DeleteObjects calls, at most ${maxKeys} keys per call, ${listCalls} ListObjectVersions ` +
      `calls, in ${purgeSeconds.toFixed(1)} s (seeding ${seedSeconds.toFixed(1)} s)`,
  );

  expect(report.outcomes).toEqual([expect.objectContaining({ accountId: ACCOUNT, result: 'purged' })]);
  expect(report.outcomes[0]!.counts!.objects.americas).toEqual({
    versions: KEYS + EXTRA_VERSIONS,
    deleteMarkers: MARKERS,
    bytes: (KEYS + EXTRA_VERSIONS) * 8,
  });
  expect(deletes.length).toBeLessThanOrEqual(101);
  expect(maxKeys).toBeLessThanOrEqual(1000);
  expect(deletes.reduce((a, b) => a + b, 0)).toBe(TOTAL);

  const left = await listAll(s3, bucket, `account=${ACCOUNT}/`);
  expect(left.versions.length + left.markers.length).toBe(0);
  const controlAfter = await listAll(s3, bucket, `account=${CONTROL}/`);
  const ids = (l: { versions: ObjectVersion[]; markers: DeleteMarkerEntry[] }) =>
    [
      ...l.versions.map((v) => `${v.Key}@${v.VersionId}:${v.ETag}:${v.Size}`),
      ...l.markers.map((m) => `${m.Key}@${m.VersionId}`),
    ].sort();
  expect(ids(controlAfter)).toEqual(ids(controlBefore));
  // Generous: moto deletes at ~1 call per second on this 2-core machine, slower while other suites run.
}, 540_000);
