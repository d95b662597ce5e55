import { LIMITS } from '../../../platform';
import {
  aggregateRecords,
  billedIncrements,
  callBoundaries,
  MAX_EVENTS_PER_AGGREGATE,
} from '../../../services/ingest/src/sinks/firehose-aggregation';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';

const KIB5 = LIMITS.firehoseBillingIncrementBytes;

/** A newline-terminated JSON event of exactly `bytes` bytes (at least 40). */
function event(accountId: string, seq: number, bytes = 300, dt = '2025-03-01'): SinkRecord {
  const head = JSON.stringify({ accountId, dt, seq, pad: '' });
  const pad = 'x'.repeat(bytes - head.length - 1);
  const data = Buffer.from(JSON.stringify({ accountId, dt, seq, pad }) + '\n');
  expect(data.length).toBe(bytes);
  return { accountId, dt, data };
}

/** The events of each aggregated record, parsed back by splitting on `\n` as Firehose de-aggregation does. */
function split(data: Buffer): { accountId: string; dt: string; seq: number }[] {
  const text = data.toString();
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as { accountId: string; dt: string; seq: number });
}

describe('aggregateRecords', () => {
  it('packs events of one account and day up to exactly 5 KiB, never beyond', () => {
    // 1024-byte events: five fill 5,120 bytes exactly, the sixth opens a new record.
    const records = Array.from({ length: 11 }, (_, i) => event('acc_a', i, 1024));
    const out = aggregateRecords(records);
    expect(out.map((r) => r.data.length)).toEqual([KIB5, KIB5, 1024]);
    expect(out.map((r) => r.members)).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10]]);
    expect(billedIncrements(out.map((r) => r.data.length))).toBe(3);
    // One byte more per event and only four fit.
    const bigger = aggregateRecords(Array.from({ length: 5 }, (_, i) => event('acc_a', i, 1025)));
    expect(bigger.map((r) => r.members.length)).toEqual([4, 1]);
    expect(Math.max(...bigger.map((r) => r.data.length))).toBeLessThanOrEqual(KIB5);
  });

  it('concatenates the events unchanged, so splitting on newlines gives each whole event back in order', () => {
    const records = Array.from({ length: 40 }, (_, i) => event('acc_a', i, 200 + (i % 7) * 37));
    const out = aggregateRecords(records);
    expect(Buffer.concat(out.map((r) => r.data))).toEqual(Buffer.concat(records.map((r) => r.data)));
    expect(out.flatMap((r) => split(r.data).map((e) => e.seq))).toEqual(records.map((_, i) => i));
    for (const r of out) expect(r.data.length).toBeLessThanOrEqual(KIB5);
  });

  it('never mixes accounts or days, and keeps the order of each account and day', () => {
    const records: SinkRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const account = `acc_${(i * 7919) % 97}`;
      records.push(event(account, i, 150 + (i % 13) * 60, i % 5 === 0 ? '2025-03-02' : '2025-03-01'));
    }
    const out = aggregateRecords(records);
    const seen = new Set<number>();
    const lastSeq = new Map<string, number>();
    for (const r of out) {
      const events = split(r.data);
      expect(events.map((e) => e.seq)).toEqual(r.members);
      expect(new Set(events.map((e) => `${e.accountId}/${e.dt}`)).size).toBe(1);
      for (const e of events) {
        const key = `${e.accountId}/${e.dt}`;
        expect(e.seq).toBeGreaterThan(lastSeq.get(key) ?? -1);
        lastSeq.set(key, e.seq);
        seen.add(e.seq);
      }
      expect(r.data.length).toBeLessThanOrEqual(KIB5);
    }
    expect(seen.size).toBe(records.length);
    // 97 accounts × 2 days of ~500-byte events: far fewer records than events.
    expect(out.length).toBeLessThan(records.length / 5);
  });

  it('sends an event above 5 KiB alone, and keeps later events of its account after it', () => {
    const records = [
      event('acc_a', 0, 300),
      event('acc_b', 1, 300),
      event('acc_a', 2, 6 * 1024),
      event('acc_a', 3, 300),
      event('acc_b', 4, 300),
      event('acc_a', 5, KIB5),
    ];
    const out = aggregateRecords(records);
    expect(out.map((r) => r.members)).toEqual([[0], [1, 4], [2], [3], [5]]);
    expect(out[2]!.data.length).toBe(6 * 1024);
    expect(billedIncrements(out.map((r) => r.data.length))).toBe(1 + 1 + 2 + 1 + 1);
  });

  it('packs only the given indexes, and reports members as indexes of the whole batch', () => {
    const records = Array.from({ length: 6 }, (_, i) => event(i % 2 ? 'acc_b' : 'acc_a', i));
    expect(aggregateRecords(records, [1, 3, 5]).map((r) => r.members)).toEqual([[1, 3, 5]]);
    expect(() => aggregateRecords(records, [6])).toThrow(RangeError);
  });

  it('caps a record at the de-aggregation limit of 500 events', () => {
    const tiny = Array.from({ length: 1200 }, (_, i) => ({
      accountId: 'acc_a',
      dt: '2025-03-01',
      data: Buffer.from(`${i % 10}\n`),
    }));
    expect(aggregateRecords(tiny, undefined, { maxBytes: 1_000_000 }).map((r) => r.members.length)).toEqual([
      MAX_EVENTS_PER_AGGREGATE,
      MAX_EVENTS_PER_AGGREGATE,
      200,
    ]);
    expect(() => aggregateRecords(tiny, undefined, { maxBytes: 0 })).toThrow(/maxBytes/);
  });
});

describe('callBoundaries', () => {
  it('cuts at 500 records and at 4 MiB per call', () => {
    expect(callBoundaries(Array.from({ length: 1201 }, () => 100))).toEqual([500, 1000, 1201]);
    const mib = 1024 * 1024;
    expect(callBoundaries([mib, mib, mib, mib, 1, mib])).toEqual([4, 6]);
    expect(callBoundaries([])).toEqual([]);
    expect(() => callBoundaries([LIMITS.firehoseMaxBytes + 1])).toThrow(RangeError);
  });
});
