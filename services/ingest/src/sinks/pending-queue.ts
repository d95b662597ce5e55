/**
 * The records waiting for a batch slot of the buffered sink, with the promises that acknowledge them.
 * Kept in three parallel arrays read from `head` on, so that taking a record allocates nothing but its
 * promise: this is the hottest path of the service.
 */
import type { SinkRecord } from './sink';

/** A batch cut off the queue: records and the callbacks that settle their `enqueue` promises. */
export interface Batch {
  records: SinkRecord[];
  resolves: Array<() => void>;
  rejects: Array<(err: Error) => void>;
  /** Sequence number (count of earlier records) of the first record, for flushes that wait for it. */
  readonly startSeq: number;
}

/** The waiting records, first in first out. */
export class PendingQueue {
  private records: SinkRecord[] = [];
  private resolves: Array<() => void> = [];
  private rejects: Array<(err: Error) => void> = [];
  private head = 0;
  private queuedBytes = 0;
  private pushed = 0;

  /** Records waiting. */
  get length(): number {
    return this.records.length - this.head;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Records ever queued: the sequence number the next one gets. */
  get total(): number {
    return this.pushed;
  }

  /** Queues a record with the callbacks of its promise. */
  push(record: SinkRecord, resolve: () => void, reject: (err: Error) => void): void {
    this.records.push(record);
    this.resolves.push(resolve);
    this.rejects.push(reject);
    this.queuedBytes += record.data.length;
    this.pushed += 1;
  }

  /** Takes the next batch within the limits (always at least one record; the queue must not be empty). */
  cut(maxRecords: number, maxBytes: number): Batch {
    const startSeq = this.pushed - this.length;
    const available = this.length;
    if (this.head === 0 && available <= maxRecords && this.queuedBytes <= maxBytes) {
      // The common case: everything waiting is one batch; hand the arrays over instead of copying.
      const batch: Batch = {
        records: this.records,
        resolves: this.resolves,
        rejects: this.rejects,
        startSeq,
      };
      this.records = [];
      this.resolves = [];
      this.rejects = [];
      this.queuedBytes = 0;
      return batch;
    }
    let n = 0;
    let bytes = 0;
    while (n < available && n < maxRecords) {
      const size = this.records[this.head + n]!.data.length;
      if (n > 0 && bytes + size > maxBytes) break;
      bytes += size;
      n += 1;
    }
    const end = this.head + n;
    const batch: Batch = {
      records: this.records.slice(this.head, end),
      resolves: this.resolves.slice(this.head, end),
      rejects: this.rejects.slice(this.head, end),
      startSeq,
    };
    this.head = end;
    this.queuedBytes -= bytes;
    if (this.head === this.records.length) {
      this.records = [];
      this.resolves = [];
      this.rejects = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.records.length) {
      // Drop the consumed prefix now and then, so the arrays stay proportional to what is waiting.
      this.records = this.records.slice(this.head);
      this.resolves = this.resolves.slice(this.head);
      this.rejects = this.rejects.slice(this.head);
      this.head = 0;
    }
    return batch;
  }
}
