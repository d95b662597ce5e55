/**
 * One round of draining the disk spool back into the sink, once the sink answers again: the oldest spool
 * file (or, when the sink is known to be up, as many of the oldest as make one full batch) is read, the
 * records of accounts that may no longer receive data are dropped, the rest are sent in sink-sized
 * chunks, and the files are removed only once what the sink did not take is spooled again.
 */
import type { Logger } from '../../../shared/logger';
import type { Metrics } from '../metrics';
import type { SinkCallResult } from './sink-call';
import type { SinkRecord } from './sink';
import { SpoolCorruptError, type DiskSpool, type SpoolEntry } from './spool';

/** What a drain round works with. */
export interface SpoolDrainContext {
  readonly spool: DiskSpool;
  /** The sink's batch limits: files written under other limits are cut to fit. */
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  /** One sink call. */
  readonly send: (records: readonly SinkRecord[]) => Promise<SinkCallResult>;
  /** Which of these accounts may no longer receive data (see `BufferedSinkOptions.droppedAccounts`). */
  readonly droppedAccounts?: (accountIds: readonly string[]) => Promise<ReadonlySet<string>>;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
}

const noop = (): void => undefined;

/**
 * Sends the oldest spool file, or with `coalesce` as many of the oldest as make one full batch, to the
 * sink. True when they are all gone (delivered, dropped, or set aside as corrupt). When only part was
 * taken, the rest is re-spooled as a new file before the old ones are removed, so nothing is sent twice.
 */
export async function drainSpoolOnce(ctx: SpoolDrainContext, coalesce: boolean): Promise<boolean> {
  const entries: SpoolEntry[] = [];
  let planned = 0;
  for (const entry of ctx.spool.list(coalesce ? 256 : 1)) {
    if (entries.length > 0 && planned + entry.records > ctx.maxBatchRecords) break;
    entries.push(entry);
    planned += entry.records;
  }
  const read: SinkRecord[] = [];
  const sources: string[] = [];
  for (const entry of entries) {
    try {
      for (const r of await ctx.spool.read(entry.id)) read.push(r);
      sources.push(entry.id);
    } catch (err) {
      if (!(err instanceof SpoolCorruptError)) {
        ctx.logger?.error({ err, id: entry.id }, 'spool read failed');
        if (sources.length === 0) return false;
        break;
      }
      ctx.logger?.error({ err, id: entry.id }, 'corrupt spool file set aside');
      await ctx.spool.quarantine(entry.id).catch(noop);
    }
  }
  let records = read;
  if (ctx.droppedAccounts && records.length > 0) {
    let dropped: ReadonlySet<string>;
    try {
      dropped = await ctx.droppedAccounts([...new Set(records.map((r) => r.accountId))]);
    } catch (err) {
      ctx.logger?.error({ err }, 'could not check the accounts of spooled records; keeping them spooled');
      return false;
    }
    if (dropped.size > 0) {
      records = records.filter((r) => !dropped.has(r.accountId));
      ctx.metrics?.spoolDropped(read.length - records.length);
      ctx.logger?.info(
        { records: read.length - records.length, accounts: [...dropped] },
        'dropped spooled records of purged accounts',
      );
    }
  }
  const failedRecords: SinkRecord[] = [];
  let accepted = 0;
  let wholeFailed = false;
  // Files written under other limits (an earlier run, another sink) are cut to fit this sink.
  for (let start = 0; start < records.length;) {
    let end = start;
    let bytes = 0;
    while (end < records.length && end - start < ctx.maxBatchRecords) {
      const size = records[end]!.data.length;
      if (end > start && bytes + size > ctx.maxBatchBytes) break;
      bytes += size;
      end += 1;
    }
    const chunk = records.slice(start, end);
    start = end;
    // After a whole-call failure the sink is down: keep the rest for the next probe instead of hammering.
    const result = wholeFailed ? {} : await ctx.send(chunk);
    if (result.failed === undefined) {
      wholeFailed = true;
      for (const r of chunk) failedRecords.push(r);
    } else {
      accepted += chunk.length - result.failed.length;
      for (const i of result.failed) failedRecords.push(chunk[i]!);
    }
  }
  if (failedRecords.length > 0 && accepted === 0) return false;
  try {
    if (failedRecords.length > 0) await ctx.spool.append(failedRecords);
    for (const id of sources) await ctx.spool.remove(id);
  } catch (err) {
    ctx.logger?.error({ err, files: sources.length }, 'spool update after drain failed');
    return false;
  }
  return failedRecords.length === 0;
}
