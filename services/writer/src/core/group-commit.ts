/**
 * The writer's core: a group commit of Pub/Sub pushes into partitioned objects.
 *
 * Why this shape. The ingest PubSubSink publishes one message per event, with the partition (`accountId`,
 * `dt`) in its attributes. A Cloud Storage subscription cannot partition: it writes every message of a
 * subscription under one prefix, so the purge could not find an account's events by `account=<id>/`. A push
 * subscription delivers each message as one HTTP request, and Cloud Functions 2nd gen (on Cloud Run) serves
 * many requests at once per instance. So the writer holds concurrent pushes for a short while, groups them by
 * (accountId, dt), writes each group as ONE object `account=<id>/dt=<yyyy-mm-dd>/<name>.ndjson` (the layout of
 * `EVENT_OBJECTS`, newline-delimited JSON records as the local FileSink and Firehose write them), and answers
 * the pushes only then:
 *  - every push of a group whose object was written gets 204, which acknowledges its message;
 *  - every push of a group whose write failed gets 500: Pub/Sub redelivers it (with backoff), and after the
 *    subscription's maximum delivery attempts moves it to the dead-letter topic. A message is acknowledged only
 *    once its bytes are in an object, so nothing acknowledged is lost.
 * One object per event would cost one Cloud Storage write per event and leave millions of tiny objects for the
 * purge to list and delete; one object per group costs a bounded delay (`maxWaitMs`, 1 s by default, well
 * inside the push's acknowledgement deadline).
 *
 * At-least-once. Pub/Sub may deliver a message twice (a lost 204, a redelivery racing an ack). Within a
 * batch, pushes of the same `messageId` are stored once and all answered. An object's name is derived from
 * its content's identity, the earliest publish time and a SHA-256 of its sorted message ids, and objects are
 * created only if absent: a group redelivered whole lands on the same name, finds it taken and is acknowledged
 * without a second copy. A message redelivered into a different group lands in another object, so readers may
 * see an event twice and de-duplicate by its event id.
 */
import { createHash } from 'node:crypto';
import { EVENT_OBJECTS } from '../../../../platform';
import { WRITER_BATCH_DEFAULTS } from '../../../../platform/contracts/writer-env';
import type { Logger } from '../../../shared/logger';
import type { PushedRecord } from './envelope';
import { ObjectExistsError, type ObjectWriter } from './ports';

/** File name suffix of every object: newline-delimited JSON. */
export const OBJECT_SUFFIX = '.ndjson';

/** Thrown to the pushes of a group whose object could not be written. */
export class GroupWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GroupWriteError';
  }
}

/** Properties of {@link GroupCommitter}. */
export interface GroupCommitterProps {
  /** Where the objects go. */
  readonly writer: ObjectWriter;
  /**
   * Longest the first push of a batch waits for others, in milliseconds.
   * @default 1000
   */
  readonly maxWaitMs?: number;
  /**
   * Records (distinct messages) that close a batch at once.
   * @default 500
   */
  readonly maxRecords?: number;
  /**
   * Bytes of record data that close a batch at once; a record that would push a batch past it starts the next.
   * @default 8 MiB
   */
  readonly maxBytes?: number;
  /**
   * Where write failures are reported.
   * @default none
   */
  readonly logger?: Logger;
  /**
   * Clock, in milliseconds, naming objects of messages without a publish time.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** What the committer has done, for logs and tests. */
export interface GroupCommitStats {
  /** Objects written (or found already written by an identical earlier group). */
  objects: number;
  /** Distinct messages stored. */
  records: number;
  /** Pushes answered without a second copy: the same message id twice in one batch. */
  duplicates: number;
  /** Groups whose write failed (their pushes got an error). */
  failedGroups: number;
}

interface Entry {
  readonly record: PushedRecord;
  readonly waiters: { resolve: () => void; reject: (err: Error) => void }[];
}

/** Collects pushed records into batches and writes each batch as one object per partition. */
export class GroupCommitter {
  /** Counters since start. */
  readonly stats: GroupCommitStats = { objects: 0, records: 0, duplicates: 0, failedGroups: 0 };
  private readonly writer: ObjectWriter;
  private readonly maxWaitMs: number;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly logger?: Logger;
  private readonly now: () => number;
  private pending = new Map<string, Entry>();
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(props: GroupCommitterProps) {
    this.writer = props.writer;
    this.maxWaitMs = props.maxWaitMs ?? WRITER_BATCH_DEFAULTS.maxWaitMs;
    this.maxRecords = props.maxRecords ?? WRITER_BATCH_DEFAULTS.maxRecords;
    this.maxBytes = props.maxBytes ?? WRITER_BATCH_DEFAULTS.maxBytes;
    this.logger = props.logger;
    this.now = props.now ?? Date.now;
    for (const [name, v, min] of [
      ['maxWaitMs', this.maxWaitMs, 0],
      ['maxRecords', this.maxRecords, 1],
      ['maxBytes', this.maxBytes, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min)
        throw new RangeError(`GroupCommitter: ${name} must be a whole number ≥ ${min}, not ${v}`);
    }
  }

  /**
   * Adds a record to the current batch. Resolves once the object holding it is written; rejects with
   * {@link GroupWriteError} when that write failed (the push must not be acknowledged).
   */
  submit(record: PushedRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const existing = this.pending.get(record.messageId);
      if (existing) {
        this.stats.duplicates += 1;
        existing.waiters.push({ resolve, reject });
        return;
      }
      if (this.pending.size > 0 && this.pendingBytes + record.data.length > this.maxBytes) this.cut();
      this.pending.set(record.messageId, { record, waiters: [{ resolve, reject }] });
      this.pendingBytes += record.data.length;
      if (this.pending.size >= this.maxRecords || this.pendingBytes >= this.maxBytes) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), this.maxWaitMs);
    });
  }

  /** Writes the current batch now and waits for every write under way. */
  async flush(): Promise<void> {
    this.cut();
    await Promise.all([...this.inFlight]);
  }

  /** Closes the current batch and starts writing it. */
  private cut(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.pendingBytes = 0;
    const run = this.commit(batch).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private async commit(batch: readonly Entry[]): Promise<void> {
    const groups = new Map<string, Entry[]>();
    for (const e of batch) {
      const key = EVENT_OBJECTS.partitionPrefix(e.record.accountId, e.record.dt);
      const group = groups.get(key);
      if (group) group.push(e);
      else groups.set(key, [e]);
    }
    await Promise.all([...groups].map(([prefix, entries]) => this.writeGroup(prefix, entries)));
  }

  private async writeGroup(prefix: string, entries: Entry[]): Promise<void> {
    // Sorted by message id: the same messages give the same name and the same bytes.
    entries.sort((a, b) => (a.record.messageId < b.record.messageId ? -1 : 1));
    const key =
      prefix +
      objectName(
        entries.map((e) => e.record),
        this.now,
      );
    const body = Buffer.concat(entries.map((e) => e.record.data));
    let failure: Error | undefined;
    try {
      await this.writer.put(key, body);
    } catch (err) {
      if (err instanceof ObjectExistsError) {
        this.logger?.info({ key, records: entries.length }, 'group already stored by an earlier delivery');
      } else {
        failure = new GroupWriteError(
          `writing ${key} (${entries.length} records) failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    if (failure) {
      this.stats.failedGroups += 1;
      this.logger?.error({ key, records: entries.length, err: failure.cause }, failure.message);
      for (const e of entries) for (const w of e.waiters) w.reject(failure);
      return;
    }
    this.stats.objects += 1;
    this.stats.records += entries.length;
    for (const e of entries) for (const w of e.waiters) w.resolve();
  }
}

/**
 * The name of a group's object within its partition: `<earliest publish time>-<sha256 of the sorted message
 * ids, 32 hex>.ndjson`. The time keeps a listing roughly in arrival order; the hash makes the name unique to
 * this set of messages (and the same for it on a redelivery).
 */
export function objectName(records: readonly PushedRecord[], now: () => number = Date.now): string {
  const times = records.map((r) => r.publishTimeMs).filter((t): t is number => t !== undefined);
  const earliest = times.length === records.length ? Math.min(...times) : now();
  const stamp = new Date(earliest).toISOString().replace(/[-:.]/g, '');
  const hash = createHash('sha256');
  for (const id of records.map((r) => r.messageId).sort()) hash.update(id).update('\n');
  return `${stamp}-${hash.digest('hex').slice(0, 32)}${OBJECT_SUFFIX}`;
}
