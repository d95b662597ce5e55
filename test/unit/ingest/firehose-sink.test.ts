/**
 * The Firehose sink with a stand-in client (an object with `send`, no server and no mocking library):
 * routing of accounts to streams, packing, per-call limits, and how failures map back to events. The same
 * paths against the real SDK client and HTTP protocol are in test/integration/ingest/firehose-sink.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeDeliveryStreamCommand,
  PutRecordBatchCommand,
  type FirehoseClient,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { eventStreamIndex, LIMITS } from '../../../platform';
import { Metrics } from '../../../services/ingest/src/metrics';
import { BufferedSink } from '../../../services/ingest/src/sinks/buffered-sink';
import {
  FIREHOSE_SINK_MAX_BATCH_EVENTS,
  FirehoseSink,
} from '../../../services/ingest/src/sinks/firehose-sink';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { DiskSpool } from '../../../services/ingest/src/sinks/spool';

interface Sent {
  readonly stream: string;
  readonly records: Buffer[];
}

/**
 * A stand-in Firehose client. `answer` decides each PutRecordBatch: a list of failed positions, or
 * `'reject'` for a failed call.
 */
function standIn(answer: (call: Sent) => number[] | 'reject' = () => []) {
  const sent: Sent[] = [];
  const client = {
    async send(command: unknown): Promise<unknown> {
      if (command instanceof DescribeDeliveryStreamCommand) {
        const name = command.input.DeliveryStreamName!;
        if (name.includes('missing')) throw new Error(`Firehose ${name} not found`);
        return {
          DeliveryStreamDescription: {
            DeliveryStreamStatus: name.includes('creating') ? 'CREATING' : 'ACTIVE',
          },
        };
      }
      if (!(command instanceof PutRecordBatchCommand)) throw new Error('unexpected command');
      const call = {
        stream: command.input.DeliveryStreamName!,
        records: command.input.Records!.map((r) => Buffer.from(r.Data!)),
      };
      sent.push(call);
      await new Promise((r) => setImmediate(r));
      const failed = answer(call);
      if (failed === 'reject') throw new Error(`throttled on ${call.stream}`);
      const out: Partial<PutRecordBatchCommandOutput> = {
        FailedPutCount: failed.length,
        RequestResponses: call.records.map((_, i) =>
          failed.includes(i) ? { ErrorCode: 'ServiceUnavailableException' } : { RecordId: `r${i}` },
        ),
      };
      return out;
    },
  };
  return { client: client as unknown as FirehoseClient, sent };
}

const STREAMS = ['ts-dev-europe-events', 'ts-dev-europe-events-1', 'ts-dev-europe-events-2'];

function event(accountId: string, seq: number, bytes = 300, dt = '2025-03-01'): SinkRecord {
  const head = JSON.stringify({ accountId, dt, seq, pad: '' });
  const data = Buffer.from(
    JSON.stringify({ accountId, dt, seq, pad: 'x'.repeat(bytes - head.length - 1) }) + '\n',
  );
  return { accountId, dt, data };
}

const lines = (calls: readonly Sent[]) =>
  calls.flatMap((c) =>
    c.records.flatMap((r) =>
      r
        .toString()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => ({ stream: c.stream, ...(JSON.parse(l) as { accountId: string; seq: number }) })),
    ),
  );

describe('FirehoseSink', () => {
  it('validates the stream names with a precise message', () => {
    const { client } = standIn();
    expect(() => new FirehoseSink({ client, streamNames: [] })).toThrow(
      `FirehoseSink: streamNames must hold 1 to ${LIMITS.maxEventStreams} delivery stream names, got 0`,
    );
    const tooMany = Array.from({ length: LIMITS.maxEventStreams + 1 }, (_, i) => `s-${i}`);
    expect(() => new FirehoseSink({ client, streamNames: tooMany })).toThrow(/got 51/);
    expect(() => new FirehoseSink({ client, streamNames: ['a', ' '] })).toThrow('streamNames[1] is empty');
    expect(() => new FirehoseSink({ client, streamNames: ['a', 'b', 'a'] })).toThrow(
      /streamNames\[2\] repeats streamNames\[0\] \(a\)/,
    );
    const many = Array.from({ length: LIMITS.maxEventStreams }, (_, i) => `s-${i}`);
    expect(new FirehoseSink({ client, streamNames: many }).streamNames).toHaveLength(LIMITS.maxEventStreams);
  });

  it('sends each account to stream eventStreamIndex(account, N), one call per stream, aggregated', async () => {
    const { client, sent } = standIn();
    const metrics = new Metrics();
    const sink = new FirehoseSink({ client, streamNames: STREAMS, metrics });
    const records = Array.from({ length: 2000 }, (_, i) => event(`acc_${i % 40}`, i));
    expect(await sink.putBatch(records)).toEqual([]);
    expect(sent.map((c) => c.stream).sort()).toEqual([...STREAMS].sort());
    const got = lines(sent);
    expect(got.map((e) => e.seq).sort((a, b) => a - b)).toEqual(records.map((_, i) => i));
    for (const e of got) expect(e.stream).toBe(STREAMS[eventStreamIndex(e.accountId, STREAMS.length)]);
    for (const e of got) expect(sink.streamOf(e.accountId)).toBe(e.stream);
    // 50 events of 300 bytes per account: 17 fit into 5 KiB, so 3 records per account.
    const records5k = sent.reduce((n, c) => n + c.records.length, 0);
    expect(records5k).toBe(40 * 3);
    expect(metrics.snapshot()).toMatchObject({
      firehoseRecords: 120,
      firehoseEvents: 2000,
      firehoseBilledIncrements: 120,
    });
  });

  it('splits a stream into several calls within 500 records and 4 MiB, all in one putBatch', async () => {
    const { client, sent } = standIn();
    const sink = new FirehoseSink({ client, streamNames: ['only'] });
    // Every event a different account: no aggregation possible, 1,201 records for one stream.
    const records = Array.from({ length: 1201 }, (_, i) => event(`acc_${i}`, i));
    expect(await sink.putBatch(records)).toEqual([]);
    expect(sent.map((c) => c.records.length)).toEqual([500, 500, 201]);
    expect(lines(sent)).toHaveLength(1201);
    // The sink's own limits: what BufferedSink cuts batches by.
    expect(sink.maxBatchRecords).toBe(FIREHOSE_SINK_MAX_BATCH_EVENTS);
    expect(sink.maxBatchBytes).toBe(LIMITS.firehoseMaxBytes);
    await expect(
      sink.putBatch(Array.from({ length: FIREHOSE_SINK_MAX_BATCH_EVENTS + 1 }, (_, i) => event('acc_a', i))),
    ).rejects.toBeInstanceOf(RangeError);
    const heavy = Array.from({ length: 5 }, (_, i) => event('acc_a', i, LIMITS.firehoseMaxRecordBytes));
    await expect(sink.putBatch(heavy)).rejects.toThrow(/batch of .* bytes/);
    expect(sent).toHaveLength(3);
  });

  it('maps a failed aggregated record back to every event inside it', async () => {
    // Fail the second record of every call.
    const { client, sent } = standIn(() => [1]);
    const sink = new FirehoseSink({ client, streamNames: ['only'] });
    const records = [
      event('acc_a', 0, 3000),
      event('acc_b', 1, 3000),
      event('acc_a', 2, 3000), // does not fit with 0: opens acc_a's second record
      event('acc_b', 3, 1000), // joins 1
      event('acc_b', 4, 1000), // joins 1
    ];
    // Records in order of opening: [0], [1,3,4], [2]; the second one fails.
    expect(await sink.putBatch(records)).toEqual([1, 3, 4]);
    expect(sent[0]!.records).toHaveLength(3);
  });

  it('resolves with the failed stream’s events when another stream’s call succeeded, rejects when all failed', async () => {
    const failing = STREAMS[1]!;
    const { client } = standIn((call) => (call.stream === failing ? 'reject' : []));
    const metrics = new Metrics();
    const sink = new FirehoseSink({ client, streamNames: STREAMS, metrics });
    const records = Array.from({ length: 300 }, (_, i) => event(`acc_${i % 30}`, i));
    const expected = records.flatMap((r, i) => (sink.streamOf(r.accountId) === failing ? [i] : []));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(records.length);
    expect(await sink.putBatch(records)).toEqual(expected);
    expect(metrics.firehoseEvents).toBe(records.length - expected.length);

    const down = new FirehoseSink({ client: standIn(() => 'reject').client, streamNames: STREAMS });
    const err = (await down.putBatch(records).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/every PutRecordBatch of the batch failed/);
    expect((err.cause as Error).message).toMatch(/^throttled on /);
  });

  it('counts a response list shorter than the call as failed for the rest', async () => {
    const client = {
      send: async () => ({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'r0' }] }),
    } as unknown as FirehoseClient;
    const sink = new FirehoseSink({ client, streamNames: ['only'] });
    expect(await sink.putBatch([event('acc_a', 0), event('acc_b', 1), event('acc_c', 2)])).toEqual([1, 2]);
  });

  it('check() checks every stream and names each one not ready', async () => {
    const { client } = standIn();
    await expect(new FirehoseSink({ client, streamNames: STREAMS }).check()).resolves.toBeUndefined();
    const sink = new FirehoseSink({ client, streamNames: ['ok', 'x-missing', 'x-creating'] });
    await expect(sink.check()).rejects.toThrow(
      /2 of 3 delivery streams not ready \(x-missing: Firehose x-missing not found; x-creating: delivery stream x-creating is CREATING, not ACTIVE\)/,
    );
  });

  describe('figures: aggregation through BufferedSink batches', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ts-fh-figures-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /**
     * 100,000 events of 450 bytes (a stored hit with encrypted fields), accounts drawn uniformly with a
     * fixed seed, all enqueued at once: the saturated case, where BufferedSink cuts full batches.
     */
    async function run(accounts: number) {
      const { client, sent } = standIn();
      const metrics = new Metrics();
      const sink = new FirehoseSink({ client, streamNames: STREAMS, metrics });
      const buffered = new BufferedSink({
        sink,
        spool: new DiskSpool({ dir: join(dir, `s${accounts}`) }),
        metrics,
      });
      let seed = 42;
      const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const total = 100_000;
      const done: Promise<void>[] = [];
      for (let i = 0; i < total; i++)
        done.push(buffered.enqueue(event(`acc_${Math.floor(random() * accounts)}`, i, 450)));
      await Promise.all(done);
      await buffered.close();
      const s = metrics.snapshot();
      expect(s.firehoseEvents).toBe(total);
      expect(lines(sent)).toHaveLength(total);
      return {
        accounts,
        batches: s.sinkWrites!,
        calls: sent.length,
        records: s.firehoseRecords!,
        factor: total / s.firehoseRecords!,
        billedPer1000: (s.firehoseBilledIncrements! / total) * 1000,
      };
    }

    it('prints events per Firehose record and billed 5 KiB increments per 1,000 events for 10 and 5,000 accounts', async () => {
      const few = await run(10);
      const many = await run(5000);
      // 450-byte events: 11 fit in 5 KiB. With 10 accounts a 5,000-event batch holds ~500 per account.
      expect(few.factor).toBeGreaterThan(10);
      expect(few.factor).toBeLessThanOrEqual(11);
      // With 5,000 accounts a batch holds ~1 event per account: aggregation still pays, less.
      expect(many.factor).toBeGreaterThan(1.2);
      expect(many.factor).toBeLessThan(few.factor);
      for (const f of [few, many])
        console.log(
          `firehose aggregation: ${f.accounts} accounts, 100,000 events of 450 B in ${f.batches} batches → ${f.records} ` +
            `Firehose records in ${f.calls} PutRecordBatch calls; ${f.factor.toFixed(2)} events per record; ` +
            `${f.billedPer1000.toFixed(1)} billed 5 KiB increments per 1,000 events (1,000 without aggregation)`,
        );
    });

    it('prints the same figures when each batch is one request, as on Lambda (one request per instance at a time)', async () => {
      const { client } = standIn();
      const metrics = new Metrics();
      const sink = new FirehoseSink({ client, streamNames: STREAMS, metrics });
      // A pixel hit is a batch of one event: nothing to pack.
      for (let i = 0; i < 1000; i++) await sink.putBatch([event(`acc_${i % 5000}`, i, 450)]);
      const pixel = metrics.snapshot();
      expect(pixel.firehoseRecords).toBe(1000);
      // A beacon carries up to 50 events of one account: 22,500 bytes, five records of up to 11 events.
      const beacon = new Metrics();
      const beaconSink = new FirehoseSink({ client, streamNames: STREAMS, metrics: beacon });
      for (let r = 0; r < 20; r++)
        await beaconSink.putBatch(Array.from({ length: 50 }, (_, i) => event(`acc_${r}`, r * 50 + i, 450)));
      const b = beacon.snapshot();
      expect(b.firehoseRecords).toBe(20 * 5);
      for (const [name, m] of [
        ['pixel (1 event per request)', pixel],
        ['beacon (50 events of one account per request)', b],
      ] as const)
        console.log(
          `firehose aggregation, one request per batch, ${name}: ` +
            `${(m.firehoseEvents! / m.firehoseRecords!).toFixed(2)} events per record; ` +
            `${((m.firehoseBilledIncrements! / m.firehoseEvents!) * 1000).toFixed(1)} billed 5 KiB increments per 1,000 events`,
        );
    });
  });
});
