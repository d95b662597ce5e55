/**
 * Why the buffered sink refuses a record, and the partition values it accepts: the HTTP layer turns the
 * first into 413 and the last into 503; the others never reach a client.
 */

/** Thrown synchronously by {@link BufferedSink.enqueue} for a record above the sink's record limit. */
export class RecordTooLargeError extends RangeError {
  constructor(
    /** Size of the refused record. */
    public readonly bytes: number,
    /** The limit it broke. */
    public readonly limit: number,
  ) {
    super(`record of ${bytes} bytes exceeds the sink limit of ${limit} bytes`);
    this.name = 'RecordTooLargeError';
  }
}

/**
 * Thrown synchronously by {@link BufferedSink.enqueue} for a record whose partition could not become a
 * storage path. Refused up front because such a record would be retried, spooled and drained forever.
 */
export class InvalidPartitionError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPartitionError';
  }
}

/** Rejection of {@link BufferedSink.enqueue} when neither the sink nor the spool took the record: answer 503. */
export class SinkUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SinkUnavailableError';
  }
}

/** Partition values every sink can turn into a path: `account=<accountId>/dt=<yyyy-mm-dd>`. */
export const PARTITION_PATTERNS = {
  accountId: /^[A-Za-z0-9_-]{1,128}$/,
  dt: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/,
} as const;
