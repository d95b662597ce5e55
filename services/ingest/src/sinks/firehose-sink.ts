/**
 * The AWS sink: Kinesis Data Firehose `PutRecordBatch` into the region's delivery streams, which deliver
 * to the event store bucket. A region has N streams (each with its own quota of active partitions); an
 * account's events always go to stream `eventStreamIndex(accountId, N)`, which the purge can derive too.
 *
 * Events are aggregated ({@link aggregateRecords}): events of one account and day share a Firehose
 * record of up to 5 KiB, and the stream's record de-aggregation (delimiter `\n`) splits them back before
 * dynamic partitioning derives `account=/dt=` from each event's JSON, so only `data` goes out.
 */
import {
  DescribeDeliveryStreamCommand,
  PutRecordBatchCommand,
  type FirehoseClient,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { eventStreamIndex, LIMITS } from '../../../../platform';
import type { Metrics } from '../metrics';
import {
  aggregateRecords,
  billedIncrements,
  callBoundaries,
  type AggregatedRecord,
} from './firehose-aggregation';
import type { Sink, SinkRecord } from './sink';

/**
 * Most events in one {@link FirehoseSink.putBatch}. Aggregation never adds bytes and never makes more
 * records than events, so a batch within {@link LIMITS.firehoseMaxBytes} puts at most 4 MiB into any one
 * stream (a call's byte limit always holds) and at most this many records into it: 10 calls of 500 in the
 * worst case, where every event is a different account and all hash to one stream. Larger batches than
 * Firehose's 500 records per call are what let events of the same account meet in one record.
 */
export const FIREHOSE_SINK_MAX_BATCH_EVENTS = 10 * LIMITS.firehoseMaxRecords;

/** Properties of {@link FirehoseSink}. */
export interface FirehoseSinkProps {
  /**
   * The client. Owned by the caller, which also picks its retry policy; {@link BufferedSink} already
   * retries, so `maxAttempts: 1` keeps an outage from being retried twice over.
   */
  readonly client: FirehoseClient;
  /**
   * The region's delivery streams in stream-index order (`TS_FIREHOSE_STREAMS`, i.e.
   * `names.eventStream(stage, location, i)` for i = 0..N-1); 1 to {@link LIMITS.maxEventStreams} names.
   */
  readonly streamNames: readonly string[];
  /**
   * Where accepted Firehose records, events and billed 5 KiB increments are counted.
   * @default no counting
   */
  readonly metrics?: Metrics;
}

/** One `PutRecordBatch`: its aggregated records and the stream they go to. */
interface Call {
  readonly stream: string;
  readonly records: readonly AggregatedRecord[];
}

/** A {@link Sink} that spreads accounts over a region's Firehose delivery streams. */
export class FirehoseSink implements Sink {
  /** @inheritdoc */
  readonly name = 'firehose';
  /** @inheritdoc */
  readonly maxBatchRecords = FIREHOSE_SINK_MAX_BATCH_EVENTS;
  /** @inheritdoc */
  readonly maxBatchBytes = LIMITS.firehoseMaxBytes;
  /** @inheritdoc */
  readonly maxRecordBytes = LIMITS.firehoseMaxRecordBytes;
  /** The delivery streams, in stream-index order. */
  readonly streamNames: readonly string[];
  private readonly client: FirehoseClient;
  private readonly metrics: Metrics | undefined;

  constructor(props: FirehoseSinkProps) {
    const names = props.streamNames;
    if (!Array.isArray(names) || names.length < 1 || names.length > LIMITS.maxEventStreams)
      throw new RangeError(
        `FirehoseSink: streamNames must hold 1 to ${LIMITS.maxEventStreams} delivery stream names, got ${
          Array.isArray(names) ? names.length : typeof names
        }`,
      );
    names.forEach((name, i) => {
      if (typeof name !== 'string' || name.trim() === '')
        throw new TypeError(`FirehoseSink: streamNames[${i}] is empty`);
      if (names.indexOf(name) !== i)
        throw new TypeError(
          `FirehoseSink: streamNames[${i}] repeats streamNames[${names.indexOf(name)}] (${name}); each stream index needs its own stream`,
        );
    });
    this.streamNames = [...names];
    this.client = props.client;
    this.metrics = props.metrics;
  }

  /** The stream an account's events go to: the same `eventStreamIndex` the purge uses. */
  streamOf(accountId: string): string {
    return this.streamNames[eventStreamIndex(accountId, this.streamNames.length)]!;
  }

  /**
   * Sends the batch: grouped by stream, aggregated per account and day, one or more `PutRecordBatch` per
   * stream, all at once. Resolves with the indexes of every event whose Firehose record came back with an
   * `ErrorCode` or whose call failed as a whole, as long as at least one call succeeded (its events are
   * in the stream, so failing the whole batch would only duplicate them); rejects when every call failed.
   * @throws RangeError when the batch breaks the sink's limits: {@link BufferedSink} cuts batches to fit,
   * so this is a bug in the caller
   */
  async putBatch(records: readonly SinkRecord[]): Promise<number[]> {
    if (records.length === 0) return [];
    this.assertWithinLimits(records);
    const calls = this.plan(records);
    const settled = await Promise.allSettled(
      calls.map((call) =>
        this.client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: call.stream,
            Records: call.records.map((r) => ({ Data: r.data })),
          }),
        ),
      ),
    );
    const failed: number[] = [];
    const errors: { stream: string; reason: unknown }[] = [];
    let acceptedRecords = 0;
    let acceptedEvents = 0;
    const acceptedSizes: number[] = [];
    settled.forEach((result, c) => {
      const call = calls[c]!;
      if (result.status === 'rejected') {
        errors.push({ stream: call.stream, reason: result.reason });
        for (const r of call.records) failed.push(...r.members);
        return;
      }
      const bad = failedRecords(result.value, call.records.length);
      call.records.forEach((r, k) => {
        if (bad.has(k)) failed.push(...r.members);
        else {
          acceptedRecords += 1;
          acceptedEvents += r.members.length;
          acceptedSizes.push(r.data.length);
        }
      });
    });
    if (errors.length === calls.length) {
      const streams = [...new Set(errors.map((e) => e.stream))].join(', ');
      throw new Error(`FirehoseSink: every PutRecordBatch of the batch failed (streams ${streams})`, {
        cause: errors[0]!.reason,
      });
    }
    this.metrics?.firehoseAccepted(acceptedRecords, acceptedEvents, billedIncrements(acceptedSizes));
    return failed.sort((a, b) => a - b);
  }

  /** Resolves when every delivery stream exists and is `ACTIVE`; rejects naming each one that is not. */
  async check(): Promise<void> {
    const results = await Promise.allSettled(
      this.streamNames.map(async (stream) => {
        const out = await this.client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }));
        const status = out.DeliveryStreamDescription?.DeliveryStreamStatus;
        if (status !== 'ACTIVE')
          throw new Error(`delivery stream ${stream} is ${status ?? 'unknown'}, not ACTIVE`);
      }),
    );
    const problems: string[] = [];
    let cause: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      cause ??= r.reason;
      const why = r.reason instanceof Error ? r.reason.message : String(r.reason);
      problems.push(`${this.streamNames[i]}: ${why}`);
    });
    if (problems.length > 0)
      throw new Error(
        `${problems.length} of ${this.streamNames.length} delivery streams not ready (${problems.join('; ')})`,
        { cause },
      );
  }

  /** Nothing to release: the client belongs to the caller, who may share it. */
  async close(): Promise<void> {}

  private assertWithinLimits(records: readonly SinkRecord[]): void {
    if (records.length > this.maxBatchRecords)
      throw new RangeError(
        `FirehoseSink: ${records.length} records in one batch (limit ${this.maxBatchRecords})`,
      );
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const size = records[i]!.data.length;
      if (size > this.maxRecordBytes)
        throw new RangeError(`FirehoseSink: record ${i} has ${size} bytes (limit ${this.maxRecordBytes})`);
      bytes += size;
    }
    if (bytes > this.maxBatchBytes)
      throw new RangeError(`FirehoseSink: batch of ${bytes} bytes (limit ${this.maxBatchBytes})`);
  }

  /** The calls for a batch: per stream, its aggregated records cut at Firehose's per-call limits. */
  private plan(records: readonly SinkRecord[]): Call[] {
    const byStream = new Map<number, number[]>();
    const n = this.streamNames.length;
    for (let i = 0; i < records.length; i++) {
      const s = eventStreamIndex(records[i]!.accountId, n);
      const list = byStream.get(s);
      if (list) list.push(i);
      else byStream.set(s, [i]);
    }
    const calls: Call[] = [];
    for (const [s, indexes] of byStream) {
      const aggregated = aggregateRecords(records, indexes);
      let start = 0;
      for (const end of callBoundaries(aggregated.map((r) => r.data.length))) {
        calls.push({ stream: this.streamNames[s]!, records: aggregated.slice(start, end) });
        start = end;
      }
    }
    return calls;
  }
}

/**
 * The positions of a call's records that Firehose did not take. A response list shorter than the call
 * leaves the fate of the rest unknown: they count as failed and are resent.
 */
function failedRecords(out: PutRecordBatchCommandOutput, count: number): Set<number> {
  const bad = new Set<number>();
  if (!out.FailedPutCount && (out.RequestResponses?.length ?? count) >= count) return bad;
  const responses = out.RequestResponses ?? [];
  for (let k = 0; k < count; k++) {
    const r = responses[k];
    if (!r || r.ErrorCode) bad.add(k);
  }
  return bad;
}
