/**
 * One call to a {@link Sink}, as every path of the buffered sink makes it: bounded in time, its latency
 * recorded, and its answer about partial failures checked rather than trusted.
 */
import type { Metrics } from '../metrics';
import type { Sink, SinkRecord } from './sink';

/**
 * What a sink call did. `failed` holds the sorted, de-duplicated indexes of records the sink did not take
 * (empty: all taken); it is absent when the call failed as a whole, with `error` saying why.
 */
export interface SinkCallResult {
  readonly failed?: readonly number[];
  readonly error?: unknown;
}

/**
 * Sends `records` to the sink, counting the call as failed after `timeoutMs`. The call itself is not
 * cancelled, so a late success can duplicate records (delivery is at least once).
 */
export async function callSink(
  sink: Sink,
  records: readonly SinkRecord[],
  timeoutMs: number,
  metrics?: Metrics,
): Promise<SinkCallResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const indexes = await Promise.race([
      sink.putBatch(records),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${sink.name} sink did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        timer.unref();
      }),
    ]);
    metrics?.sinkLatency(performance.now() - started);
    if (indexes.length === 0) return { failed: indexes };
    // Trust nothing about the sink's list: drop out-of-range entries and duplicates, sort.
    const flags = new Uint8Array(records.length);
    for (const i of indexes) if (Number.isInteger(i) && i >= 0 && i < records.length) flags[i] = 1;
    const failed: number[] = [];
    for (let i = 0; i < flags.length; i++) if (flags[i]) failed.push(i);
    return { failed };
  } catch (error) {
    metrics?.sinkLatency(performance.now() - started);
    return { error };
  } finally {
    clearTimeout(timer);
  }
}
