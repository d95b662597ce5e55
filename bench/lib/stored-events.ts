/**
 * Counts what the file sink stored under a data folder (`events/account=…/dt=…/*.ndjson`, one event a
 * line), without holding the events in memory: a loaded run stores a few hundred thousand. The HTTP section
 * compares these counts with the acknowledged ones; a last line without its newline (a write cut short,
 * never acknowledged) is not counted, as the sink's own reader skips it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listFileSinkSegments } from '../../services/ingest/src/sinks/file-sink';

/** What {@link countStoredEvents} found. */
export interface StoredCount {
  /** Events in every segment. */
  readonly total: number;
  /** Events per account id. */
  readonly byAccount: ReadonlyMap<string, number>;
  /** Events whose line holds one of the `clearTextNeedles` (a personal field left unsealed). */
  readonly inClearText: number;
  /** The first stored line, without its newline, or `''` when nothing was stored. */
  readonly sample: string;
}

/**
 * Counts the events the file sink stored in `dataDir` (its `events` folder).
 * @param clearTextNeedles strings that must never appear in a stored line (the load's IP, user agent)
 */
export async function countStoredEvents(
  dataDir: string,
  clearTextNeedles: readonly string[] = [],
): Promise<StoredCount> {
  const needles = clearTextNeedles.map((n) => Buffer.from(n, 'utf8'));
  const byAccount = new Map<string, number>();
  let total = 0;
  let inClearText = 0;
  let sample = '';
  for (const segment of await listFileSinkSegments(join(dataDir, 'events'))) {
    const buf = await readFile(segment.path);
    let start = 0;
    let lines = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      const line = buf.subarray(start, nl);
      if (!sample) sample = line.toString('utf8');
      if (needles.some((n) => line.includes(n))) inClearText++;
      lines++;
      start = nl + 1;
    }
    byAccount.set(segment.accountId, (byAccount.get(segment.accountId) ?? 0) + lines);
    total += lines;
  }
  return { total, byAccount, inClearText, sample };
}
