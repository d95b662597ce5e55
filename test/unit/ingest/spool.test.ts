import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';
import {
  DiskSpool,
  SPOOL_CORRUPT_SUFFIX,
  SPOOL_FILE_SUFFIX,
  SpoolCorruptError,
  SpoolFullError,
} from '../../../services/ingest/src/sinks/spool';

const rec = (i: number, accountId = 'acc_spooltest1', dt = '2025-03-01'): SinkRecord => ({
  accountId,
  dt,
  data: Buffer.from(JSON.stringify({ id: `e${i}`, note: 'line "quoted" \u00e9\n' }) + '\n'),
});

describe('DiskSpool', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ts-spool-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends, lists oldest first, reads back byte-exact with partitions and removes', async () => {
    const spool = new DiskSpool({ dir });
    expect(spool.depth).toBe(0);
    const a = await spool.append([rec(1), rec(2, 'acc_other00001', '2025-03-02')]);
    const b = await spool.append([rec(3)]);
    const c = await spool.append([rec(4), rec(5), rec(6)]);
    expect(spool.depth).toBe(6);
    expect(spool.files).toBe(3);
    expect(spool.list().map((e) => e.id)).toEqual([a.id, b.id, c.id]);
    expect(spool.oldest()?.id).toBe(a.id);

    const back = await spool.read(a.id);
    expect(back).toEqual([rec(1), rec(2, 'acc_other00001', '2025-03-02')]);
    expect(back[1]!.data.equals(rec(2).data)).toBe(true);

    await spool.remove(a.id);
    expect(spool.depth).toBe(4);
    expect(spool.oldest()?.id).toBe(b.id);
    await spool.remove(a.id); // idempotent
    expect(spool.depth).toBe(4);
    expect((await readdir(dir)).sort()).toEqual([b.id + SPOOL_FILE_SUFFIX, c.id + SPOOL_FILE_SUFFIX].sort());
  });

  it('keeps order oldest first across concurrent appends', async () => {
    const spool = new DiskSpool({ dir });
    const entries = await Promise.all(Array.from({ length: 20 }, (_, i) => spool.append([rec(i)])));
    const ids = entries.map((e) => e.id);
    expect(spool.list().map((e) => e.id)).toEqual([...ids].sort());
    expect(spool.depth).toBe(20);
  });

  it('leaves no temp files behind and survives a restart', async () => {
    const first = new DiskSpool({ dir });
    await first.append([rec(1), rec(2)]);
    await first.append([rec(3)]);
    // A crashed append leaves a temp file: never acknowledged, so the next process discards it.
    await writeFile(join(dir, '1700000000000-0000001-000000001-5.tmp'), 'partial');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);

    const second = new DiskSpool({ dir });
    expect(second.depth).toBe(3);
    expect(second.files).toBe(2);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toHaveLength(0);
    const all: SinkRecord[] = [];
    for (const e of second.list()) {
      all.push(...(await second.read(e.id)));
      await second.remove(e.id);
    }
    expect(all.map((r) => JSON.parse(r.data.toString()).id)).toEqual(['e1', 'e2', 'e3']);
    expect(second.depth).toBe(0);
    expect(new DiskSpool({ dir }).depth).toBe(0);
  });

  it('detects a corrupt file and can quarantine it', async () => {
    const spool = new DiskSpool({ dir });
    const e = await spool.append([rec(1), rec(2)]);
    await writeFile(join(dir, e.id + SPOOL_FILE_SUFFIX), '{"a":"acc_x","d":"2025-01-01","b":"eA=="}\n');
    await expect(spool.read(e.id)).rejects.toBeInstanceOf(SpoolCorruptError);
    await spool.quarantine(e.id);
    expect(spool.depth).toBe(0);
    expect(await readdir(dir)).toEqual([e.id + SPOOL_CORRUPT_SUFFIX]);
    expect(new DiskSpool({ dir }).depth).toBe(0);
  });

  it('refuses appends beyond maxBytes and empty batches', async () => {
    const spool = new DiskSpool({ dir, maxBytes: 400 });
    await spool.append([rec(1)]);
    await expect(spool.append(Array.from({ length: 10 }, (_, i) => rec(i)))).rejects.toBeInstanceOf(
      SpoolFullError,
    );
    await expect(spool.append([])).rejects.toBeInstanceOf(RangeError);
    expect(spool.depth).toBe(1);
  });

  it('rejects an append when the directory is gone', async () => {
    const spool = new DiskSpool({ dir });
    await rm(dir, { recursive: true });
    await writeFile(dir, 'not a directory');
    await expect(spool.append([rec(1)])).rejects.toThrow();
    expect(spool.depth).toBe(0);
    await rm(dir);
  });
});
