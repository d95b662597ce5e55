/**
 * The edge health check's core, free of any cloud: probes each location's readiness through the CDN
 * (`<edge URL>/_health/<location>`, which the routing function sends to that location's origin whatever
 * the prober's own location) and keeps the edge store's `down` key, which the routing function routes
 * around.
 *
 * One run probes every location `probes` times, `intervalMs` apart, each probe allowed `timeoutMs`. The
 * state changes only on a unanimous run (hysteresis): a location goes down when every probe of the run
 * failed (non-2xx or no answer in time) and comes back up when every probe succeeded; a mixed run leaves
 * it as it was, so one lost probe neither fails a region over nor brings a flapping one back. The store
 * is written only when the set of down locations changes.
 */
import { edgeHealthPath, LOCATIONS, type Location } from '../../../platform';
import { readDown, writeDown, type EdgeStore } from '../../shared/edge-store/edge-store';
import type { Logger } from '../../shared/logger';

/** A location's state at the edge. */
export type EdgeState = 'up' | 'down';

/** One probe's outcome. */
export interface ProbeResult {
  readonly ok: boolean;
  /** HTTP status, when there was an answer. */
  readonly status?: number;
  /** Why it failed without an answer (timeout, connection refused). */
  readonly error?: string;
  readonly ms: number;
}

/** What one run found and did for one location. */
export interface LocationHealth {
  readonly location: Location;
  readonly probes: number;
  /** Probes that got a 2xx in time. */
  readonly ok: number;
  readonly before: EdgeState;
  readonly after: EdgeState;
  readonly results: readonly ProbeResult[];
}

/** The report of one run. */
export interface HealthReport {
  /** When the run started (ISO-8601). */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly locations: readonly LocationHealth[];
  /** The locations marked down after the run. */
  readonly down: readonly Location[];
  /** Whether the run wrote the store. */
  readonly changed: boolean;
}

/** What a run needs. */
export interface CheckHealthProps {
  /** Base URL of the CDN, without a trailing slash. */
  readonly edgeUrl: string;
  /** The locations to probe. */
  readonly locations: readonly Location[];
  readonly probes: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly store: EdgeStore;
  /** @default the global fetch */
  readonly fetch?: typeof fetch;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default no logging */
  readonly logger?: Logger;
}

/** The decision rule: a unanimous run changes the state, a mixed one keeps it. */
export function nextState(before: EdgeState, ok: number, probes: number): EdgeState {
  if (ok === 0) return 'down';
  if (ok === probes) return 'up';
  return before;
}

/** Runs one health check: probes, decides, writes the store if the down set changed, logs the report. */
export async function checkHealth(props: CheckHealthProps): Promise<HealthReport> {
  if (props.locations.length === 0) throw new Error('checkHealth: no location to probe');
  if (!Number.isInteger(props.probes) || props.probes < 1)
    throw new Error('checkHealth: probes must be at least 1');
  const now = props.now ?? Date.now;
  const sleep = props.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  const doFetch = props.fetch ?? fetch;
  const started = now();

  const beforeDown = await readDown(props.store);
  const probeOnce = async (location: Location): Promise<ProbeResult> => {
    const t0 = now();
    try {
      const res = await doFetch(`${props.edgeUrl}${edgeHealthPath(location)}`, {
        method: 'GET',
        headers: { 'user-agent': 'trackstack-edge-health', 'cache-control': 'no-cache' },
        redirect: 'manual',
        signal: AbortSignal.timeout(props.timeoutMs),
      });
      // The body is read (and dropped) so that the connection is released and a slow body counts too.
      await res.arrayBuffer();
      return { ok: res.status >= 200 && res.status < 300, status: res.status, ms: now() - t0 };
    } catch (err) {
      const e = err as Error;
      const error = e.name === 'TimeoutError' ? `no answer within ${props.timeoutMs} ms` : e.message;
      return { ok: false, error, ms: now() - t0 };
    }
  };
  // Locations are probed at the same time; the probes of one location one after the other.
  const locations = await Promise.all(
    props.locations.map(async (location): Promise<LocationHealth> => {
      const results: ProbeResult[] = [];
      for (let i = 0; i < props.probes; i++) {
        if (i > 0) await sleep(props.intervalMs);
        results.push(await probeOnce(location));
      }
      const ok = results.filter((r) => r.ok).length;
      const before: EdgeState = beforeDown.includes(location) ? 'down' : 'up';
      return {
        location,
        probes: props.probes,
        ok,
        before,
        after: nextState(before, ok, props.probes),
        results,
      };
    }),
  );

  // Locations this check does not probe keep whatever state the store gives them.
  const down = LOCATIONS.filter((l) => {
    const checked = locations.find((h) => h.location === l);
    return checked ? checked.after === 'down' : beforeDown.includes(l);
  });
  const changed = down.join(',') !== beforeDown.join(',');
  if (changed) await writeDown(props.store, down);

  const report: HealthReport = {
    startedAt: new Date(started).toISOString(),
    durationMs: now() - started,
    locations,
    down,
    changed,
  };
  logReport(props.logger, report);
  return report;
}

function logReport(logger: Logger | undefined, report: HealthReport): void {
  if (!logger) return;
  for (const h of report.locations) {
    const fields = {
      location: h.location,
      probes: h.probes,
      ok: h.ok,
      before: h.before,
      after: h.after,
      failures: h.results.filter((r) => !r.ok).map((r) => r.error ?? `HTTP ${r.status}`),
    };
    const line = `${h.location}: ${h.ok}/${h.probes} probes ok, ${h.before} → ${h.after}`;
    if (h.before !== h.after) logger.warn(fields, line);
    else logger.info(fields, line);
  }
  logger.info(
    { down: report.down, changed: report.changed, durationMs: report.durationMs },
    report.changed ? `edge store updated: down = [${report.down.join(', ')}]` : 'edge store unchanged',
  );
}
