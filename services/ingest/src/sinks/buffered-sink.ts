/**
 * The one sink the ingest service talks to: batching, retry, spooling and drain in front of a {@link Sink}.
 *
 * Batching is group commit. A record that arrives while the sink is idle is sent on the next
 * `setImmediate` (or after `lingerMs`); records that arrive while `maxInFlight` batches are in flight
 * accumulate and form the next batch, cut at the sink's record and byte limits. So an idle service
 * writes at once, and a busy one writes big batches, without any tuning.
 *
 * A batch is retried (partial failures for the failed records only, whole failures with exponential
 * backoff and full jitter) a bounded number of times, then written to the {@link DiskSpool}; either way
 * its promises resolve only once the records are in one or the other. While the sink is known to be down,
 * new batches go to the spool straight away, and a background drainer probes the sink with the oldest
 * spool file, backing off between probes, until the spool is empty again.
 */
import { backoffMs, sleep } from '../../../shared/backoff';
import type { Logger } from '../../../shared/logger';
import { SlotSet } from '../../../shared/slot-set';
import type { Metrics } from '../metrics';
import type { Sink, SinkRecord } from './sink';
import { callSink, type SinkCallResult } from './sink-call';
import {
  InvalidPartitionError,
  PARTITION_PATTERNS,
  RecordTooLargeError,
  SinkUnavailableError,
} from './errors';
import { PendingQueue, type Batch } from './pending-queue';
import type { DiskSpool } from './spool';
import { drainSpoolOnce } from './spool-drain';

/** Retry of one batch against the sink before it is spooled. */
export interface RetryOptions {
  /** Sink calls per batch, first one included. Default 3. */
  readonly attempts?: number;
  /** Backoff cap of the first retry; doubles each retry (full jitter). Default 50 ms. */
  readonly baseDelayMs?: number;
  /** Largest backoff. Default 400 ms. */
  readonly maxDelayMs?: number;
}

/** Pace of the background drainer. */
export interface DrainOptions {
  /** Delay before the first probe after a batch was spooled, and the base of the probe backoff. Default 250 ms. */
  readonly initialDelayMs?: number;
  /** Largest delay between probes while the sink stays down. Default 5 s. */
  readonly maxDelayMs?: number;
  /** Longest {@link BufferedSink.close} spends on its last drain; what remains stays spooled. Default 5 s. */
  readonly closeBudgetMs?: number;
}

/** Options of {@link BufferedSink}. */
export interface BufferedSinkOptions {
  readonly sink: Sink;
  readonly spool: DiskSpool;
  /** Receives `sinkLatency` per sink call and `spoolDepth`. */
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Extra wait before sending a batch from an idle state, to gather more records. Default 0. */
  readonly lingerMs?: number;
  /** Batches in flight at once. Default 1 for the `file` sink (it serializes writes anyway), 4 otherwise. */
  readonly maxInFlight?: number;
  /**
   * Bytes waiting for a batch slot; beyond it `enqueue` rejects (503) instead of growing without bound when
   * the sink is slower than the traffic. Default 64 MiB.
   */
  readonly maxPendingBytes?: number;
  /**
   * Longest one sink call may take before it counts as failed. The call is not cancelled, so a late
   * success can duplicate records (delivery is at least once). Default 5 s.
   */
  readonly attemptTimeoutMs?: number;
  readonly retry?: RetryOptions;
  readonly drain?: DrainOptions;
  /**
   * Asked, before spooled records are sent, which of their accounts may no longer receive data (purged or
   * gone): those records are dropped, never delivered, since the purge may already have emptied the
   * accounts' prefixes. A rejection keeps the records spooled until the next attempt.
   * @default every spooled record is delivered
   */
  readonly droppedAccounts?: (accountIds: readonly string[]) => Promise<ReadonlySet<string>>;
}

interface FlushWaiter {
  readonly seq: number;
  readonly resolve: () => void;
}

const noop = (): void => undefined;

/** Batches, retries, spools and drains records in front of a {@link Sink}. */
export class BufferedSink {
  private readonly sink: Sink;
  private readonly spool: DiskSpool;
  private readonly metrics: Metrics | undefined;
  private readonly log: Logger | undefined;
  private readonly lingerMs: number;
  private readonly maxInFlight: number;
  private readonly maxPendingBytes: number;
  private readonly attemptTimeoutMs: number;
  private readonly maxRecordBytes: number;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly retryAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly drainInitialMs: number;
  private readonly drainMaxMs: number;
  private readonly closeBudgetMs: number;
  private readonly droppedAccounts: BufferedSinkOptions['droppedAccounts'];

  private readonly queue = new PendingQueue();

  /** Not a `Set`: see SlotSet for what a churning hash table costs the garbage collector. */
  private readonly inFlight = new SlotSet<Batch>();
  private waiters: FlushWaiter[] = [];
  private scheduled = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  // True while the sink is known to be down: new batches skip it and go to the spool; the drainer probes.
  private sinkDown = false;
  private draining: Promise<void> | undefined;
  private drainWake: (() => void) | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(options: BufferedSinkOptions) {
    this.sink = options.sink;
    this.spool = options.spool;
    this.metrics = options.metrics;
    this.log = options.logger;
    this.lingerMs = Math.max(0, options.lingerMs ?? 0);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? (options.sink.name === 'file' ? 1 : 4));
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
    this.maxBatchRecords = Math.max(1, options.sink.maxBatchRecords);
    this.maxBatchBytes = options.sink.maxBatchBytes;
    this.maxRecordBytes = Math.min(options.sink.maxRecordBytes, options.sink.maxBatchBytes);
    this.retryAttempts = Math.max(1, options.retry?.attempts ?? 3);
    this.retryBaseMs = options.retry?.baseDelayMs ?? 50;
    this.retryMaxMs = options.retry?.maxDelayMs ?? 400;
    this.drainInitialMs = options.drain?.initialDelayMs ?? 250;
    this.drainMaxMs = options.drain?.maxDelayMs ?? 5_000;
    this.closeBudgetMs = options.drain?.closeBudgetMs ?? 5_000;
    this.droppedAccounts = options.droppedAccounts;
    this.updateDepth();
    // Files left by an earlier process: drain them now rather than waiting for this one's first outage.
    if (this.spool.depth > 0) {
      this.log?.info(
        { spoolDepth: this.spool.depth, files: this.spool.files },
        'draining spool left by an earlier run',
      );
      this.startDrainer(0);
    }
  }

  /** Records waiting for a batch slot. */
  get pendingRecords(): number {
    return this.queue.length;
  }

  /** Records in the spool. */
  get spoolDepth(): number {
    return this.spool.depth;
  }

  /** False while the sink is known to be down and records are going to the spool. */
  get sinkAvailable(): boolean {
    return !this.sinkDown;
  }

  /**
   * Takes one record. Resolves once it is in the sink or in the spool, never before; rejects with
   * {@link SinkUnavailableError} when neither could take it (the caller answers 503).
   * @throws RecordTooLargeError synchronously, for a record above the sink's record limit
   * @throws InvalidPartitionError synchronously, for an account id or day that cannot be a partition
   */
  enqueue(record: SinkRecord): Promise<void> {
    const size = record.data.length;
    if (size > this.maxRecordBytes) throw new RecordTooLargeError(size, this.maxRecordBytes);
    if (!PARTITION_PATTERNS.accountId.test(record.accountId) || !PARTITION_PATTERNS.dt.test(record.dt)) {
      throw new InvalidPartitionError(
        `invalid partition account=${JSON.stringify(record.accountId)} dt=${JSON.stringify(record.dt)}`,
      );
    }
    if (this.closing) return Promise.reject(new SinkUnavailableError('sink is closing'));
    if (this.queue.bytes + size > this.maxPendingBytes) {
      return Promise.reject(new SinkUnavailableError(`sink buffer full (${this.queue.bytes} bytes waiting)`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push(record, resolve, reject);
      this.schedule();
    });
  }

  /**
   * Resolves when every record enqueued before the call is in the sink or the spool (SIGTERM). Does not
   * wait for the spool to drain. Keeps the process alive while it waits, although every timer is unref'd.
   */
  async flush(): Promise<void> {
    const target = this.queue.total;
    if (this.lowestUnsettled() >= target) return;
    const keepAlive = setInterval(noop, 60_000);
    try {
      this.cancelSchedule();
      this.pump();
      await new Promise<void>((resolve) => {
        this.waiters.push({ seq: target, resolve });
        this.settleWaiters();
      });
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * Refuses new records, flushes, makes one last bounded attempt to drain the spool, stops every timer and
   * closes the sink. Whatever is still spooled is drained by the next process that opens the spool.
   */
  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  /** Readiness of the underlying sink. */
  check(): Promise<void> {
    return this.sink.check();
  }

  private async doClose(): Promise<void> {
    const keepAlive = setInterval(noop, 60_000);
    try {
      this.closing = true;
      await this.flush();
      this.stopped = true;
      this.wakeDrainer();
      await this.draining;
      const deadline = Date.now() + this.closeBudgetMs;
      while (this.spool.files > 0 && Date.now() < deadline) {
        if (!(await this.drainRound(true))) break;
      }
      if (this.spool.depth > 0) {
        this.log?.warn(
          { spoolDepth: this.spool.depth },
          'closing with records still spooled; the next run drains them',
        );
      }
      this.cancelSchedule();
      await this.sink.close();
    } finally {
      clearInterval(keepAlive);
    }
  }

  // ---- batching ------------------------------------------------------------------------------------

  private schedule(): void {
    // A completing batch pumps again, so nothing to schedule while every slot is busy.
    if (this.inFlight.size >= this.maxInFlight) return;
    if (this.scheduled) {
      // A full batch should not wait out the linger.
      if (this.lingerTimer && this.batchIsFull()) {
        clearTimeout(this.lingerTimer);
        this.lingerTimer = undefined;
        this.immediate = setImmediate(this.onScheduled);
      }
      return;
    }
    this.scheduled = true;
    if (this.lingerMs > 0 && !this.batchIsFull()) {
      this.lingerTimer = setTimeout(this.onScheduled, this.lingerMs);
      this.lingerTimer.unref();
    } else {
      // Never unref'd: node lets the poll phase block on I/O while only unref'd immediates are pending, so
      // a record enqueued outside the poll phase (from a timer, or from the microtasks of another flush)
      // would wait for the next request or timer. One-shot, it cannot keep a finished process alive.
      this.immediate = setImmediate(this.onScheduled);
    }
  }

  private readonly onScheduled = (): void => {
    this.scheduled = false;
    this.lingerTimer = undefined;
    this.immediate = undefined;
    this.pump();
  };

  private cancelSchedule(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.lingerTimer = undefined;
    this.immediate = undefined;
    this.scheduled = false;
  }

  private batchIsFull(): boolean {
    return this.queue.length >= this.maxBatchRecords || this.queue.bytes >= this.maxBatchBytes;
  }

  private pump(): void {
    while (this.inFlight.size < this.maxInFlight && this.pendingRecords > 0) {
      const batch = this.queue.cut(this.maxBatchRecords, this.maxBatchBytes);
      const slot = this.inFlight.add(batch);
      void this.run(batch).then(() => {
        this.inFlight.delete(slot);
        this.settleWaiters();
        this.pump();
      });
    }
  }

  /** Delivers one batch to the sink or, failing that, the spool. Never rejects. */
  private async run(batch: Batch): Promise<void> {
    let { records, resolves, rejects } = batch;
    let lastError: unknown;
    // Skip the sink only while a drainer is probing it: that probe is what clears `sinkDown` again.
    if (!this.sinkDown || this.draining === undefined) {
      for (let attempt = 1; ; attempt++) {
        const result = await this.attempt(records);
        if (result.failed === undefined) lastError = result.error;
        else if (result.failed.length === 0) {
          for (const resolve of resolves) resolve();
          return;
        } else {
          // Partial failure: acknowledge what the sink took, keep only the rest.
          const failed = result.failed;
          const keepRecords: SinkRecord[] = [];
          const keepResolves: Array<() => void> = [];
          const keepRejects: Array<(err: Error) => void> = [];
          for (let i = 0, f = 0; i < records.length; i++) {
            if (f < failed.length && failed[f] === i) {
              f++;
              keepRecords.push(records[i]!);
              keepResolves.push(resolves[i]!);
              keepRejects.push(rejects[i]!);
            } else resolves[i]!();
          }
          records = keepRecords;
          resolves = keepResolves;
          rejects = keepRejects;
          lastError = new Error(`${failed.length} records not accepted by the ${this.sink.name} sink`);
        }
        if (attempt >= this.retryAttempts || (this.sinkDown && this.draining !== undefined)) break;
        await sleep(backoffMs(attempt, { baseMs: this.retryBaseMs, maxMs: this.retryMaxMs, jitter: 'full' }));
      }
      if (!this.sinkDown) {
        this.sinkDown = true;
        this.log?.warn(
          { sink: this.sink.name, err: lastError },
          'sink unavailable after retries; spooling to disk until it recovers',
        );
      }
    }
    try {
      await this.spool.append(records);
    } catch (err) {
      this.log?.error(
        { sink: this.sink.name, err, records: records.length },
        'spool append failed; refusing records',
      );
      const error = new SinkUnavailableError(
        `neither the ${this.sink.name} sink nor the spool took the records`,
        {
          cause: err,
        },
      );
      for (const reject of rejects) reject(error);
      return;
    }
    this.updateDepth();
    for (const resolve of resolves) resolve();
    this.startDrainer(this.drainInitialMs);
  }

  /** One sink call with the attempt time limit (see {@link callSink}). */
  private attempt(records: readonly SinkRecord[]): Promise<SinkCallResult> {
    return callSink(this.sink, records, this.attemptTimeoutMs, this.metrics);
  }

  private lowestUnsettled(): number {
    let lowest = this.queue.total - this.queue.length;
    for (const batch of this.inFlight) if (batch.startSeq < lowest) lowest = batch.startSeq;
    return lowest;
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const lowest = this.lowestUnsettled();
    const still: FlushWaiter[] = [];
    for (const w of this.waiters) {
      if (w.seq <= lowest) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  // ---- spool drain ---------------------------------------------------------------------------------

  private startDrainer(delayMs: number): void {
    if (this.draining || this.stopped || this.spool.depth === 0) return;
    this.draining = this.drainLoop(delayMs).finally(() => {
      this.draining = undefined;
      // An append that completed while the loop was finishing would otherwise wait for the next outage.
      if (this.spool.depth > 0 && !this.stopped) this.startDrainer(this.drainInitialMs);
    });
  }

  private async drainLoop(firstDelayMs: number): Promise<void> {
    let failures = 0;
    let delay = firstDelayMs;
    while (!this.stopped) {
      if (delay > 0) await this.drainSleep(delay);
      if (this.stopped) return;
      if (this.spool.files === 0) break;
      // While the sink is down, probe with the oldest file alone; once it answers, drain in full batches.
      if (await this.drainRound(failures === 0 && !this.sinkDown)) {
        failures = 0;
        delay = 0;
        if (this.sinkDown) {
          this.sinkDown = false;
          this.log?.info(
            { sink: this.sink.name, spoolDepth: this.spool.depth },
            'sink recovered; draining spool',
          );
        }
      } else {
        failures += 1;
        this.sinkDown = true;
        // Equal jitter: probes stay spread out but never come back to back.
        delay = backoffMs(failures, { baseMs: this.drainInitialMs, maxMs: this.drainMaxMs, jitter: 'equal' });
      }
    }
    if (this.spool.depth === 0 && this.sinkDown) {
      this.sinkDown = false;
      this.log?.info({ sink: this.sink.name }, 'spool drained');
    }
  }

  /** One round of the drain (see {@link drainSpoolOnce}). */
  private async drainRound(coalesce: boolean): Promise<boolean> {
    try {
      return await drainSpoolOnce(
        {
          spool: this.spool,
          maxBatchRecords: this.maxBatchRecords,
          maxBatchBytes: this.maxBatchBytes,
          send: (records) => this.attempt(records),
          droppedAccounts: this.droppedAccounts,
          metrics: this.metrics,
          logger: this.log,
        },
        coalesce,
      );
    } finally {
      this.updateDepth();
    }
  }

  private drainSleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.drainWake = resolve;
      this.drainTimer = setTimeout(resolve, ms);
      this.drainTimer.unref();
    }).finally(() => {
      this.drainWake = undefined;
      this.drainTimer = undefined;
    });
  }

  private wakeDrainer(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainWake?.();
  }

  private updateDepth(): void {
    if (this.metrics) this.metrics.spoolDepth = this.spool.depth;
  }
}
