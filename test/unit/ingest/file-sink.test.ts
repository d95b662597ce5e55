import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FILE_SINK_LAYOUT,
  FileSink,
  fileSinkPartitionDir,
  listFileSinkSegments,
  readFileSinkEvents,
} from '../../../services/ingest/src/sinks/file-sink';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';

const rec = (id: string, accountId = 'acc_filesink01', dt = '2025-03-01', pad = 0): SinkRecord => ({
  accountId,
  dt,
  data: Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(pad) }) + '\n'),
});
const ids = (events: { data: Buffer }[]) => events.map((e) => JSON.parse(e.data.toString()).id as string);

describe('FileSink', () => {
  let root: string;
  let sink: FileSink | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ts-filesink-'));
  });
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('writes records into account=/dt= partitions and reads them back exactly', async () => {
    sink = new FileSink({ rootDir: root });
    const batch = [
      rec('a1'),
      rec('b1', 'acc_filesink02'),
      rec('a2'),
      rec('a3', 'acc_filesink01', '2025-03-02'),
      // A record without its newline still becomes one line.
      { accountId: 'acc_filesink02', dt: '2025-03-01', data: Buffer.from('{"id":"b2"}') },
    ];
    expect(await sink.putBatch(batch)).toEqual([]);
    expect(await sink.putBatch([rec('a4')])).toEqual([]);

    expect((await readdir(root)).sort()).toEqual(['account=acc_filesink01', 'account=acc_filesink02']);
    const dir = fileSinkPartitionDir(root, 'acc_filesink01', '2025-03-01');
    expect(dir).toBe(join(root, 'account=acc_filesink01', 'dt=2025-03-01'));
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(
      new RegExp(`^\\d{8}T\\d{9}Z-${process.pid}-\\d{6}\\${FILE_SINK_LAYOUT.segmentSuffix}$`),
    );
    expect(await readFile(join(dir, files[0]!), 'utf8')).toBe(
      rec('a1').data.toString() + rec('a2').data.toString() + rec('a4').data.toString(),
    );

    const events = await readFileSinkEvents(root);
    expect(events).toHaveLength(6);
    expect(ids(events.filter((e) => e.accountId === 'acc_filesink01' && e.dt === '2025-03-01'))).toEqual([
      'a1',
      'a2',
      'a4',
    ]);
    expect(ids(events.filter((e) => e.accountId === 'acc_filesink02'))).toEqual(['b1', 'b2']);
    expect(events.find((e) => ids([e])[0] === 'a3')).toMatchObject({
      accountId: 'acc_filesink01',
      dt: '2025-03-02',
    });
    expect(events[0]!.data.equals(rec('a1').data)).toBe(true);
  });

  it('rotates segments by size so files stay bounded', async () => {
    sink = new FileSink({ rootDir: root, segmentBytes: 1000 });
    for (let i = 0; i < 50; i++)
      expect(await sink.putBatch([rec(`r${i}`, undefined, undefined, 80)])).toEqual([]);
    const segments = await listFileSinkSegments(root);
    expect(segments.length).toBeGreaterThan(4);
    for (const s of segments) expect((await stat(s.path)).size).toBeLessThanOrEqual(1000);
    expect(new Set(segments.map((s) => s.path)).size).toBe(segments.length);
    // Order of segments is creation order, so reading back preserves write order.
    expect(ids(await readFileSinkEvents(root))).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
  });

  it('keeps open file handles bounded (LRU) across many partitions', async () => {
    sink = new FileSink({ rootDir: root, maxOpenFiles: 3 });
    const written: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let a = 0; a < 10; a++) {
        const id = `r${round}-a${a}`;
        written.push(id);
        expect(await sink.putBatch([rec(id, `acc_filesink${String(a).padStart(2, '0')}`)])).toEqual([]);
        expect(sink.openSegments).toBeLessThanOrEqual(3);
      }
    }
    expect(ids(await readFileSinkEvents(root)).sort()).toEqual(written.sort());
  });

  it('gives two sinks in one process distinct segment names', async () => {
    sink = new FileSink({ rootDir: root });
    const other = new FileSink({ rootDir: root });
    await Promise.all([sink.putBatch([rec('x1')]), other.putBatch([rec('x2')])]);
    await other.close();
    expect(await readdir(fileSinkPartitionDir(root, 'acc_filesink01', '2025-03-01'))).toHaveLength(2);
    expect(ids(await readFileSinkEvents(root)).sort()).toEqual(['x1', 'x2']);
  });

  it('reports unsafe partitions as not accepted, and rejects when nothing was accepted', async () => {
    sink = new FileSink({ rootDir: root });
    expect(
      await sink.putBatch([rec('ok'), rec('bad', '../escape'), rec('bad2', 'acc_filesink01', '2025/03')]),
    ).toEqual([1, 2]);
    await expect(sink.putBatch([rec('bad', '../escape')])).rejects.toThrow(/unsafe partition/);
    expect(ids(await readFileSinkEvents(root))).toEqual(['ok']);
  });

  it('skips a torn last line when reading back', async () => {
    sink = new FileSink({ rootDir: root });
    await sink.putBatch([rec('whole')]);
    const [seg] = await listFileSinkSegments(root);
    await writeFile(seg!.path, rec('whole').data.toString() + '{"id":"torn"', 'utf8');
    expect(ids(await readFileSinkEvents(root))).toEqual(['whole']);
  });

  it('check() passes on a writable root and fails when the root cannot be a directory', async () => {
    sink = new FileSink({ rootDir: join(root, 'new', 'tree') });
    await expect(sink.check()).resolves.toBeUndefined();
    expect(await readdir(join(root, 'new', 'tree'))).toEqual([]);

    await writeFile(join(root, 'file'), 'x');
    const broken = new FileSink({ rootDir: join(root, 'file', 'sub') });
    await expect(broken.check()).rejects.toThrow();
    await expect(broken.putBatch([rec('x')])).rejects.toThrow();
    await broken.close();
  });

  it('refuses writes after close and reads nothing from an absent root', async () => {
    sink = new FileSink({ rootDir: root });
    await sink.close();
    await expect(sink.putBatch([rec('late')])).rejects.toThrow(/closed/);
    expect(await readFileSinkEvents(join(root, 'absent'))).toEqual([]);
  });
});
