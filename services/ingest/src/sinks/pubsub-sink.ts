/**
 * The GCP sink: publishes each record as one message to the regional Pub/Sub topic, whose writer drains it
 * into the event bucket. Unlike Firehose, the delivery path cannot derive the partition from the payload,
 * so every message carries `accountId` and `dt` as attributes and the writer groups by them unparsed.
 *
 * Only types come from `@google-cloud/pubsub` here: the runtime imports the client lazily, as it does the
 * AWS clients, so a bundle that never publishes to Pub/Sub never loads it.
 */
import type { PubSub, PublishOptions, Topic } from '@google-cloud/pubsub';
import { LIMITS } from '../../../../platform';
import type { Sink, SinkRecord } from './sink';

/** Pub/Sub's publish limits, and the record limit every sink shares. */
export const PUBSUB_SINK_LIMITS = {
  /** Messages in one Publish request (Pub/Sub quota: 1,000). */
  maxBatchRecords: 1000,
  /** Bytes of data in one batch: Pub/Sub allows 10 MB per request, attributes and framing included. */
  maxBatchBytes: 9 * 1024 * 1024,
  /** The Firehose record limit, so that an event one cloud accepts the other accepts too. */
  maxRecordBytes: LIMITS.firehoseMaxRecordBytes,
} as const;

/** Message attributes the sink sets on every message, read by the writer to partition. */
export const PUBSUB_ATTRIBUTES = {
  /** The owning account id. */
  accountId: 'accountId',
  /** The UTC day the event was received, `yyyy-mm-dd`. */
  dt: 'dt',
} as const;

/** Properties of {@link PubSubSink}. */
export interface PubSubSinkProps {
  /** The client, owned by the caller (which may share it). */
  readonly client: PubSub;
  /** The topic's short name (not `projects/…/topics/…`), in the client's project. */
  readonly topicName: string;
  /**
   * Longest one publish may retry inside the client before its records count as failed; {@link BufferedSink}
   * retries and spools on its own, so a long client-side retry would only hold the batch back.
   * @default 10_000
   */
  readonly publishTimeoutMs?: number;
}

/** Thrown by {@link PubSubSink.putBatch} when no record of a batch was published. */
export class PubSubPublishError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PubSubPublishError';
  }
}

/** A {@link Sink} that publishes to a Pub/Sub topic. */
export class PubSubSink implements Sink {
  /** @inheritdoc */
  readonly name = 'pubsub';
  /** @inheritdoc */
  readonly maxBatchRecords = PUBSUB_SINK_LIMITS.maxBatchRecords;
  /** @inheritdoc */
  readonly maxBatchBytes = PUBSUB_SINK_LIMITS.maxBatchBytes;
  /** @inheritdoc */
  readonly maxRecordBytes = PUBSUB_SINK_LIMITS.maxRecordBytes;
  /** The topic this sink publishes to. */
  readonly topicName: string;
  private readonly topic: Topic;

  constructor(props: PubSubSinkProps) {
    if (!props.topicName) throw new Error('PubSubSink: topicName is required');
    if (props.topicName.includes('/')) {
      throw new Error(`PubSubSink: topicName must be the short name, not ${props.topicName}`);
    }
    const timeout = props.publishTimeoutMs ?? 10_000;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new RangeError(`PubSubSink: publishTimeoutMs must be a positive number, not ${timeout}`);
    }
    this.topicName = props.topicName;
    const options: PublishOptions = {
      // One putBatch is already one batch: the client should send it as it comes, not wait to fill up.
      batching: {
        maxMessages: PUBSUB_SINK_LIMITS.maxBatchRecords,
        maxBytes: PUBSUB_SINK_LIMITS.maxBatchBytes,
        maxMilliseconds: 1,
      },
      gaxOpts: { timeout },
    };
    this.topic = props.client.topic(props.topicName, options);
  }

  /**
   * Publishes every record as one message. Resolves with the indexes of the records whose publish failed,
   * for {@link BufferedSink} to retry; rejects when none was published (a missing topic, an outage).
   * @throws RangeError when the batch breaks a limit: {@link BufferedSink} cuts batches to fit, so this is
   * a bug in the caller
   */
  async putBatch(records: readonly SinkRecord[]): Promise<number[]> {
    if (records.length === 0) return [];
    if (records.length > this.maxBatchRecords) {
      throw new RangeError(
        `PubSubSink: ${records.length} records in one batch (limit ${this.maxBatchRecords})`,
      );
    }
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const size = records[i]!.data.length;
      if (size > this.maxRecordBytes) {
        throw new RangeError(`PubSubSink: record ${i} has ${size} bytes (limit ${this.maxRecordBytes})`);
      }
      bytes += size;
    }
    if (bytes > this.maxBatchBytes) {
      throw new RangeError(`PubSubSink: batch of ${bytes} bytes (limit ${this.maxBatchBytes})`);
    }
    const results = await Promise.allSettled(
      records.map((r) =>
        this.topic.publishMessage({
          data: r.data,
          attributes: { [PUBSUB_ATTRIBUTES.accountId]: r.accountId, [PUBSUB_ATTRIBUTES.dt]: r.dt },
        }),
      ),
    );
    const failed: number[] = [];
    let firstError: unknown;
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        failed.push(i);
        firstError ??= r.reason;
      }
    });
    if (failed.length === records.length) {
      throw new PubSubPublishError(
        `PubSubSink: none of ${records.length} records was published to ${this.topicName}: ` +
          `${(firstError as Error | undefined)?.message ?? String(firstError)}`,
        { cause: firstError },
      );
    }
    return failed;
  }

  /** Resolves when the topic exists. */
  async check(): Promise<void> {
    const [exists] = await this.topic.exists();
    if (!exists) throw new Error(`Pub/Sub topic ${this.topicName} does not exist`);
  }

  /** Sends whatever the client still queues; the client itself belongs to the caller. */
  async close(): Promise<void> {
    await this.topic.flush();
  }
}
