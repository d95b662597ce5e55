/**
 * The S3 adapter of the config store against moto: documents written with the CDN's headers and read back;
 * an account's deletion removes every version and delete marker under `config/<account>/`, in DeleteObjects
 * of at most 1,000 keys, and not one version of an account whose id extends it (`acc_x` vs `acc_x1`).
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { renderCampaignConfig, InvalidStoredConfigError } from '../../../services/shared/campaign-config';
import {
  CONFIG_CACHE_CONTROL,
  S3ConfigStore,
  configBucketClient,
} from '../../../services/shared/campaign-config/s3-config-store';
import { motoClientConfig } from '../../../tooling/moto';
import { motoEndpoint } from '../../support/env';
import { createVersionedBucket } from '../../support/purge-world';

const endpoint = motoEndpoint();
const s3 = new S3Client(motoClientConfig(endpoint));
const PURGED = 'acc_cfgstore01';
const NEIGHBOUR = 'acc_cfgstore011';

const doc = (accountId: string, campaignId: string, countAnonymous = true) =>
  renderCampaignConfig({ accountId, campaignId, name: 'n', countAnonymous, allowedOrigins: [] });

/** `key@version` of every version and delete marker under a prefix. */
async function versions(bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, VersionIdMarker }),
    );
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
      out.push(`${v.Key}@${v.VersionId}`);
    if (!page.IsTruncated) return out.sort();
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

/** Writes `count` versions of one key, one after another: moto may merge concurrent writes of one key. */
async function putMany(bucket: string, key: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `{"n":${i}}` }));
}

let bucket: string;
let store: S3ConfigStore;
beforeAll(async () => {
  bucket = `config-store-${randomBytes(4).toString('hex')}`;
  await createVersionedBucket(s3, bucket, 'us-east-1');
});
beforeEach(() => {
  store = new S3ConfigStore({ bucket, client: configBucketClient(motoClientConfig(endpoint)) });
});

test('the client is in us-east-1 and follows region redirects (a purge may run in another region)', async () => {
  const client = configBucketClient({ region: 'eu-west-1' });
  expect(await client.config.region()).toBe('eu-west-1');
  expect(client.config.followRegionRedirects).toBe(true);
  expect(await configBucketClient().config.region()).toBe('us-east-1');
});

test('put writes the document with the CDN headers, get reads it back; absent is undefined', async () => {
  const d = doc('acc_cfgput0001', 'cmp_spring');
  expect(await store.get(d.accountId, d.campaignId)).toBeUndefined();
  await store.put(d);
  expect(await store.get(d.accountId, d.campaignId)).toEqual(d);
  const head = await s3.send(
    new HeadObjectCommand({ Bucket: bucket, Key: 'config/acc_cfgput0001/cmp_spring.json' }),
  );
  expect(head.ContentType).toBe('application/json');
  expect(head.CacheControl).toBe(CONFIG_CACHE_CONTROL);
  expect(CONFIG_CACHE_CONTROL).toBe('public, max-age=60');
});

test('put refuses an invalid document and writes nothing', async () => {
  const bad = { ...doc('acc_cfgbad0001', 'cmp_spring'), collectUrl: 'https://x.example' };
  await expect(store.put(bad)).rejects.toThrow(/not a valid config document/);
  expect(await versions(bucket, 'config/acc_cfgbad0001/')).toEqual([]);
});

test('get reports a stored object that is not a valid document', async () => {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'config/acc_cfgbad0002/cmp_spring.json', Body: '<html>' }),
  );
  await expect(store.get('acc_cfgbad0002', 'cmp_spring')).rejects.toThrow(InvalidStoredConfigError);
});

test('deleteAccount removes every version and delete marker of the account, in batches of 1,000, and nothing of its neighbour', async () => {
  // About 1,006 versions and a delete marker: more than one DeleteObjects can carry.
  await Promise.all([
    putMany(bucket, `config/${PURGED}/cmp_many.json`, 600),
    putMany(bucket, `config/${PURGED}/cmp_gone.json`, 400),
  ]);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `config/${PURGED}/cmp_gone.json` }));
  await store.put(doc(PURGED, 'cmp_live'));
  await store.put(doc(PURGED, 'cmp_live', false));
  await store.put(doc(PURGED, 'cmp_live'));
  await store.put(doc(PURGED, 'cmp_twice'));
  await store.put(doc(PURGED, 'cmp_twice', false));
  // The neighbour's id starts with the purged one's: `config/acc_x` is a prefix of `config/acc_x1/`.
  await store.put(doc(NEIGHBOUR, 'cmp_live'));
  await store.put(doc(NEIGHBOUR, 'cmp_live', false));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `config/${NEIGHBOUR}/cmp_live.json` }));
  const neighbourBefore = await versions(bucket, `config/${NEIGHBOUR}/`);
  expect(neighbourBefore).toHaveLength(3);
  const purgedBefore = await versions(bucket, `config/${PURGED}/`);
  expect(purgedBefore).toHaveLength(1006);

  const result = await store.deleteAccount(PURGED);

  expect(result).toEqual({ deleted: 4, versions: purgedBefore.length });
  expect(await versions(bucket, `config/${PURGED}/`)).toEqual([]);
  expect(await versions(bucket, `config/${NEIGHBOUR}/`)).toEqual(neighbourBefore);
  expect(store.calls.deleteObjects).toBe(2);
  expect(store.calls.maxKeysPerDelete).toBe(1000);
  // Nothing left: a second deletion lists once and deletes nothing.
  expect(await store.deleteAccount(PURGED)).toEqual({ deleted: 0, versions: 0 });
});

test('deleteAccount refuses a malformed account id, touching nothing', async () => {
  await store.put(doc('acc_cfgkeep0001', 'cmp_spring'));
  const before = await versions(bucket, 'config/');
  await expect(store.deleteAccount('acc_cfg')).rejects.toThrow(RangeError);
  await expect(store.deleteAccount('')).rejects.toThrow(RangeError);
  expect(await versions(bucket, 'config/')).toEqual(before);
});
