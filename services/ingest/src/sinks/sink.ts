/**
 * The durable stream behind the ingest service. Every implementation (Firehose, Pub/Sub, local segment
 * files) takes already-serialized records; batching, retry and spooling live in {@link BufferedSink}.
 */

/** One serialized event and the partition it belongs to. */
export interface SinkRecord {
  /** The serialized event (one JSON document, newline-terminated). */
  readonly data: Buffer;
  /** Partition: the owning account id. */
  readonly accountId: string;
  /** Partition: the UTC day the event was received, `yyyy-mm-dd`. */
  readonly dt: string;
}

/** A destination that accepts batches of serialized records. */
export interface Sink {
  /** Short name for logs and metrics, e.g. `firehose`. */
  readonly name: string;
  /** Largest batch, in records, that one {@link Sink.putBatch} call may receive. */
  readonly maxBatchRecords: number;
  /** Largest batch, in bytes, that one {@link Sink.putBatch} call may receive. */
  readonly maxBatchBytes: number;
  /** Largest single record, in bytes. */
  readonly maxRecordBytes: number;
  /**
   * Writes a batch. Resolves with the indexes of records that were *not* accepted (a partial failure, to
   * be retried); an empty array means all were accepted. Rejects when nothing is known to be accepted.
   */
  putBatch(records: readonly SinkRecord[]): Promise<number[]>;
  /** Resolves when the sink is reachable (readiness); rejects with the reason otherwise. */
  check(): Promise<void>;
  /** Releases resources. */
  close(): Promise<void>;
}
