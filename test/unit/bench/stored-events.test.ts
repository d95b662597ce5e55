/**
 * The benchmark's stored-event count, which decides "acknowledged = stored": it must count every complete
 * line of every segment, per account, and nothing else (files that are not segments, a last line cut short).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countStoredEvents } from '../../../bench/lib/stored-events';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trackstack-stored-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function segment(account: string, dt: string, file: string, text: string): Promise<void> {
  const folder = join(dir, 'events', `account=${account}`, `dt=${dt}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, file), text);
}

test('counts complete lines per account across days and segments, and finds clear-text needles', async () => {
  await segment('acc_one', '2026-12-02', 'a.ndjson', '{"n":1}\n{"n":2}\n');
  await segment('acc_one', '2026-12-03', 'b.ndjson', '{"n":3}\n{"ua":"Mozilla/5.0 X"}\n{"n":5,"cut');
  await segment('acc_two', '2026-12-03', 'c.ndjson', '{"ip":"127.0.0.1"}\n');
  // Not segments: a temp file of the sink and a stray file beside the partitions.
  await segment('acc_two', '2026-12-03', 'c.ndjson.tmp', '{"n":9}\n');
  await writeFile(join(dir, 'events', 'README'), 'x\n');

  const count = await countStoredEvents(dir, ['Mozilla/5.0 X', '127.0.0.1']);
  expect(count.total).toBe(5);
  expect([...count.byAccount]).toEqual([
    ['acc_one', 4],
    ['acc_two', 1],
  ]);
  expect(count.inClearText).toBe(2);
  expect(count.sample).toBe('{"n":1}');
});

test('a data folder where nothing was stored counts zero', async () => {
  const count = await countStoredEvents(dir);
  expect(count).toEqual({ total: 0, byAccount: new Map(), inClearText: 0, sample: '' });
});
