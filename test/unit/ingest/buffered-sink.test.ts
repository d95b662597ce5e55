import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '../../../services/ingest/src/metrics';
import { BufferedSink, type BufferedSinkOptions } from '../../../services/ingest/src/sinks/buffered-sink';
import {
  InvalidPartitionError,
  RecordTooLargeError,
  SinkUnavailableError,
} from '../../../services/ingest/src/sinks/errors';
import type { Sink, SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { DiskSpool } from '../../../services/ingest/src/sinks/spool';

/**
 * An in-memory implementation of our own Sink interface, switchable between healthy, down, partially
 * failing and hanging, that records every call it receives.
 */
class MemorySink implements Sink {
  readonly name = 'memory';
  readonly stored: SinkRecord[] = [];
  readonly calls: { records: number; bytes: number }[] = [];
  /** `down`: every call rejects; `hang`: calls never answer. */
  mode: 'ok' | 'down' | 'hang' = 'ok';
  /** While positive, each call refuses its odd-indexed records and decrements this. */
  partialCalls = 0;
  /** While set, calls wait for it before answering. */
  gate: Promise<void> | undefined;
  inFlight = 0;
  maxSeenInFlight = 0;
  closed = false;

  constructor(
    readonly maxBatchRecords = 500,
    readonly maxBatchBytes = 1024 * 1024,
    readonly maxRecordBytes = 64 * 1024,
  ) {}

  async putBatch(records: readonly SinkRecord[]): Promise<number[]> {
    let bytes = 0;
    for (const r of records) bytes += r.data.length;
    this.calls.push({ records: records.length, bytes });
    if (records.length > this.maxBatchRecords || bytes > this.maxBatchBytes)
      throw new Error('batch over the limits');
    this.inFlight += 1;
    this.maxSeenInFlight = Math.max(this.maxSeenInFlight, this.inFlight);
    try {
      if (this.gate) await this.gate;
      if (this.mode === 'hang') await new Promise(() => undefined);
      if (this.mode === 'down') throw new Error('sink down');
      if (this.partialCalls > 0) {
        this.partialCalls -= 1;
        const failed: number[] = [];
        records.forEach((r, i) => (i % 2 ? failed.push(i) : this.stored.push(r)));
        return failed;
      }
      this.stored.push(...records);
      return [];
    } finally {
      this.inFlight -= 1;
    }
  }

  async check(): Promise<void> {
    if (this.mode !== 'ok') throw new Error('sink down');
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  ids(): string[] {
    return this.stored.map(idOf);
  }
}

const idOf = (r: SinkRecord): string => (JSON.parse(r.data.toString()) as { id: string }).id;
const rec = (id: string, pad = 0, accountId = 'acc_buffered01'): SinkRecord => ({
  accountId,
  dt: '2025-03-01',
  data: Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(pad) }) + '\n'),
});
const range = (n: number, prefix = 'e') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
/** Tracks whether a promise has settled, without awaiting it. */
function track(p: Promise<unknown>): { settled: boolean; rejected: unknown } {
  const state = { settled: false, rejected: undefined as unknown };
  p.then(
    () => (state.settled = true),
    (e) => {
      state.settled = true;
      state.rejected = e;
    },
  );
  return state;
}

describe('BufferedSink', () => {
  let dir: string;
  const open: BufferedSink[] = [];
  const make = (sink: Sink, extra: Partial<BufferedSinkOptions> = {}, metrics = new Metrics()) => {
    const b = new BufferedSink({
      sink,
      spool: new DiskSpool({ dir: join(dir, 'spool') }),
      metrics,
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
      drain: { initialDelayMs: 20, maxDelayMs: 60, closeBudgetMs: 1000 },
      ...extra,
    });
    open.push(b);
    return b;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ts-buffered-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts batches at the sink record and byte limits and delivers each record once', async () => {
    const sink = new MemorySink(7, 300);
    const b = make(sink);
    const names = range(500);
    await Promise.all(names.map((id, i) => b.enqueue(rec(id, (i * 37) % 60))));
    expect(sink.calls.length).toBeGreaterThanOrEqual(Math.ceil(500 / 7));
    for (const c of sink.calls) {
      expect(c.records).toBeLessThanOrEqual(7);
      expect(c.bytes).toBeLessThanOrEqual(300);
    }
    expect(sink.ids().sort()).toEqual([...names].sort());
    expect(b.spoolDepth).toBe(0);
  });

  it('group-commits: one record goes at once, records arriving during a flush form the next batch', async () => {
    const sink = new MemorySink();
    const b = make(sink, { maxInFlight: 1 });
    const gate = deferred();
    sink.gate = gate.promise;
    const first = b.enqueue(rec('first'));
    await ticks();
    expect(sink.calls.map((c) => c.records)).toEqual([1]);
    const rest = range(50).map((id) => b.enqueue(rec(id)));
    await ticks();
    expect(sink.calls).toHaveLength(1);
    expect(b.pendingRecords).toBe(50);
    sink.gate = undefined;
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(sink.calls.map((c) => c.records)).toEqual([1, 50]);
  });

  it('writes a record enqueued outside the poll phase at once, not when the next I/O or timer wakes the loop', () => {
    // In a process of its own: jest's own I/O would wake the loop and hide the wait. With nothing else to
    // do, node's poll phase blocks until the far timer unless a referenced immediate is pending.
    const script = `
      const { BufferedSink } = require(${JSON.stringify(require.resolve('../../../services/ingest/src/sinks/buffered-sink'))});
      const { DiskSpool } = require(${JSON.stringify(require.resolve('../../../services/ingest/src/sinks/spool'))});
      const { Metrics } = require(${JSON.stringify(require.resolve('../../../services/ingest/src/metrics'))});
      const { FileSink } = require(${JSON.stringify(require.resolve('../../../services/ingest/src/sinks/file-sink'))});
      const sink = new FileSink({ rootDir: ${JSON.stringify(join(dir, 'events'))} });
      const b = new BufferedSink({ sink, spool: new DiskSpool({ dir: ${JSON.stringify(join(dir, 'spool'))} }), metrics: new Metrics() });
      const far = setTimeout(() => { console.log('still waiting after 4 s'); process.exit(0); }, 4000);
      (async () => {
        const started = Date.now();
        // Each batch is enqueued once the previous one was written: the file sink answers from microtasks
        // of the check phase, so nothing but the far timer would wake the loop.
        for (let i = 0; i < 20; i++)
          await Promise.all(Array.from({ length: 64 }, () =>
            b.enqueue({ accountId: 'acc_buffered01', dt: '2025-03-01', data: Buffer.from('{}\\n') })));
        console.log(Date.now() - started);
        clearTimeout(far);
        process.exit(0);
      })();
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^\d+$/);
    expect(Number(out.trim())).toBeLessThan(1_000);
  });

  it('keeps at most maxInFlight batches in flight', async () => {
    const sink = new MemorySink(10);
    const b = make(sink, { maxInFlight: 3 });
    const gate = deferred();
    sink.gate = gate.promise;
    const all = range(200).map((id) => b.enqueue(rec(id)));
    await ticks(10);
    expect(sink.inFlight).toBe(3);
    sink.gate = undefined;
    gate.resolve();
    await Promise.all(all);
    expect(sink.maxSeenInFlight).toBe(3);
    expect(sink.ids().sort()).toEqual(range(200).sort());
  });

  it('acknowledges only once the sink has the record', async () => {
    const sink = new MemorySink();
    const b = make(sink);
    const gate = deferred();
    sink.gate = gate.promise;
    const state = track(b.enqueue(rec('a')));
    await ticks(10);
    await new Promise((r) => setTimeout(r, 30));
    expect(sink.calls).toHaveLength(1);
    expect(state.settled).toBe(false);
    gate.resolve();
    await waitFor(() => state.settled);
    expect(state.rejected).toBeUndefined();
    expect(sink.ids()).toEqual(['a']);
  });

  it('retries only the records a partial failure returned', async () => {
    const sink = new MemorySink();
    const b = make(sink);
    sink.partialCalls = 1;
    await Promise.all(range(10).map((id) => b.enqueue(rec(id))));
    expect(sink.calls.map((c) => c.records)).toEqual([10, 5]);
    expect(sink.ids().sort()).toEqual(range(10).sort());
    expect(b.spoolDepth).toBe(0);
  });

  it('retries whole-call failures with backoff before spooling', async () => {
    const sink = new MemorySink();
    const metrics = new Metrics();
    const b = make(sink, {}, metrics);
    let failures = 2;
    const put = sink.putBatch.bind(sink);
    sink.putBatch = async (records) => {
      if (failures-- > 0) {
        sink.calls.push({ records: records.length, bytes: 0 });
        throw new Error('transient');
      }
      return put(records);
    };
    await b.enqueue(rec('x'));
    expect(sink.calls).toHaveLength(3);
    expect(sink.ids()).toEqual(['x']);
    expect(b.spoolDepth).toBe(0);
    expect(metrics.snapshot().sinkWrites).toBe(3);
  });

  it('spools while the sink is down, acknowledges from the spool, then drains exactly once when it recovers', async () => {
    const sink = new MemorySink(50);
    const metrics = new Metrics();
    const b = make(sink, {}, metrics);
    sink.mode = 'down';
    const firstWave = range(300, 'a');
    await Promise.all(firstWave.map((id) => b.enqueue(rec(id))));
    expect(sink.stored).toHaveLength(0);
    expect(b.spoolDepth).toBe(300);
    expect(metrics.spoolDepth).toBe(300);
    expect(b.sinkAvailable).toBe(false);

    // While it is known down, new batches go straight to the spool instead of hammering the sink.
    await waitFor(() => sink.calls.length > 0);
    const callsBefore = sink.calls.length;
    const secondWave = range(100, 'b');
    await Promise.all(secondWave.map((id) => b.enqueue(rec(id))));
    expect(b.spoolDepth).toBe(400);
    expect(sink.calls.length - callsBefore).toBeLessThan(10);

    // Recovery with a partial failure during the drain: the rest is re-spooled, nothing sent twice.
    sink.mode = 'ok';
    sink.partialCalls = 2;
    await waitFor(() => b.spoolDepth === 0);
    expect(metrics.spoolDepth).toBe(0);
    expect(b.sinkAvailable).toBe(true);
    const stored = sink.ids();
    expect(stored).toHaveLength(400);
    expect(new Set(stored).size).toBe(400);
    expect([...stored].sort()).toEqual([...firstWave, ...secondWave].sort());
    for (const c of sink.calls) expect(c.records).toBeLessThanOrEqual(50);

    await b.enqueue(rec('after'));
    expect(sink.ids()).toContain('after');
    expect(metrics.snapshot().sinkWrites).toBeGreaterThan(0);
  });

  it('spools a batch whose sink call never answers', async () => {
    const sink = new MemorySink();
    const b = make(sink, { attemptTimeoutMs: 50, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    sink.mode = 'hang';
    await Promise.all(range(5).map((id) => b.enqueue(rec(id))));
    expect(b.spoolDepth).toBe(5);
  });

  it('rejects with SinkUnavailableError only when neither the sink nor the spool takes the record', async () => {
    const sink = new MemorySink();
    const b = make(sink);
    sink.mode = 'down';
    const spoolDir = join(dir, 'spool');
    await rm(spoolDir, { recursive: true });
    await writeFile(spoolDir, 'not a directory');
    await expect(b.enqueue(rec('lost'))).rejects.toBeInstanceOf(SinkUnavailableError);
    await rm(spoolDir);
  });

  it('rejects when more bytes wait than maxPendingBytes', async () => {
    const sink = new MemorySink();
    const b = make(sink, { maxPendingBytes: 1000 });
    const gate = deferred();
    sink.gate = gate.promise;
    const first = b.enqueue(rec('first'));
    await ticks();
    const waiting = range(20).map((id) => track(b.enqueue(rec(id, 100))));
    await ticks();
    expect(waiting.filter((w) => w.rejected instanceof SinkUnavailableError).length).toBeGreaterThan(0);
    sink.gate = undefined;
    gate.resolve();
    await first;
  });

  it('refuses a record above the sink limit, and a bad partition, synchronously', () => {
    const sink = new MemorySink(500, 1024 * 1024, 100);
    const b = make(sink);
    expect(() => b.enqueue(rec('big', 200))).toThrow(RecordTooLargeError);
    expect(() => b.enqueue(rec('evil', 0, '../x'))).toThrow(InvalidPartitionError);
    expect(() => b.enqueue({ ...rec('day'), dt: '2025-13-01' })).toThrow(InvalidPartitionError);
    expect(sink.calls).toHaveLength(0);
  });

  it('flush() resolves once everything enqueued is in the sink, even with a long linger', async () => {
    const sink = new MemorySink();
    const b = make(sink, { lingerMs: 60_000 });
    const states = range(10).map((id) => track(b.enqueue(rec(id))));
    await ticks();
    expect(sink.calls).toHaveLength(0);
    await b.flush();
    expect(sink.ids().sort()).toEqual(range(10).sort());
    await ticks();
    expect(states.every((s) => s.settled && s.rejected === undefined)).toBe(true);
    await b.flush(); // nothing pending
  });

  it('flush() also counts records that went to the spool', async () => {
    const sink = new MemorySink();
    const b = make(sink, { lingerMs: 60_000 });
    sink.mode = 'down';
    const states = range(10).map((id) => track(b.enqueue(rec(id))));
    await b.flush();
    expect(b.spoolDepth).toBe(10);
    await ticks();
    expect(states.every((s) => s.settled && s.rejected === undefined)).toBe(true);
  });

  it('close() flushes, drains the spool when it can, closes the sink and refuses new records', async () => {
    const sink = new MemorySink();
    const b = make(sink, { drain: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    sink.mode = 'down';
    await Promise.all(range(20, 's').map((id) => b.enqueue(rec(id))));
    expect(b.spoolDepth).toBe(20);
    sink.mode = 'ok';
    const late = range(5, 'p').map((id) => b.enqueue(rec(id)));
    await b.close();
    await Promise.all(late);
    expect(b.spoolDepth).toBe(0);
    expect(sink.ids().sort()).toEqual([...range(20, 's'), ...range(5, 'p')].sort());
    expect(sink.closed).toBe(true);
    await expect(b.enqueue(rec('after'))).rejects.toBeInstanceOf(SinkUnavailableError);
  });

  it('a new BufferedSink drains a spool left by an earlier one (restart recovery)', async () => {
    const down = new MemorySink();
    down.mode = 'down';
    const old = make(down);
    await Promise.all(range(120).map((id) => old.enqueue(rec(id))));
    await old.close();
    expect(down.stored).toHaveLength(0);

    const metrics = new Metrics();
    const healthy = new MemorySink(50);
    const fresh = make(healthy, {}, metrics);
    expect(metrics.spoolDepth).toBe(120);
    await waitFor(() => fresh.spoolDepth === 0);
    expect(metrics.spoolDepth).toBe(0);
    expect(healthy.ids().sort()).toEqual(range(120).sort());
  });
});
