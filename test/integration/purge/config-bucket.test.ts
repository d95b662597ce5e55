/**
 * The purge with `TS_CONFIG_BUCKET` against moto: a purged account's published configs go from the CDN's
 * versioned config bucket, every version and delete marker, and every other account's stay byte for byte,
 * including one whose id extends the purged one's.
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { renderCampaignConfig } from '../../../services/shared/campaign-config';
import { S3ConfigStore, configBucketClient } from '../../../services/shared/campaign-config/s3-config-store';
import { createPurgeRuntime } from '../../../services/purge/src/runtime';
import { motoClientConfig } from '../../../tooling/moto';
import { motoEndpoint } from '../../support/env';
import { awsWorld, motoSettings, type AwsWorld } from '../../support/purge-aws';
import { NOW, createVersionedBucket } from '../../support/purge-world';

const endpoint = motoEndpoint();
const s3 = new S3Client(motoClientConfig(endpoint));

async function versions(bucket: string): Promise<string[]> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'config/' }));
  return [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].map((v) => `${v.Key}@${v.VersionId}`).sort();
}

let world: AwsWorld;
let bucket: string;
beforeAll(async () => {
  world = await awsWorld(endpoint);
  bucket = `purge-config-${randomBytes(4).toString('hex')}`;
  await createVersionedBucket(s3, bucket, 'us-east-1');
});

test('TS_CONFIG_BUCKET: the eligible accounts lose every version of their configs; the others keep theirs', async () => {
  const store = new S3ConfigStore({ bucket, client: configBucketClient(motoClientConfig(endpoint)) });
  const eligible = Object.values(world.accounts)
    .filter((a) => a.eligible)
    .map((a) => a.id);
  const kept = ['acc_active0001', 'acc_expired44d', 'acc_expired45d1'];
  for (const accountId of [...eligible, ...kept]) {
    for (const countAnonymous of [true, false])
      await store.put(
        renderCampaignConfig({
          accountId,
          campaignId: 'cmp_shared',
          name: 'n',
          countAnonymous,
          allowedOrigins: [],
        }),
      );
  }
  // A delete marker on top of an eligible account's document: it must go too.
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `config/${eligible[0]}/cmp_shared.json` }));
  const before = await versions(bucket);
  const keptBefore = before.filter((v) => kept.some((k) => v.startsWith(`config/${k}/`)));
  expect(keptBefore).toHaveLength(6);

  const rt = await createPurgeRuntime(world.env({ TS_CONFIG_BUCKET: bucket }), {
    awsClientConfig: motoSettings(endpoint),
    job: { now: () => NOW, sleep: async () => undefined },
  });
  expect(rt.publishedConfigs?.description).toBe(`s3://${bucket}`);
  const report = await rt.job.run();
  expect(
    report.outcomes
      .filter((o) => o.result === 'purged')
      .map((o) => o.accountId)
      .sort(),
  ).toEqual([...eligible].sort());

  expect(await versions(bucket)).toEqual(keptBefore);
});

test('without TS_CONFIG_BUCKET and with the DynamoDB directory, no config store is used', async () => {
  const rt = await createPurgeRuntime(world.env(), { awsClientConfig: motoSettings(endpoint) });
  expect(rt.publishedConfigs).toBeUndefined();
});
