/**
 * Kill and resume against moto: the job is stopped at every checkpoint in turn (a throwing hook stands
 * for the process being killed), then a later run finishes: every version and delete marker in the three
 * regions gone, one receipt with exact counts, the active account untouched.
 */
import { LOCATIONS } from '../../../platform';
import type { PurgeReceipt } from '../../../services/purge/src/core/model';
import { CHECKPOINTS, type CheckpointName } from '../../../services/purge/src/core/ports';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { motoEndpoint } from '../../support/env';
import { awsWorld, type AwsWorld } from '../../support/purge-aws';
import { NOW, bucketSnapshot } from '../../support/purge-world';

const endpoint = motoEndpoint();
const TARGET = 'acc_expired45d';
const CONTROL = 'acc_active0001';
// Four versions per delete request: each location's six entries take two batches, so batch checkpoints
// repeat within a location and across locations.
const PAGE = 4;

class Killed extends Error {}

const cases: [CheckpointName, number][] = [
  ...CHECKPOINTS.map((c): [CheckpointName, number] => [c, 1]),
  // The second batch of the first location, and the first batch of the second location.
  ['objects:deleted', 2],
  ['objects:committed', 3],
  ['objects:location-done', 2],
];

async function receipts(world: AwsWorld): Promise<PurgeReceipt[]> {
  const list = await world.receiptsS3.send(
    new ListObjectsV2Command({ Bucket: world.receiptsBucket, Prefix: `receipts/${TARGET}/` }),
  );
  return Promise.all(
    (list.Contents ?? []).map(async (o) => {
      const got = await world.receiptsS3.send(
        new GetObjectCommand({ Bucket: world.receiptsBucket, Key: o.Key! }),
      );
      return JSON.parse(await got.Body!.transformToString()) as PurgeReceipt;
    }),
  );
}

test.each(cases)(
  'killed at %s (occurrence %i), the next run completes with exact counts',
  async (name, occurrence) => {
    const world = await awsWorld(endpoint, { pick: (a) => a.id === TARGET || a.id === CONTROL });
    const control = await Promise.all(
      LOCATIONS.map((l) => bucketSnapshot(world.s3[l], world.buckets[l], `account=${CONTROL}/`)),
    );
    let seen = 0;
    const killer = {
      checkpoint: ({ name: n }: { name: CheckpointName }) => {
        if (n === name && ++seen === occurrence) throw new Killed(name);
      },
    };
    const first = await world.runtime({ job: { pageSize: PAGE, hooks: killer } });
    await expect(first.job.run()).rejects.toBeInstanceOf(Killed);

    // An hour later the killed run's lease has lapsed.
    const later = new Date(NOW.getTime() + 3600_000);
    const second = await world.runtime({ job: { pageSize: PAGE, now: () => later } });
    const report = await second.job.run();
    expect(report.outcomes.filter((o) => o.result !== 'purged')).toEqual([]);
    expect(report.outcomes.map((o) => o.accountId)).toEqual(name === 'purged' ? [] : [TARGET]);

    const [receipt, ...more] = await receipts(world);
    expect(more).toEqual([]);
    expect(receipt!.counts).toEqual({
      dataKeys: { deleted: 3, locations: ['americas', 'apac', 'europe'] },
      objects: world.objects[TARGET],
      directory: { campaigns: 2, apiKeys: 1, conversionClaims: 1, other: 0 },
    });
    for (const l of LOCATIONS) {
      expect(await bucketSnapshot(world.s3[l], world.buckets[l], `account=${TARGET}/`)).toEqual({});
    }
    expect(
      await Promise.all(
        LOCATIONS.map((l) => bucketSnapshot(world.s3[l], world.buckets[l], `account=${CONTROL}/`)),
      ),
    ).toEqual(control);
    expect(await world.directory.listItems(`ACCOUNT#${TARGET}`)).toEqual([
      expect.objectContaining({ status: 'purged', purgeReceipt: expect.stringMatching(/^s3:\/\//) }),
    ]);
    expect((await world.directory.getAccount(CONTROL))?.status).toBe('active');
  },
);
