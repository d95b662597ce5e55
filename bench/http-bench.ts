/**
 * Section 1: throughput and latency of the three ingest routes (pixel `GET /p.gif`, beacon `POST /collect`
 * with 10 events, postback `POST /postback` with an API key) against two baselines answering the same
 * routes (a bare node `http` server and a bare express app), each server in its own child process, loaded
 * by autocannon over loopback from this process in interleaved rounds (see `lib/autocannon-rounds.ts`).
 *
 * Each route gets an ingest child of its own, on its own data folder, so that after the run the events
 * the service acknowledged (answers counted here, and its own `hits` counter) can be compared route by
 * route with the events its file sink stored.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from './lib/child-server';
import {
  ACK_STATUS,
  BEACON_EVENTS,
  EVENTS_PER_REQUEST,
  ROUTE_NAMES,
  routeRequest,
  type RouteName,
} from './lib/bench-routes';
import { runInterleavedRounds, type LoadRun, type LoadTarget } from './lib/autocannon-rounds';
import { onExitCleanup } from './lib/cleanup';
import { atLeast, atMost, heading, info, median, num, table, type Figure } from './lib/report';
import { countStoredEvents } from './lib/stored-events';
import { INGEST_IP_RATE_PER_SECOND } from './servers/child-protocol';
import { BROWSER_USER_AGENT } from '../tooling/user-agent';

/** Settings of {@link runHttpBench}. */
export interface HttpBenchOptions {
  /** Measured rounds per server and route. */
  readonly rounds: number;
  /** Target length of a measured round. */
  readonly roundSeconds: number;
  /** Target length of the warm-up before each round. */
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Routes to load. @default every route */
  readonly routes?: readonly RouteName[];
  /** When set, the ingest children write CPU profiles here. */
  readonly cpuProfDir?: string;
}

/** The bars for the stored pixel path, against bare node `http` at 64 connections. */
export const PIXEL_RATIO_BAR = 0.5;
/** @see PIXEL_RATIO_BAR */
export const PIXEL_P99_BAR_MS = 10;
/** The earlier bar against express, kept for the pixel. */
const EXPRESS_RATIO_BAR = 0.8;

const SECTION = 'http';
const SERVERS = [
  { name: 'node', label: 'bare node http' },
  { name: 'express', label: 'bare express 5' },
  { name: 'ingest', label: 'ingest (local mode)' },
] as const;
type ServerName = (typeof SERVERS)[number]['name'];

const key = (route: RouteName, server: ServerName) => `${route}/${server}`;
const pct = (share: number | undefined) => (share === undefined ? 'n/a' : `${num(share * 100)}%`);

/**
 * The ingest child's garbage-collection pause time per request over the whole run (warm-ups included) and
 * its mean young-generation pause, from the counters it reports on stop; `undefined` without them.
 */
function gcPerRequest(
  stats: Record<string, number> | undefined,
  requests: number,
): { usPerRequest: number; scavengeMs: number } | undefined {
  if (!stats || stats.gcMinor === undefined || requests === 0) return undefined;
  const totalMs = (stats.gcMinorMs ?? 0) + (stats.gcMajorMs ?? 0);
  return {
    usPerRequest: (totalMs * 1000) / requests,
    scavengeMs: stats.gcMinor > 0 ? (stats.gcMinorMs ?? 0) / stats.gcMinor : 0,
  };
}

/** Median figures of one target. */
interface Medians {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly otherStatus: number;
  readonly errors: number;
  /** The server's CPU time per answered request, in µs; NaN when not measured. */
  readonly cpuUs: number;
}

function medians(runs: readonly LoadRun[]): Medians {
  const cpu = runs.flatMap((x) => (x.serverCpuUs === undefined ? [] : [x.serverCpuUs]));
  return {
    cpuUs: cpu.length > 0 ? median(cpu) : NaN,
    rps: median(runs.map((x) => x.rps)),
    p50: median(runs.map((x) => x.p50Ms)),
    p99: median(runs.map((x) => x.p99Ms)),
    otherStatus: runs.reduce((n, x) => n + x.otherStatus, 0),
    errors: runs.reduce((n, x) => n + x.errors, 0),
  };
}

/** Runs section 1 and returns its figures. */
export async function runHttpBench(options: HttpBenchOptions): Promise<Figure[]> {
  const routes = options.routes ?? ROUTE_NAMES;
  heading('1. Ingest routes: throughput, latency, acknowledged = stored (autocannon, loopback)');
  console.log(
    `${options.connections} connections, ${options.rounds} interleaved rounds of ~${options.roundSeconds} s per ` +
      `server and route, each after a ~${options.warmupSeconds} s warm-up; median round reported.`,
  );
  console.log(
    `routes: pixel GET /p.gif; beacon POST /collect (text/plain, ${BEACON_EVENTS} events, body hash); ` +
      'postback POST /postback (JSON, x-api-key, a new click id per request); user-agent: a desktop browser.',
  );
  console.log(
    `note: the ingest service runs its real code, but its per-IP, per-key and postback limiters admit ` +
      `${num(INGEST_IP_RATE_PER_SECOND)} req/s: all load comes from 127.0.0.1 with one key, and limited ` +
      'hits are not stored, which would measure the wrong path.',
  );

  const runId = randomBytes(4).toString('hex');
  const dataDirs = new Map<RouteName, string>();
  const removeDataDirs = onExitCleanup(() => {
    for (const dir of dataDirs.values()) rmSync(dir, { recursive: true, force: true });
  });
  const children = new Map<string, ChildServer>();
  try {
    const start = async (name: string, script: string, env: Record<string, string> = {}, prof = false) => {
      const child = await startChildServer(name, script, {
        env,
        cpuProfDir: prof ? options.cpuProfDir : undefined,
      });
      children.set(name, child);
      console.log(`started ${name.padEnd(16)} pid ${child.pid} at ${child.url}`);
      return child;
    };
    await start('node', 'node-baseline.ts');
    await start('express', 'express-baseline.ts');
    for (const route of routes) {
      const dir = await mkdtemp(join(tmpdir(), `trackstack-bench-${route}-`));
      dataDirs.set(route, dir);
      await start(`ingest-${route}`, 'ingest-local.ts', { BENCH_DATA_DIR: dir }, true);
    }
    if (options.cpuProfDir) console.log(`CPU profiles of the ingest children go to ${options.cpuProfDir}`);

    const targets: LoadTarget[] = [];
    for (const route of routes) {
      const ingest = children.get(`ingest-${route}`)!;
      const apiKey = ingest.ready.apiKey;
      if (!apiKey) throw new Error('the ingest child did not report the demo API key');
      for (const s of SERVERS) {
        const child = s.name === 'ingest' ? ingest : children.get(s.name)!;
        targets.push({
          key: key(route, s.name),
          url: child.url,
          // Postbacks differ per request (click ids); the others are one fixed request, built once.
          request:
            route === 'postback'
              ? (seq) => routeRequest(route, seq, apiKey, runId)
              : routeRequest(route, 0, apiKey, runId),
          ackStatus: ACK_STATUS[route],
          pid: child.pid,
        });
      }
    }

    const rows: string[][] = [];
    const { runs, totals } = await runInterleavedRounds({
      targets,
      rounds: options.rounds,
      roundSeconds: options.roundSeconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
      serverPids: [...children.values()].map((c) => c.pid),
      onRun: (r, target, run, warmRps) => {
        const cells = [
          String(r),
          target.key,
          num(run.rps),
          num(run.p50Ms, 2),
          num(run.p99Ms, 2),
          num(run.otherStatus),
          num(run.errors),
          num(run.responses),
          num(run.seconds, 2),
          num(warmRps),
          pct(run.othersShare),
          run.serverCpuUs === undefined ? 'n/a' : num(run.serverCpuUs, 1),
        ];
        rows.push(cells);
        console.log(
          `round ${r} ${target.key.padEnd(16)} ${cells[2]!.padStart(7)} req/s  p50 ${cells[3]} ms  p99 ${cells[4]} ms  ` +
            `other status ${cells[5]}  errors ${cells[6]}  (${cells[7]} req in ${cells[8]} s; warm-up ${cells[9]} req/s; ` +
            `other processes ${cells[10]} of the CPUs; server CPU ${cells[11]} µs/req)`,
        );
      },
    });
    console.log();
    console.log(
      table(
        [
          'round',
          'route/server',
          'req/s',
          'p50 ms',
          'p99 ms',
          'other status',
          'errors',
          'requests',
          'seconds',
          'warm-up req/s',
          'others CPU',
          'CPU µs/req',
        ],
        rows,
        'r rrrrrrrrrr',
      ),
    );

    const med = new Map<string, Medians>([...runs].map(([k, v]) => [k, medians(v)]));
    const m = (route: RouteName, server: ServerName) => med.get(key(route, server))!;
    console.log(
      '\nmedians of the measured rounds (ratio: req/s ÷ bare node req/s of the same route; CPU µs/req: ' +
        'CPU time the server used per answered request, which noise moves less than req/s):',
    );
    console.log(
      table(
        ['route', 'server', 'req/s', 'p50 ms', 'p99 ms', '÷ node', 'CPU µs/req', 'other status', 'errors'],
        routes.flatMap((route) =>
          SERVERS.map((s) => {
            const x = m(route, s.name);
            return [
              route,
              s.label,
              num(x.rps),
              num(x.p50, 2),
              num(x.p99, 2),
              num(x.rps / m(route, 'node').rps, 2),
              Number.isNaN(x.cpuUs) ? 'n/a' : num(x.cpuUs, 1),
              num(x.otherStatus),
              num(x.errors),
            ];
          }),
        ),
        '  rrrrrrr',
      ),
    );
    const others = [...runs.values()].flat().map((x) => x.othersShare ?? 0);
    const othersMax = Math.max(...others);
    if (othersMax > 0.1)
      console.log(
        `warning: other processes used up to ${pct(othersMax)} of the CPUs during a round; ` +
          'figures of those rounds are lower and noisier than on an idle machine.',
      );

    // Acknowledged = stored: stopping a child drains it as SIGTERM does, then its segments are counted.
    console.log('\nacknowledged = stored (every request of the run, warm-ups included):');
    const storedRows: string[][] = [];
    const figures: Figure[] = [];
    let leakedTotal = 0;
    for (const route of routes) {
      const ingest = children.get(`ingest-${route}`)!;
      const { stats } = await ingest.stop();
      children.delete(`ingest-${route}`);
      const t = totals.get(key(route, 'ingest'))!;
      const acknowledged = t.acknowledged * EVENTS_PER_REQUEST[route];
      const counted = stats?.hits;
      // The load's own IP and user agent must not appear in clear text: personal fields are sealed.
      const stored = await countStoredEvents(dataDirs.get(route)!, [BROWSER_USER_AGENT, '127.0.0.1']);
      leakedTotal += stored.inClearText;
      const equal = acknowledged > 0 && acknowledged === stored.total && counted === stored.total;
      const rejects = Object.entries(stats ?? {})
        .filter(([k, v]) => k.startsWith('rejects.') && v > 0)
        .map(([k, v]) => `${k.slice('rejects.'.length)} ${v}`)
        .join(', ');
      const gc = gcPerRequest(stats, t.requests);
      storedRows.push([
        route,
        num(t.requests),
        num(t.acknowledged),
        num(acknowledged),
        counted === undefined ? 'n/a' : num(counted),
        num(stored.total),
        num(stored.inClearText),
        gc ? gc.usPerRequest.toFixed(1) : 'n/a',
        gc ? gc.scavengeMs.toFixed(2) : 'n/a',
        rejects || 'none',
        equal ? 'PASS' : 'MISS',
      ]);
      if (gc)
        figures.push(
          info(
            SECTION,
            `${route} ingest GC µs/req, mean scavenge`,
            `${gc.usPerRequest.toFixed(1)} µs, ${gc.scavengeMs.toFixed(2)} ms`,
          ),
        );
      figures.push({
        section: SECTION,
        name: `${route}: acknowledged = stored`,
        value: `${num(acknowledged)} / ${num(stored.total)}`,
        bar: 'events acked = stored',
        verdict: equal ? 'PASS' : 'MISS',
      });
      if (route === 'pixel' || route === 'postback')
        console.log(
          `a stored ${route} event: ${stored.sample.length > 300 ? stored.sample.slice(0, 300) + '…' : stored.sample}`,
        );
    }
    console.log(
      table(
        [
          'route',
          'requests',
          'acked answers',
          'acked events',
          'service hits',
          'stored',
          'in clear',
          'GC µs/req',
          'scavenge ms',
          'rejects',
          'verdict',
        ],
        storedRows,
        ' rrrrrrrr  ',
      ),
    );

    const summary: Figure[] = [];
    for (const route of routes) {
      const [n, e, i] = [m(route, 'node'), m(route, 'express'), m(route, 'ingest')];
      summary.push(
        info(SECTION, `${route} req/s node/express/ingest`, `${num(n.rps)} / ${num(e.rps)} / ${num(i.rps)}`),
        info(
          SECTION,
          `${route} p99 node/express/ingest`,
          `${num(n.p99, 2)} / ${num(e.p99, 2)} / ${num(i.p99, 2)} ms`,
        ),
        info(
          SECTION,
          `${route} CPU µs/req node/express/ingest`,
          `${num(n.cpuUs, 1)} / ${num(e.cpuUs, 1)} / ${num(i.cpuUs, 1)}`,
        ),
      );
      if (route === 'pixel')
        summary.push(
          atLeast(SECTION, 'pixel ingest ÷ node req/s', i.rps / n.rps, PIXEL_RATIO_BAR, '', 2),
          atMost(
            SECTION,
            `pixel ingest p99 at ${options.connections} conns`,
            i.p99,
            PIXEL_P99_BAR_MS,
            ' ms',
            2,
          ),
          atLeast(SECTION, 'pixel ingest ÷ express req/s', i.rps / e.rps, EXPRESS_RATIO_BAR, '', 2),
        );
      else summary.push(info(SECTION, `${route} ingest ÷ node req/s`, num(i.rps / n.rps, 2)));
      if (EVENTS_PER_REQUEST[route] > 1)
        summary.push(info(SECTION, `${route} ingest events/s`, num(i.rps * EVENTS_PER_REQUEST[route])));
    }
    return [
      ...summary,
      ...figures,
      {
        section: SECTION,
        name: 'personal fields in clear',
        value: num(leakedTotal),
        bar: '= 0',
        verdict: leakedTotal === 0 ? 'PASS' : 'MISS',
      },
      info(SECTION, 'others CPU during rounds', `median ${pct(median(others))}, max ${pct(othersMax)}`),
    ];
  } finally {
    for (const child of children.values()) await child.stop(10_000).catch(() => undefined);
    for (const dir of dataDirs.values()) await rm(dir, { recursive: true, force: true });
    removeDataDirs();
  }
}
