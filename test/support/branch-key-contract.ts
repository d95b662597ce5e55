/**
 * What every directory store must do for branch keys and branch-sealed copies, asserted the same way
 * against the local file, DynamoDB on moto and the Firestore emulator.
 */
import type {
  BranchKeyRecord,
  Directory,
  WrappedDataKeyRecord,
} from '../../services/shared/directory/directory';

/**
 * Asserts the branch-key methods of a directory store: one winner among concurrent creators (never a
 * replacement), an expired version read as absent, and a copy written back only onto the very key it copies.
 * @param stores two clients of one store (two instances), e.g. two DynamoDirectory objects on one table
 * @param tag distinguishes this run's records from others sharing the store
 */
export async function assertBranchKeyContract(
  stores: readonly [Directory, Directory],
  tag: string,
): Promise<void> {
  const [a, b] = stores;
  const location = `loc${tag}`;
  const nowMs = Date.now();
  const branch = (branchKeyId: string, version = 7): BranchKeyRecord => ({
    location,
    version,
    branchKeyId,
    wrapped: Buffer.from(branchKeyId).toString('base64'),
    createdAt: new Date(nowMs).toISOString(),
    expiresAt: Math.floor(nowMs / 1000) + 3600,
  });

  expect(await a.getBranchKey(location, 7, nowMs)).toBeUndefined();
  const raced = await Promise.all([
    a.putBranchKeyIfAbsent(branch('bk_first')),
    b.putBranchKeyIfAbsent(branch('bk_second')),
  ]);
  expect(raced[0].branchKeyId).toBe(raced[1].branchKeyId);
  expect((await b.putBranchKeyIfAbsent(branch('bk_third'))).branchKeyId).toBe(raced[0].branchKeyId);
  expect(await a.getBranchKey(location, 7, nowMs)).toEqual(
    raced[0].branchKeyId === 'bk_first' ? branch('bk_first') : branch('bk_second'),
  );
  // Versions are separate items; one past its expiry reads as absent.
  expect(await a.getBranchKey(location, 8, nowMs)).toBeUndefined();
  expect(await a.getBranchKey(location, 7, nowMs + 3601 * 1000)).toBeUndefined();

  const accountId = `acc_contract${tag}`;
  const record: WrappedDataKeyRecord = {
    accountId,
    location,
    wrapped: Buffer.from('wrapped').toString('base64'),
    dataKeyId: 'dk_contract',
    createdAt: new Date(nowMs).toISOString(),
  };
  const copy = (branchKeyId: string, branchKeyVersion: number): WrappedDataKeyRecord => ({
    ...record,
    branchSealed: Buffer.from(`sealed under ${branchKeyId}`).toString('base64'),
    branchKeyId,
    branchKeyVersion,
  });
  // No item: a copy never creates one (a purged key stays purged).
  expect(await a.putDataKeyBranchCopy(copy('bk_1', 7), undefined)).toBe(false);
  expect(await a.getDataKey(accountId, location)).toBeUndefined();
  await a.putDataKeyIfAbsent(record);
  expect(await a.putDataKeyBranchCopy(copy('bk_1', 7), undefined)).toBe(true);
  expect(await b.getDataKey(accountId, location)).toEqual(copy('bk_1', 7));
  // Replacing the copy needs the one read; a stale writer loses, and a copy of another key never lands.
  expect(await b.putDataKeyBranchCopy(copy('bk_2', 8), undefined)).toBe(false);
  expect(await b.putDataKeyBranchCopy({ ...copy('bk_2', 8), dataKeyId: 'dk_other' }, 'bk_1')).toBe(false);
  expect(await b.putDataKeyBranchCopy({ ...copy('bk_2', 8), wrapped: 'b3RoZXI=' }, 'bk_1')).toBe(false);
  expect(await b.putDataKeyBranchCopy(copy('bk_2', 8), 'bk_1')).toBe(true);
  expect(await a.getDataKey(accountId, location)).toEqual(copy('bk_2', 8));
  await expect(a.putDataKeyBranchCopy(record, 'bk_2')).rejects.toThrow(/holds no copy/);
}
