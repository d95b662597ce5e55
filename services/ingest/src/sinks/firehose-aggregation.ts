/**
 * Packing of events into Firehose records. Firehose bills Direct PUT ingestion per record, rounded up to
 * {@link LIMITS.firehoseBillingIncrementBytes} (5 KiB), so a 300-byte event costs as much as 5 KiB. Several
 * newline-terminated events of one account and day in one record cost one increment; the stream's record
 * de-aggregation (delimiter `\n`) splits them back before dynamic partitioning, so each event still lands
 * alone on its line under `account=<id>/dt=<day>/`.
 *
 * Pure functions only: the sink decides where the packed records go.
 */
import { LIMITS } from '../../../../platform';
import type { SinkRecord } from './sink';

/**
 * Most events in one aggregated record: Firehose de-aggregates at most 500 sub-records per record and
 * silently mis-splits beyond it. A 5 KiB record reaches it only with events under 11 bytes, which the
 * service never writes, but the bound costs nothing and keeps the packing correct for any input.
 */
export const MAX_EVENTS_PER_AGGREGATE = 500;

/** One Firehose record built from one or more events of the same account and day. */
export interface AggregatedRecord {
  /** The events' bytes, concatenated in their input order (each already ends with `\n`). */
  readonly data: Buffer;
  /** Indexes, into the packed input, of the events inside, ascending. */
  readonly members: readonly number[];
}

/** Options of {@link aggregateRecords}. */
export interface AggregationOptions {
  /**
   * Largest aggregated record, in bytes; an event larger than this travels alone.
   * @default LIMITS.firehoseBillingIncrementBytes
   */
  readonly maxBytes?: number;
  /**
   * Most events in one aggregated record.
   * @default MAX_EVENTS_PER_AGGREGATE
   */
  readonly maxEvents?: number;
}

interface OpenAggregate {
  readonly parts: Buffer[];
  readonly members: number[];
  bytes: number;
}

/**
 * Packs events into aggregated records of at most `maxBytes` (default 5 KiB): only events of the same
 * `accountId` and `dt` share a record, no event is split, an event above `maxBytes` is a record of its own,
 * and the records of one account and day come out in the order of their events (a record is emitted in
 * the order it was opened, and a record is never reopened once a later one of its partition exists).
 * @param records the events, each newline-terminated
 * @param indexes which of `records` to pack, in order (default all); `members` refers to `records`
 */
export function aggregateRecords(
  records: readonly SinkRecord[],
  indexes?: readonly number[],
  options: AggregationOptions = {},
): AggregatedRecord[] {
  const maxBytes = options.maxBytes ?? LIMITS.firehoseBillingIncrementBytes;
  const maxEvents = options.maxEvents ?? MAX_EVENTS_PER_AGGREGATE;
  if (!Number.isInteger(maxBytes) || maxBytes < 1)
    throw new RangeError(`aggregateRecords: maxBytes must be a positive whole number, got ${maxBytes}`);
  if (!Number.isInteger(maxEvents) || maxEvents < 1)
    throw new RangeError(`aggregateRecords: maxEvents must be a positive whole number, got ${maxEvents}`);
  const order: OpenAggregate[] = [];
  // The aggregate still taking events, per partition; `\n` cannot occur in a validated id or day.
  const open = new Map<string, OpenAggregate>();
  const count = indexes ? indexes.length : records.length;
  for (let k = 0; k < count; k++) {
    const i = indexes ? indexes[k]! : k;
    const record = records[i];
    if (!record) throw new RangeError(`aggregateRecords: no record at index ${i}`);
    const size = record.data.length;
    const key = `${record.accountId}\n${record.dt}`;
    const current = open.get(key);
    if (current && current.bytes + size <= maxBytes && current.members.length < maxEvents) {
      current.parts.push(record.data);
      current.members.push(i);
      current.bytes += size;
      continue;
    }
    const next: OpenAggregate = { parts: [record.data], members: [i], bytes: size };
    order.push(next);
    // An oversized event closes its partition's aggregate too: a later event joining the earlier
    // aggregate would be stored before it.
    if (size >= maxBytes) open.delete(key);
    else open.set(key, next);
  }
  return order.map((a) => ({
    data: a.parts.length === 1 ? a.parts[0]! : Buffer.concat(a.parts, a.bytes),
    members: a.members,
  }));
}

/** Firehose's billed increments for records of these sizes: each rounded up to 5 KiB, at least one. */
export function billedIncrements(recordBytes: Iterable<number>): number {
  const step = LIMITS.firehoseBillingIncrementBytes;
  let units = 0;
  for (const bytes of recordBytes) units += Math.max(1, Math.ceil(bytes / step));
  return units;
}

/**
 * Cuts records into consecutive groups for one `PutRecordBatch` each: at most `maxRecords` records and
 * `maxBytes` bytes per group. Returns the end index (exclusive) of each group.
 * @throws RangeError when one record alone exceeds `maxBytes`
 */
export function callBoundaries(
  sizes: readonly number[],
  maxRecords: number = LIMITS.firehoseMaxRecords,
  maxBytes: number = LIMITS.firehoseMaxBytes,
): number[] {
  const ends: number[] = [];
  let records = 0;
  let bytes = 0;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i]!;
    if (size > maxBytes) throw new RangeError(`record ${i} of ${size} bytes exceeds a call's ${maxBytes}`);
    if (records > 0 && (records + 1 > maxRecords || bytes + size > maxBytes)) {
      ends.push(i);
      records = 0;
      bytes = 0;
    }
    records += 1;
    bytes += size;
  }
  if (records > 0) ends.push(sizes.length);
  return ends;
}
