/**
 * The file-backed directory of embedded defaults under many writes at once: each write replaces the whole
 * file, so writes that arrive together are committed together (one replacement for the group), and none is
 * lost, also when two directory objects (two processes of `npm run local`) write the same file.
 */
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectory } from '../../../../services/shared/directory/local-directory';
import type { WrappedDataKeyRecord } from '../../../../services/shared/directory/directory';

const record = (i: number): WrappedDataKeyRecord => ({
  accountId: `acc_local${String(i).padStart(8, '0')}`,
  location: 'americas',
  wrapped: Buffer.alloc(48, i % 256).toString('base64'),
  dataKeyId: `dk${i}`,
  createdAt: '2026-12-03T00:00:00.000Z',
});

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'trackstack-local-directory-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(dataDir, { recursive: true, force: true });
});

test('2,000 writes at once are committed in a few file replacements, and every one is stored', async () => {
  const directory = new LocalDirectory({ dataDir });
  const renames = jest.spyOn(fs, 'rename');
  const stored = await Promise.all(
    Array.from({ length: 2_000 }, (_, i) => directory.putDataKeyIfAbsent(record(i))),
  );
  expect(stored.map((r) => r.dataKeyId)).toEqual(Array.from({ length: 2_000 }, (_, i) => `dk${i}`));
  // One replacement per group: the first write goes alone, the other 1,999 wait for it and go together.
  expect(renames.mock.calls.length).toBeLessThanOrEqual(3);
  const reread = new LocalDirectory({ dataDir });
  const found = await Promise.all(
    Array.from({ length: 2_000 }, (_, i) => reread.getDataKey(record(i).accountId, 'americas')),
  );
  expect(found.filter(Boolean)).toHaveLength(2_000);
});

test('writes of one group see each other in order: the first key of an account wins', async () => {
  const directory = new LocalDirectory({ dataDir });
  const first = { ...record(1), dataKeyId: 'first' };
  const second = { ...record(1), dataKeyId: 'second' };
  const [a, b] = await Promise.all([
    directory.putDataKeyIfAbsent(first),
    directory.putDataKeyIfAbsent(second),
  ]);
  expect([a.dataKeyId, b.dataKeyId]).toEqual(['first', 'first']);
});

test("two directory objects on one file (two processes) lose none of each other's writes", async () => {
  const one = new LocalDirectory({ dataDir });
  const two = new LocalDirectory({ dataDir });
  await Promise.all(
    Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? one : two).putDataKeyIfAbsent(record(i))),
  );
  const reread = new LocalDirectory({ dataDir });
  const found = await Promise.all(
    Array.from({ length: 400 }, (_, i) => reread.getDataKey(record(i).accountId, 'americas')),
  );
  expect(found.filter(Boolean)).toHaveLength(400);
});

test('its own writes are not read back: after a write, reads and the next write parse no file', async () => {
  const directory = new LocalDirectory({ dataDir });
  await directory.putDataKeyIfAbsent(record(1));
  // Every reload opens the file for reading; a directory that knows the file is its own opens nothing.
  const opens = jest.spyOn(fs, 'open');
  const readOpens = () => opens.mock.calls.filter(([, flags]) => flags === 'r').length;
  expect((await directory.getDataKey(record(1).accountId, 'americas'))?.dataKeyId).toBe('dk1');
  await directory.putDataKeyIfAbsent(record(2));
  expect((await directory.getDataKey(record(2).accountId, 'americas'))?.dataKeyId).toBe('dk2');
  expect(readOpens()).toBe(0);
  // A write by another process is still seen, with one reload.
  await new LocalDirectory({ dataDir }).putDataKeyIfAbsent(record(3));
  opens.mockClear();
  expect((await directory.getDataKey(record(3).accountId, 'americas'))?.dataKeyId).toBe('dk3');
  expect(readOpens()).toBe(1);
});
