/**
 * The sweep of a purged account against moto: object versions and delete markers written under its
 * prefix after the purge, in several regions, and a wrapped key and conversion claim written to DynamoDB,
 * are deleted by the first run once the sweep is due, never before and only once; the prefix sibling
 * `acc_alpha00012` keeps every version; the sweep receipt is locked in compliance mode next to the purge's.
 */
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DIRECTORY, type Location, LOCATIONS, RECEIPTS, RETENTION } from '../../../platform';
import { itemKeys, toItem } from '../../../services/shared/directory/item-directory';
import { S3ReceiptStore } from '../../../services/purge/src/aws/s3-receipt-store';
import { DAY_MS } from '../../../services/purge/src/core/eligibility';
import { motoEndpoint } from '../../support/env';
import { awsWorld, type AwsWorld } from '../../support/purge-aws';
import { NOW, bucketSnapshot, daysAgo, leftoverItems } from '../../support/purge-world';

const endpoint = motoEndpoint();
const PURGED = 'acc_alpha0001';
const SIBLING = 'acc_alpha00012';
const SWEEP_DUE = new Date(NOW.getTime() + RETENTION.purgeSweepAfterDays * DAY_MS);

async function snapshot(
  world: AwsWorld,
  accountId: string,
): Promise<Record<Location, Record<string, string>>> {
  const out = {} as Record<Location, Record<string, string>>;
  for (const l of LOCATIONS)
    out[l] = await bucketSnapshot(world.s3[l], world.buckets[l], `account=${accountId}/`);
  return out;
}

test('late versions and delete markers of a purged account are swept once the sweep is due, exactly once', async () => {
  const world = await awsWorld(endpoint, {
    pick: () => false,
    extra: [
      { id: PURGED, status: 'expired', expiredAt: daysAgo(60), eligible: true },
      { id: SIBLING, status: 'active', eligible: false },
    ],
  });
  const purge = await (await world.runtime()).job.run();
  expect(purge.outcomes.map((o) => [o.accountId, o.result])).toEqual([[PURGED, 'purged']]);
  const purgeId = purge.runId;

  // Late deliveries: two versions and a delete marker in europe, one object in apac.
  const late = `account=${PURGED}/dt=2025-06-01/late-part-0.ndjson`;
  for (const body of ['{"late":1}\n', '{"late":2}\n'])
    await world.s3.europe.send(new PutObjectCommand({ Bucket: world.buckets.europe, Key: late, Body: body }));
  await world.s3.europe.send(new DeleteObjectCommand({ Bucket: world.buckets.europe, Key: late }));
  await world.s3.apac.send(
    new PutObjectCommand({ Bucket: world.buckets.apac, Key: late, Body: '{"late":3}\n' }),
  );
  const record = {
    accountId: PURGED,
    location: 'europe',
    wrapped: 'AAAA',
    dataKeyId: 'late',
    createdAt: NOW.toISOString(),
  };
  await world.directory.putItemIf(toItem(itemKeys.dataKey(PURGED, 'europe'), record), {});
  await world.directory.claimConversion(
    { accountId: PURGED, key: 'api#late', expiresAtMs: Date.now() + DAY_MS },
    Date.now(),
  );
  const lateSnapshot = await snapshot(world, PURGED);
  expect(Object.keys(lateSnapshot.europe)).toHaveLength(3);
  expect(Object.keys(lateSnapshot.apac)).toHaveLength(1);
  const sibling = await snapshot(world, SIBLING);
  for (const l of LOCATIONS) expect(Object.keys(sibling[l])).toHaveLength(6);

  // Not due yet: nothing is touched.
  const early = new Date(SWEEP_DUE.getTime() - 3600_000);
  const notYet = await (await world.runtime({ job: { now: () => early } })).job.run();
  expect(notYet.sweeps).toEqual([]);
  expect(await snapshot(world, PURGED)).toEqual(lateSnapshot);

  const rt = await world.runtime({ job: { now: () => SWEEP_DUE } });
  const dry = await rt.job.run({ dryRun: true });
  const counts = {
    dataKeys: { deleted: 1, locations: ['europe'] },
    objects: {
      americas: { versions: 0, deleteMarkers: 0, bytes: 0 },
      europe: { versions: 2, deleteMarkers: 1, bytes: 22 },
      apac: { versions: 1, deleteMarkers: 0, bytes: 11 },
    },
    directory: { campaigns: 0, apiKeys: 0, conversionClaims: 1, other: 0 },
  };
  expect(dry.sweepPreviews).toEqual([expect.objectContaining({ accountId: PURGED, purgeId, counts })]);
  expect(await snapshot(world, PURGED)).toEqual(lateSnapshot);

  const swept = await rt.job.run();
  expect(swept.sweeps).toEqual([
    expect.objectContaining({
      accountId: PURGED,
      result: 'swept',
      counts,
      receipt: `s3://${world.receiptsBucket}/${RECEIPTS.sweepKey(PURGED, purgeId)}`,
    }),
  ]);
  for (const l of LOCATIONS) expect((await snapshot(world, PURGED))[l]).toEqual({});
  expect(await leftoverItems(world.directory, PURGED)).toEqual([]);
  expect(await snapshot(world, SIBLING)).toEqual(sibling);

  // The receipt, next to the purge's, locked like it.
  const receipts = new S3ReceiptStore({ client: world.receiptsS3, bucket: world.receiptsBucket });
  expect(await receipts.readSweep(PURGED, purgeId)).toMatchObject({
    kind: 'trackstack.purge-sweep-receipt',
    accountId: PURGED,
    purgeId,
    purgeReceipt: purge.outcomes[0]!.receipt,
    sweepId: swept.runId,
    purgedAt: NOW.toISOString(),
    dueAt: SWEEP_DUE.toISOString(),
    counts,
  });
  const head = await world.receiptsS3.send(
    new HeadObjectCommand({ Bucket: world.receiptsBucket, Key: RECEIPTS.sweepKey(PURGED, purgeId) }),
  );
  expect(head.ObjectLockMode).toBe('COMPLIANCE');
  expect(
    await world.directory.readItem({ pk: DIRECTORY.accountPk(PURGED), sk: DIRECTORY.accountSk }),
  ).toMatchObject({ status: 'purged', sweptAt: SWEEP_DUE.toISOString(), sweepId: swept.runId });

  // Once: a later run leaves what arrives even later alone and writes no second receipt.
  await world.s3.americas.send(
    new PutObjectCommand({ Bucket: world.buckets.americas, Key: late, Body: '{}' }),
  );
  const again = await (
    await world.runtime({ job: { now: () => new Date(SWEEP_DUE.getTime() + DAY_MS) } })
  ).job.run();
  expect(again.sweeps).toEqual([]);
  expect(Object.keys((await snapshot(world, PURGED)).americas)).toHaveLength(1);
});
