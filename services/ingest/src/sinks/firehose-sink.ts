/**
 * The AWS sink: Kinesis Data Firehose `PutRecordBatch` into the regional delivery stream, which delivers
 * to the event store bucket. The records' partition is not sent separately: the stream
 * derives `account=/dt=` from each record's JSON (dynamic partitioning), so only `data` goes out.
 */
import {
  DescribeDeliveryStreamCommand,
  PutRecordBatchCommand,
  type FirehoseClient,
} from '@aws-sdk/client-firehose';
import { LIMITS } from '../../../../platform';
import type { Sink, SinkRecord } from './sink';

/** Properties of {@link FirehoseSink}. */
export interface FirehoseSinkProps {
  /**
   * The client. Owned by the caller, which also picks its retry policy; {@link BufferedSink} already
   * retries, so `maxAttempts: 1` keeps an outage from being retried twice over.
   */
  readonly client: FirehoseClient;
  /** Delivery stream name, e.g. `names.eventStream(stage, location)`. */
  readonly streamName: string;
}

/** A {@link Sink} that writes to a Firehose delivery stream. */
export class FirehoseSink implements Sink {
  /** @inheritdoc */
  readonly name = 'firehose';
  /** @inheritdoc */
  readonly maxBatchRecords = LIMITS.firehoseMaxRecords;
  /** @inheritdoc */
  readonly maxBatchBytes = LIMITS.firehoseMaxBytes;
  /** @inheritdoc */
  readonly maxRecordBytes = LIMITS.firehoseMaxRecordBytes;
  private readonly client: FirehoseClient;
  private readonly streamName: string;

  constructor(props: FirehoseSinkProps) {
    if (!props.streamName) throw new Error('FirehoseSink: streamName is required');
    this.client = props.client;
    this.streamName = props.streamName;
  }

  /**
   * Sends one `PutRecordBatch`. Resolves with the indexes of records that came back with an `ErrorCode`
   * (typically throttling); rejects when the call itself fails.
   * @throws RangeError when the batch breaks a Firehose limit: {@link BufferedSink} cuts batches to fit,
   * so this is a bug in the caller, and sending it would only earn a 400 for the whole batch
   */
  async putBatch(records: readonly SinkRecord[]): Promise<number[]> {
    if (records.length === 0) return [];
    if (records.length > this.maxBatchRecords) {
      throw new RangeError(
        `FirehoseSink: ${records.length} records in one batch (limit ${this.maxBatchRecords})`,
      );
    }
    let bytes = 0;
    const entries = new Array<{ Data: Uint8Array }>(records.length);
    for (let i = 0; i < records.length; i++) {
      const data = records[i]!.data;
      if (data.length > this.maxRecordBytes) {
        throw new RangeError(
          `FirehoseSink: record ${i} has ${data.length} bytes (limit ${this.maxRecordBytes})`,
        );
      }
      bytes += data.length;
      entries[i] = { Data: data };
    }
    if (bytes > this.maxBatchBytes) {
      throw new RangeError(`FirehoseSink: batch of ${bytes} bytes (limit ${this.maxBatchBytes})`);
    }
    const out = await this.client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: this.streamName, Records: entries }),
    );
    if (!out.FailedPutCount) return [];
    const responses = out.RequestResponses ?? [];
    const failed: number[] = [];
    for (let i = 0; i < records.length; i++) {
      // A response list shorter than the batch leaves the fate of the rest unknown: resend them.
      const r = responses[i];
      if (!r || r.ErrorCode) failed.push(i);
    }
    return failed;
  }

  /** Resolves when the delivery stream exists and is `ACTIVE`. */
  async check(): Promise<void> {
    const out = await this.client.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: this.streamName }),
    );
    const status = out.DeliveryStreamDescription?.DeliveryStreamStatus;
    if (status !== 'ACTIVE') {
      throw new Error(`delivery stream ${this.streamName} is ${status ?? 'unknown'}, not ACTIVE`);
    }
  }

  /** Nothing to release: the client belongs to the caller, who may share it. */
  async close(): Promise<void> {}
}
