/**
 * Garbage-collection time of a benchmark child, from V8's own `gc` performance entries: what the
 * service's allocation and object lifetimes cost it, which a CPU total does not separate out. A young
 * collection that keeps too much alive shows here first (see docs/architecture.md, "Garbage collection
 * on the hot path").
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** Collections and their pause time since {@link observeGc} was called. */
export interface GcTotals {
  /** Young-generation collections (scavenges). */
  readonly gcMinor: number;
  readonly gcMinorMs: number;
  /** Full collections (mark-compact), incremental steps included. */
  readonly gcMajor: number;
  readonly gcMajorMs: number;
}

/** Starts counting; the returned function reads the totals so far. */
export function observeGc(): () => GcTotals {
  const totals = { gcMinor: 0, gcMinorMs: 0, gcMajor: 0, gcMajorMs: 0 };
  const count = (entries: readonly PerformanceEntry[]) => {
    for (const entry of entries) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        totals.gcMinor += 1;
        totals.gcMinorMs += entry.duration;
      } else if (
        kind === constants.NODE_PERFORMANCE_GC_MAJOR ||
        kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL
      ) {
        totals.gcMajor += 1;
        totals.gcMajorMs += entry.duration;
      }
    }
  };
  const observer = new PerformanceObserver((list) => count(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    // Entries reach the callback asynchronously; count those still buffered.
    count(observer.takeRecords());
    return { ...totals };
  };
}
