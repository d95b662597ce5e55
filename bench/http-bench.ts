/**
 * Section 1: throughput and latency of the pixel endpoint against two baselines (the bar "ingest
 * speed"), each server in its own child process, loaded by autocannon over loopback from this process.
 *
 * Rounds are interleaved (node, express, ingest, node, ...) so that drift of the machine (thermal, other
 * tenants, page cache) spreads over all three servers instead of biasing whichever ran last; the median
 * round of each server is reported.
 *
 * Every run uses autocannon's `amount` mode, sized from the warm-up's rate to last about `roundSeconds`:
 * unlike a timed run, which destroys its sockets with up to one request per connection still in flight,
 * it waits for every answer, so the 200s counted here are exactly the events the service acknowledged.
 */
import type { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../services/ingest/src/local/seed';
import { readFileSinkEvents } from '../services/ingest/src/sinks/file-sink';
import { startChildServer, type ChildServer } from './lib/child-server';
import { onExitCleanup } from './lib/cleanup';
import { cpuSnapshot, othersShare } from './lib/machine-load';
import { atLeast, atMost, heading, info, median, num, table, type Figure } from './lib/report';
import { INGEST_IP_RATE_PER_SECOND } from './servers/child-protocol';
import { BROWSER_USER_AGENT } from '../tooling/user-agent';

/** Settings of {@link runHttpBench}. */
export interface HttpBenchOptions {
  /** Measured rounds per server. */
  readonly rounds: number;
  /** Target length of a measured round. */
  readonly roundSeconds: number;
  /** Target length of the warm-up before each round. */
  readonly warmupSeconds: number;
  readonly connections: number;
  /** When set, the ingest child writes a CPU profile here. */
  readonly cpuProfDir?: string;
}

/** A pixel hit as the snippet sends it: account, campaign, event, page URL and a click id. */
export const PIXEL_PATH =
  `/p.gif?a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=impression` +
  '&u=https%3A%2F%2Fshop.example%2Fp%2F1&cid=abc123';

const SECTION = 'http';
const SERVERS = [
  { name: 'node', script: 'node-pixel.ts', label: 'bare node http' },
  { name: 'express', script: 'express-pixel.ts', label: 'bare express 5' },
  { name: 'ingest', script: 'ingest-pixel.ts', label: 'ingest /p.gif (local mode)' },
] as const;
type ServerName = (typeof SERVERS)[number]['name'];

/** What one autocannon run observed. */
interface LoadRun {
  readonly responses: number;
  readonly status200: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Share of the machine other processes used meanwhile (measured rounds only). */
  readonly othersShare?: number;
}

function pct(share: number | undefined): string {
  return share === undefined ? 'n/a' : `${num(share * 100)}%`;
}

/** Sends exactly `amount` requests over `connections` keep-alive connections and waits for every answer. */
function fire(url: string, amount: number, connections: number): Promise<LoadRun> {
  // autocannon keeps latencies in an integer-millisecond histogram; a 20 ms bar deserves finer p99s, so
  // every response time is kept here and the percentiles are computed exactly.
  const latencies = new Float64Array(amount);
  let responses = 0;
  let status200 = 0;
  let lastAt = 0;
  const startedAt = performance.now();
  return new Promise<LoadRun>((resolve, reject) => {
    const instance = autocannon(
      {
        url: url + PIXEL_PATH,
        connections,
        amount,
        timeout: 10,
        headers: {
          'user-agent': BROWSER_USER_AGENT,
          accept: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8',
          'accept-language': 'en-US,en;q=0.9',
          referer: 'https://shop.example/p/1',
        },
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const seconds = (lastAt - startedAt) / 1000;
        const sorted = latencies.subarray(0, responses).sort();
        const percentile = (p: number) =>
          sorted.length ? sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]! : NaN;
        resolve({
          responses,
          status200,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
          rps: responses / seconds,
          p50Ms: percentile(0.5),
          p99Ms: percentile(0.99),
        });
      },
    );
    // The published types drop the first argument autocannon really emits (the client) on 'response'.
    (instance as unknown as EventEmitter).on(
      'response',
      (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
        if (responses < latencies.length) latencies[responses] = responseTimeMs;
        responses++;
        if (statusCode === 200) status200++;
        lastAt = performance.now();
      },
    );
  });
}

/** Runs section 1 and returns its figures. */
export async function runHttpBench(options: HttpBenchOptions): Promise<Figure[]> {
  heading('1. Pixel throughput and latency (autocannon, loopback)');
  console.log(
    `${options.connections} connections, ${options.rounds} interleaved rounds of ~${options.roundSeconds} s per server, ` +
      `each after a ~${options.warmupSeconds} s warm-up; median round reported.`,
  );
  console.log(`request: GET ${PIXEL_PATH}`);
  console.log(`         user-agent: ${BROWSER_USER_AGENT}`);
  console.log(
    `note: the ingest service runs its real code, but its per-IP limiter is configured at ` +
      `${num(INGEST_IP_RATE_PER_SECOND)} req/s (TokenBucketLimiter override): all load comes from 127.0.0.1, ` +
      'and rate-limited pixels are answered without being stored, which would measure the wrong path.',
  );

  const dataDir = await mkdtemp(join(tmpdir(), 'trackstack-bench-ingest-'));
  const removeDataDir = onExitCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const children = new Map<ServerName, ChildServer>();
  try {
    for (const s of SERVERS) {
      const child = await startChildServer(s.name, s.script, {
        env: s.name === 'ingest' ? { BENCH_DATA_DIR: dataDir } : {},
        cpuProfDir: s.name === 'ingest' ? options.cpuProfDir : undefined,
      });
      children.set(s.name, child);
      console.log(`started ${s.label.padEnd(27)} pid ${child.pid} at ${child.url}`);
    }
    if (options.cpuProfDir) console.log(`CPU profile of the ingest child goes to ${options.cpuProfDir}`);

    const rate = new Map<ServerName, number>();
    const rounds = new Map<ServerName, LoadRun[]>(SERVERS.map((s) => [s.name, []]));
    const ingestTotals = { requests: 0, status200: 0, errors: 0 };
    const sized = (name: ServerName, seconds: number) =>
      Math.max(options.connections * 20, Math.round((rate.get(name) ?? 0) * seconds));
    const rows: string[][] = [];

    for (let r = 1; r <= options.rounds; r++) {
      for (const s of SERVERS) {
        const url = children.get(s.name)!.url;
        const load = async (amount: number) => {
          const run = await fire(url, amount, options.connections);
          rate.set(s.name, run.rps);
          if (s.name === 'ingest') {
            ingestTotals.requests += run.responses;
            ingestTotals.status200 += run.status200;
            ingestTotals.errors += run.errors;
          }
          return run;
        };
        // The first warm-up of a server has no rate to size from: a fixed burst measures one, and the
        // warm-up repeats until it lasted long enough for the rate (and the JIT) to settle.
        if (!rate.has(s.name)) await load(options.connections * 40);
        let warm: LoadRun;
        let warmSeconds = 0;
        do {
          warm = await load(sized(s.name, options.warmupSeconds - warmSeconds));
          warmSeconds += warm.seconds;
        } while (warmSeconds < options.warmupSeconds * 0.8);
        const pids = [...children.values()].map((c) => c.pid);
        const before = cpuSnapshot(pids);
        const measured = await load(sized(s.name, options.roundSeconds));
        const run: LoadRun = { ...measured, othersShare: othersShare(before, cpuSnapshot(pids)) };
        rounds.get(s.name)!.push(run);
        rows.push([
          String(r),
          s.name,
          num(run.rps),
          num(run.p50Ms, 2),
          num(run.p99Ms, 2),
          num(run.non2xx),
          num(run.errors),
          num(run.responses),
          num(run.seconds, 2),
          num(warm.rps),
          pct(run.othersShare),
        ]);
        console.log(
          `round ${r} ${s.name.padEnd(8)} ${num(run.rps).padStart(7)} req/s  p50 ${num(run.p50Ms, 2)} ms  ` +
            `p99 ${num(run.p99Ms, 2)} ms  non-2xx ${run.non2xx}  errors ${run.errors}  ` +
            `(${num(run.responses)} req in ${num(run.seconds, 2)} s; warm-up ${num(warm.rps)} req/s; ` +
            `other processes ${pct(run.othersShare)} of the CPUs)`,
        );
      }
    }

    console.log();
    console.log(
      table(
        [
          'round',
          'server',
          'req/s',
          'p50 ms',
          'p99 ms',
          'non-2xx',
          'errors',
          'requests',
          'seconds',
          'warm-up req/s',
          'others CPU',
        ],
        rows,
        'r rrrrrrrrr',
      ),
    );

    const med = (name: ServerName) => {
      const runs = rounds.get(name)!;
      return {
        rps: median(runs.map((x) => x.rps)),
        p99: median(runs.map((x) => x.p99Ms)),
        p50: median(runs.map((x) => x.p50Ms)),
        non2xx: runs.reduce((n, x) => n + x.non2xx, 0),
        errors: runs.reduce((n, x) => n + x.errors, 0),
      };
    };
    const m = { node: med('node'), express: med('express'), ingest: med('ingest') };
    console.log('\nmedians of the measured rounds:');
    console.log(
      table(
        ['server', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx (all rounds)', 'errors (all rounds)'],
        SERVERS.map((s) => [
          s.label,
          num(m[s.name].rps),
          num(m[s.name].p50, 2),
          num(m[s.name].p99, 2),
          num(m[s.name].non2xx),
          num(m[s.name].errors),
        ]),
        ' rrrrr',
      ),
    );
    const others = [...rounds.values()].flat().map((x) => x.othersShare ?? 0);
    const othersMax = Math.max(...others);
    if (othersMax > 0.1) {
      console.log(
        `warning: other processes used up to ${pct(othersMax)} of the CPUs during a round; ` +
          'figures of those rounds are lower and noisier than on an idle machine.',
      );
    }
    const vsExpress = m.ingest.rps / m.express.rps;
    const vsNode = m.ingest.rps / m.node.rps;
    console.log(
      `ingest/express = ${num(vsExpress, 2)} (bar ≥ 0.80)   ingest/node = ${num(vsNode, 2)} (goal ≥ 0.50)`,
    );

    // Acknowledged = stored: stopping the child drains it as SIGTERM does, then the segments are counted.
    const ingest = children.get('ingest')!;
    const { stats } = await ingest.stop();
    children.delete('ingest');
    const events = await readFileSinkEvents(join(dataDir, 'events'));
    const foreign = events.filter((e) => e.accountId !== DEMO_ACCOUNT_ID).length;
    const sample = events[0]?.data.toString('utf8').trim() ?? '';
    // The load's own IP and user agent must not appear in clear text: personal fields are sealed.
    const leaked = events.filter((e) => {
      const text = e.data.toString('utf8');
      return text.includes(BROWSER_USER_AGENT) || text.includes('127.0.0.1');
    }).length;
    console.log(
      `\ningest: ${num(ingestTotals.requests)} requests in all (warm-ups included), ${num(ingestTotals.status200)} ` +
        `answered 200, ${num(ingestTotals.errors)} connection errors; ${num(events.length)} events in the file sink ` +
        `(${num(foreign)} of another account, ${num(leaked)} with the IP or user agent in clear text)`,
    );
    console.log(`service counters at exit: ${JSON.stringify(stats ?? {})}`);
    console.log(`a stored event: ${sample.length > 400 ? sample.slice(0, 400) + '…' : sample}`);
    const acknowledgedStored = events.length === ingestTotals.status200;
    console.log(
      `acknowledged = stored: ${num(ingestTotals.status200)} 200s, ${num(events.length)} events → ` +
        (acknowledgedStored ? 'PASS' : 'MISS'),
    );

    return [
      info(SECTION, 'node req/s (median)', num(m.node.rps)),
      info(SECTION, 'express req/s (median)', num(m.express.rps)),
      info(SECTION, 'ingest req/s (median)', num(m.ingest.rps)),
      info(SECTION, 'node p99 (median)', `${num(m.node.p99, 2)} ms`),
      info(SECTION, 'express p99 (median)', `${num(m.express.p99, 2)} ms`),
      atLeast(SECTION, 'ingest/express req/s', vsExpress, 0.8, '', 2),
      atLeast(SECTION, 'ingest/node req/s (goal)', vsNode, 0.5, '', 2),
      atMost(SECTION, 'ingest p99 at 64 conns', m.ingest.p99, 20, ' ms', 2),
      info(SECTION, 'others CPU during rounds', `median ${pct(median(others))}, max ${pct(othersMax)}`),
      info(SECTION, 'non-2xx node/express/ingest', `${m.node.non2xx}/${m.express.non2xx}/${m.ingest.non2xx}`),
      {
        section: SECTION,
        name: 'acknowledged = stored',
        value: `${num(ingestTotals.status200)} / ${num(events.length)}`,
        bar: '200s = events',
        verdict: acknowledgedStored ? 'PASS' : 'MISS',
      },
      {
        section: SECTION,
        name: 'personal fields in clear',
        value: num(leaked),
        bar: '= 0',
        verdict: leaked === 0 ? 'PASS' : 'MISS',
      },
    ];
  } finally {
    for (const child of children.values()) await child.stop(10_000).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    removeDataDir();
  }
}
