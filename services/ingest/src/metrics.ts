/**
 * In-process counters of the ingest service, emitted as CloudWatch Embedded Metric Format (EMF) log lines
 * on AWS, where CloudWatch turns them into metrics without any API call on the hot path.
 */
import { INGEST_METRICS, METRIC_DIMENSIONS } from '../../../platform';
import { emfDocument } from '../../shared/emf';

/** Reasons a hit is not stored; each is a dimension value of the `Rejects` metric. */
export type RejectReason =
  | 'malformed'
  | 'oversized'
  | 'bot'
  | 'rate_limited'
  | 'duplicate'
  | 'unknown_account'
  | 'inactive_account'
  | 'unknown_campaign'
  | 'origin_not_allowed'
  | 'consent_no_count'
  | 'unauthorized'
  | 'misdirected'
  | 'not_found';

/** Counters and gauges of one process. */
export class Metrics {
  /** Hits stored. */
  hits = 0;
  /** Hits not stored, by reason. */
  readonly rejects = new Map<RejectReason, number>();
  /** KMS (or other key provider) calls, by operation. */
  readonly keyProviderCalls = new Map<string, number>();
  /** Records currently waiting in the disk spool. */
  spoolDepth = 0;
  /** Spooled records dropped at drain time because their account was purged. */
  spoolDroppedRecords = 0;
  /** Firehose records accepted (each holds one or more events; the aggregation factor is events / records). */
  firehoseRecords = 0;
  /** Events inside the accepted Firehose records. */
  firehoseEvents = 0;
  /** 5 KiB increments Firehose bills for the accepted records. */
  firehoseBilledIncrements = 0;
  private sinkLatencySumMs = 0;
  private sinkLatencyCount = 0;
  private sinkLatencyMaxMs = 0;

  /** Counts a rejected hit. */
  reject(reason: RejectReason, n = 1): void {
    this.rejects.set(reason, (this.rejects.get(reason) ?? 0) + n);
  }

  /** Counts a key provider call. */
  keyProviderCall(operation: string): void {
    this.keyProviderCalls.set(operation, (this.keyProviderCalls.get(operation) ?? 0) + 1);
  }

  /** Counts spooled records dropped at drain time (their account was purged). */
  spoolDropped(n: number): void {
    this.spoolDroppedRecords += n;
  }

  /** Counts Firehose records accepted by the streams, the events in them and their billed increments. */
  firehoseAccepted(records: number, events: number, billedIncrements: number): void {
    this.firehoseRecords += records;
    this.firehoseEvents += events;
    this.firehoseBilledIncrements += billedIncrements;
  }

  /** Records the duration of one sink write. */
  sinkLatency(ms: number): void {
    this.sinkLatencySumMs += ms;
    this.sinkLatencyCount += 1;
    if (ms > this.sinkLatencyMaxMs) this.sinkLatencyMaxMs = ms;
  }

  /** A plain snapshot, for tests and the local `/metrics` view. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {
      hits: this.hits,
      spoolDepth: this.spoolDepth,
      spoolDroppedRecords: this.spoolDroppedRecords,
      sinkWrites: this.sinkLatencyCount,
      sinkLatencyAvgMs: this.sinkLatencyCount ? this.sinkLatencySumMs / this.sinkLatencyCount : 0,
      sinkLatencyMaxMs: this.sinkLatencyMaxMs,
      firehoseRecords: this.firehoseRecords,
      firehoseEvents: this.firehoseEvents,
      firehoseBilledIncrements: this.firehoseBilledIncrements,
    };
    for (const [reason, n] of this.rejects) out[`rejects.${reason}`] = n;
    for (const [op, n] of this.keyProviderCalls) out[`keyProvider.${op}`] = n;
    return out;
  }

  /**
   * Renders the counters since the last call as EMF documents (one per dimension set) and resets them.
   * @param namespace CloudWatch namespace, `metricsNamespace(stage)`
   * @param dimensions dimensions common to every metric, e.g. `{ Location: 'europe' }`
   */
  drainEmf(namespace: string, dimensions: Record<string, string>, now = Date.now()): string[] {
    const m = INGEST_METRICS;
    const lines = [
      emfDocument(
        namespace,
        dimensions,
        [
          { name: m.hits, unit: 'Count', value: this.hits },
          { name: m.spoolDepth, unit: 'Count', value: this.spoolDepth },
          { name: m.spoolDroppedRecords, unit: 'Count', value: this.spoolDroppedRecords },
          { name: m.sinkLatencyMax, unit: 'Milliseconds', value: this.sinkLatencyMaxMs },
          { name: m.firehoseRecords, unit: 'Count', value: this.firehoseRecords },
          { name: m.firehoseEvents, unit: 'Count', value: this.firehoseEvents },
          { name: m.firehoseBilledIncrements, unit: 'Count', value: this.firehoseBilledIncrements },
        ],
        now,
      ),
    ];
    for (const [reason, n] of this.rejects)
      lines.push(
        emfDocument(
          namespace,
          { ...dimensions, [METRIC_DIMENSIONS.reason]: reason },
          [{ name: m.rejects, unit: 'Count', value: n }],
          now,
        ),
      );
    for (const [op, n] of this.keyProviderCalls)
      lines.push(
        emfDocument(
          namespace,
          { ...dimensions, [METRIC_DIMENSIONS.operation]: op },
          [{ name: m.keyProviderCalls, unit: 'Count', value: n }],
          now,
        ),
      );
    this.hits = 0;
    this.spoolDroppedRecords = 0;
    this.firehoseRecords = 0;
    this.firehoseEvents = 0;
    this.firehoseBilledIncrements = 0;
    this.rejects.clear();
    this.keyProviderCalls.clear();
    this.sinkLatencySumMs = 0;
    this.sinkLatencyCount = 0;
    this.sinkLatencyMaxMs = 0;
    return lines;
  }
}
