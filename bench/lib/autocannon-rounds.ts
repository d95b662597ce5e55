/**
 * Interleaved autocannon rounds over several targets (one server answering one route), the measuring core
 * of the HTTP section.
 *
 * Rounds are interleaved (node, express, ingest, then the next route, then the next round) so that drift of
 * the machine (thermal, other tenants, page cache) spreads over every target instead of biasing whichever
 * ran last; the caller reports each target's median round.
 *
 * Every run uses autocannon's `amount` mode, sized from the warm-up's rate to last about `roundSeconds`:
 * unlike a timed run, which destroys its sockets with up to one request per connection still in flight,
 * it waits for every answer, so the acknowledgements counted here are exactly those the server sent.
 */
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { RouteRequest } from './bench-routes';
import { cpuSnapshot, othersShare, processCpuMs } from './machine-load';

/** One server answering one route. */
export interface LoadTarget {
  /** Unique name, e.g. `pixel/ingest`. */
  readonly key: string;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /**
   * The request to send: one fixed request, or a builder called for every request with its sequence
   * number (for bodies that must differ, such as postbacks de-duplicated by click id).
   */
  readonly request: RouteRequest | ((seq: number) => RouteRequest);
  /** The status that acknowledges the request. */
  readonly ackStatus: number;
  /**
   * The server's process: when given, the CPU time it used per answered request is measured.
   * @default not measured
   */
  readonly pid?: number;
}

/** What one autocannon run observed. */
export interface LoadRun {
  readonly responses: number;
  /** Responses with the target's acknowledging status. */
  readonly acknowledged: number;
  /** Responses with another status (for the ingest service: not stored). */
  readonly otherStatus: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Share of the machine other processes used meanwhile (measured rounds only). */
  readonly othersShare?: number;
  /** CPU time of the server per answered request, in µs (measured rounds of targets with a pid only). */
  readonly serverCpuUs?: number;
}

/** The `p` quantile (0..1) of ascending `sorted` values, by the nearest-rank method; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length ? sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]! : NaN;
}

/** Sends exactly `amount` requests over `connections` keep-alive connections and waits for every answer. */
export function fire(
  target: LoadTarget,
  amount: number,
  connections: number,
  firstSeq = 0,
): Promise<LoadRun> {
  // autocannon keeps latencies in an integer-millisecond histogram; a 10 ms bar deserves finer p99s, so
  // every response time is kept here and the percentiles are computed exactly.
  const latencies = new Float64Array(amount);
  let responses = 0;
  let acknowledged = 0;
  let lastAt = 0;
  let seq = firstSeq;
  const startedAt = performance.now();
  const { request } = target;
  // A fixed request is built once by autocannon; only a builder pays a rebuild per request, in this process.
  const fixed = typeof request === 'function' ? undefined : request;
  const requests: autocannon.Request[] | undefined =
    typeof request === 'function'
      ? [{ setupRequest: (r) => ({ ...r, ...request(seq++) }) as autocannon.Request }]
      : undefined;
  return new Promise<LoadRun>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url + (fixed?.path ?? ''),
        connections,
        amount,
        timeout: 10,
        ...(fixed ? { method: fixed.method, headers: fixed.headers, body: fixed.body } : { requests }),
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const seconds = (lastAt - startedAt) / 1000;
        const sorted = latencies.subarray(0, Math.min(responses, amount)).sort();
        resolve({
          responses,
          acknowledged,
          otherStatus: responses - acknowledged,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
          rps: responses / seconds,
          p50Ms: quantile(sorted, 0.5),
          p99Ms: quantile(sorted, 0.99),
        });
      },
    );
    // The published types drop the first argument autocannon really emits (the client) on 'response'.
    (instance as unknown as EventEmitter).on(
      'response',
      (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
        if (responses < latencies.length) latencies[responses] = responseTimeMs;
        responses++;
        if (statusCode === target.ackStatus) acknowledged++;
        lastAt = performance.now();
      },
    );
  });
}

/** Settings of {@link runInterleavedRounds}. */
export interface RoundsOptions {
  readonly targets: readonly LoadTarget[];
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Processes whose CPU time is the servers' own (not "other processes"). */
  readonly serverPids: readonly number[];
  /** Called after each measured run, for progress lines. */
  readonly onRun?: (round: number, target: LoadTarget, run: LoadRun, warmRps: number) => void;
}

/** Everything a target saw, warm-ups included: what the stored counts must match. */
export interface TargetTotals {
  requests: number;
  acknowledged: number;
  errors: number;
}

/** Runs the interleaved rounds; returns each target's measured runs and its totals over every run. */
export async function runInterleavedRounds(
  options: RoundsOptions,
): Promise<{ runs: Map<string, LoadRun[]>; totals: Map<string, TargetTotals> }> {
  const rate = new Map<string, number>();
  const runs = new Map<string, LoadRun[]>(options.targets.map((t) => [t.key, []]));
  const totals = new Map<string, TargetTotals>(
    options.targets.map((t) => [t.key, { requests: 0, acknowledged: 0, errors: 0 }]),
  );
  const seqs = new Map<string, number>();
  const sized = (key: string, seconds: number) =>
    Math.max(options.connections * 20, Math.round((rate.get(key) ?? 0) * seconds));

  for (let r = 1; r <= options.rounds; r++) {
    for (const target of options.targets) {
      const load = async (amount: number) => {
        const seq = seqs.get(target.key) ?? 0;
        seqs.set(target.key, seq + amount);
        const run = await fire(target, amount, options.connections, seq);
        rate.set(target.key, run.rps);
        const t = totals.get(target.key)!;
        t.requests += run.responses;
        t.acknowledged += run.acknowledged;
        t.errors += run.errors;
        return run;
      };
      // The first warm-up of a target has no rate to size from: a fixed burst measures one, and the
      // warm-up repeats until it lasted long enough for the rate (and the JIT) to settle.
      if (!rate.has(target.key)) await load(options.connections * 40);
      let warm: LoadRun;
      let warmSeconds = 0;
      do {
        warm = await load(sized(target.key, options.warmupSeconds - warmSeconds));
        warmSeconds += warm.seconds;
      } while (warmSeconds < options.warmupSeconds * 0.8);
      const before = cpuSnapshot(options.serverPids);
      const serverBefore = target.pid === undefined ? undefined : processCpuMs(target.pid);
      const measured = await load(sized(target.key, options.roundSeconds));
      const serverAfter = target.pid === undefined ? undefined : processCpuMs(target.pid);
      const run: LoadRun = {
        ...measured,
        othersShare: othersShare(before, cpuSnapshot(options.serverPids)),
        ...(serverBefore !== undefined &&
          serverAfter !== undefined &&
          measured.responses > 0 && {
            serverCpuUs: ((serverAfter - serverBefore) * 1000) / measured.responses,
          }),
      };
      runs.get(target.key)!.push(run);
      options.onRun?.(r, target, run, warm.rps);
    }
  }
  return { runs, totals };
}
