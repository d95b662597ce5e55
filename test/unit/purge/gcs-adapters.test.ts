/**
 * The purge's Cloud Storage adapters (event store and receipt store) against a stand-in of the Storage
 * client (`fake-gcs.ts`): there is no Cloud Storage emulator here, so these tests prove the adapters'
 * own logic (every generation listed and deleted, prefix siblings untouched, 404 idempotent, receipts
 * never overwritten), not the service's retention lock.
 */
import { GcsEventObjectStore } from '../../../services/purge/src/gcp/gcs-event-store';
import { GcsReceiptStore } from '../../../services/purge/src/gcp/gcs-receipt-store';
import type { PurgeReceipt } from '../../../services/purge/src/core/model';
import { FakeGcsBucket } from './fake-gcs';

async function purgePrefix(store: GcsEventObjectStore, prefix: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await store.listVersions(prefix, { limit: 3 });
    if (page.versions.length === 0) return deleted;
    const out = await store.deleteVersions(page.versions);
    expect(out.errors).toEqual([]);
    deleted += out.deleted.length;
  }
}

test('every generation under the account prefix goes; acc_10 and other accounts stay', async () => {
  const bucket = new FakeGcsBucket('ev');
  for (let i = 0; i < 4; i++) {
    bucket.put(`account=acc_1/dt=2026-01-01/part-${i}.jsonl`);
    bucket.put(`account=acc_1/dt=2026-01-01/part-${i}.jsonl`); // a noncurrent generation too
  }
  bucket.put('account=acc_10/dt=2026-01-01/part-0.jsonl');
  bucket.put('account=acc_2/dt=2026-01-01/part-0.jsonl');
  const others = bucket.names().filter((n) => !n.startsWith('account=acc_1/'));
  const store = new GcsEventObjectStore({ bucket, location: 'europe', concurrency: 2 });
  expect(store.description).toBe('gs://ev');
  const first = await store.listVersions('account=acc_1/', { limit: 5 });
  expect(first.versions).toHaveLength(5);
  expect(first.next).toBeDefined();
  expect(first.versions.every((v) => /^\d+$/.test(v.versionId) && !v.deleteMarker)).toBe(true);
  expect(await purgePrefix(store, 'account=acc_1/')).toBe(8);
  expect(bucket.names()).toEqual(others);
  expect(bucket.calls.filter((c) => c.startsWith('delete')).every((c) => /#(\d+) if \1$/.test(c))).toBe(true);
});

test('deleting a generation already gone counts as deleted; other failures are reported per key', async () => {
  const bucket = new FakeGcsBucket('ev');
  const g = bucket.put('account=acc_1/a');
  bucket.put('account=acc_1/b');
  bucket.failDeletes.set('account=acc_1/b', 503);
  const store = new GcsEventObjectStore({ bucket, location: 'americas' });
  const refs = (await store.listVersions('account=acc_1/')).versions;
  const again = [{ key: 'account=acc_1/a', versionId: String(g) }];
  const out = await store.deleteVersions(refs);
  expect(out.deleted).toEqual(again);
  expect(out.errors).toEqual([expect.objectContaining({ key: 'account=acc_1/b', code: '503' })]);
  expect(await store.deleteVersions(again)).toEqual({ deleted: again, errors: [] });
  await expect(store.deleteVersions(Array.from({ length: 1001 }, () => again[0]!))).rejects.toThrow(
    /at most 1000 keys, got 1001/,
  );
});

const receipt = {
  kind: 'trackstack.purge-receipt',
  version: 1,
  accountId: 'acc_1',
  purgeId: 'run_1',
  runId: 'run_1',
  finishedAt: '2026-01-01T00:00:00.000Z',
} as unknown as PurgeReceipt;

test('a receipt is written once with ifGenerationMatch 0; identical again is accepted, different refused', async () => {
  const bucket = new FakeGcsBucket('rc');
  const store = new GcsReceiptStore(bucket);
  expect(await store.write(receipt)).toBe('gs://rc/receipts/acc_1/run_1.json');
  expect(await store.write(receipt)).toBe('gs://rc/receipts/acc_1/run_1.json');
  await expect(store.write({ ...receipt, finishedAt: '2026-01-02T00:00:00.000Z' })).rejects.toThrow(
    /a different receipt already exists at gs:\/\/rc\/receipts\/acc_1\/run_1.json/,
  );
  expect(bucket.generations).toHaveLength(1);
  expect(bucket.calls.filter((c) => c.startsWith('save'))).toEqual(
    Array(3).fill('save receipts/acc_1/run_1.json if 0'),
  );
  expect(await store.read('acc_1', 'run_1')).toEqual(receipt);
  expect(await store.read('acc_1', 'run_2')).toBeUndefined();
  expect(await store.readSweep('acc_1', 'run_1')).toBeUndefined();
});
