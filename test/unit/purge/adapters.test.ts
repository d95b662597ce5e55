/** Limits the adapters enforce themselves, whatever the caller (S3 refuses more than 1,000 keys; moto does not). */
import { S3Client } from '@aws-sdk/client-s3';
import { S3EventObjectStore } from '../../../services/purge/src/aws/s3-event-store';
import { FileEventObjectStore } from '../../../services/purge/src/local/file-event-store';

const refs = Array.from({ length: 1001 }, (_, i) => ({
  key: `account=acc_limit0001/k${i}`,
  versionId: 'null',
}));

test('a delete request of 1,001 versions is refused before anything is sent or deleted', async () => {
  // No endpoint answers here: the check must come before any request.
  const s3 = new S3EventObjectStore({
    client: new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
    bucket: 'never-called',
    location: 'americas',
  });
  await expect(s3.deleteVersions(refs)).rejects.toThrow(/at most 1000 keys, got 1001/);
  expect(s3.calls.deleteObjects).toBe(0);
  const local = new FileEventObjectStore({ rootDir: '/nonexistent', location: 'americas' });
  await expect(local.deleteVersions(refs)).rejects.toThrow(/at most 1000 versions/);
});

test('the local store lists only an exact account folder, and deletes only inside the event folders', async () => {
  const local = new FileEventObjectStore({ rootDir: '/nonexistent', location: 'americas' });
  await expect(local.listVersions('account=')).rejects.toThrow(/prefix must be account=<id>\//);
  await expect(local.listVersions('account=../x/')).rejects.toThrow(/prefix must be/);
  const out = await local.deleteVersions([{ key: 'account=acc_x/../../etc/passwd', versionId: 'null' }]);
  expect(out.deleted).toEqual([]);
  expect(out.errors).toEqual([expect.objectContaining({ code: 'InvalidKey' })]);
});
