/**
 * `npm run bench`: measures the figures that need a benchmark (ingest speed per route, KMS use, bundles and
 * their cold starts, the event path at scale) and prints them next to their bars (the README's Benchmark
 * section). It never fails on a missed bar, since timings depend on the machine; it exits non-zero only when
 * a section could not run, and 2 on a bad flag.
 *
 * Flags (each may also come from its environment variable, the flag winning):
 * - `--rounds N` (`BENCH_ROUNDS`, default 3), `--round-seconds N` (`BENCH_ROUND_SECONDS`, default 3): count
 *   and length of the HTTP rounds (9 targets per round: 3 routes × 3 servers).
 * - `--routes pixel,beacon,postback` (`BENCH_ROUTES`): the HTTP routes to load.
 * - `--cpu-prof DIR` (`BENCH_CPU_PROF`): the ingest children write V8 CPU profiles there (open them in
 *   Chrome DevTools).
 * - `--only http,kms,bundle,scale` (`BENCH_ONLY`): run only some sections.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { UsageError, parseCommandLine, parseFlags, wholeNumber } from '../services/shared/cli';
import { runBundleBench } from './bundle-bench';
import { runHttpBench } from './http-bench';
import { runKmsBench } from './kms-bench';
import { runScaleBench } from './scale-bench';
import { ROUTE_NAMES, type RouteName } from './lib/bench-routes';
import { failed, printSummary, type Figure } from './lib/report';

const SECTIONS = ['http', 'kms', 'bundle', 'scale'] as const;

const USAGE = `Usage: npm run bench [-- --rounds N] [--round-seconds N] [--routes ${ROUTE_NAMES.join(',')}]
                       [--only ${SECTIONS.join(',')}] [--cpu-prof DIR]

Sections: http    pixel, beacon (10 events) and postback through the ingest service against bare node
                  http and bare express, req/s, p50, p99, ratios, acknowledged = stored
          kms     KMS calls under load (moto_server)
          bundle  every bundle's size and cold start (require, first request)
          scale   the event path with thousands of accounts

  --rounds N          measured HTTP rounds per server and route (default 3; env BENCH_ROUNDS)
  --round-seconds N   length of a measured HTTP round (default 3; env BENCH_ROUND_SECONDS)
  --routes LIST       HTTP routes to load, comma-separated (default all; env BENCH_ROUTES)
  --only LIST         sections to run, comma-separated (default all; env BENCH_ONLY)
  --cpu-prof DIR      the ingest children write V8 CPU profiles into DIR (env BENCH_CPU_PROF)
  --help              show this message`;

/** What the command line (and the environment) ask for. */
interface BenchArgs {
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly only: ReadonlySet<string>;
  readonly routes: readonly RouteName[];
  readonly cpuProfDir?: string;
  readonly help: boolean;
}

function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const values = parseFlags(argv, {
    rounds: { type: 'string' },
    'round-seconds': { type: 'string' },
    only: { type: 'string' },
    routes: { type: 'string' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const env = process.env;
  const only = (values.only ?? env.BENCH_ONLY ?? SECTIONS.join(',')).split(',').map((x) => x.trim());
  const unknown = only.filter((x) => !(SECTIONS as readonly string[]).includes(x));
  if (unknown.length > 0)
    throw new UsageError(
      `--only takes a comma-separated list of ${SECTIONS.join(', ')}; got "${unknown.join(',')}"`,
    );
  const routes = (values.routes ?? env.BENCH_ROUTES ?? ROUTE_NAMES.join(',')).split(',').map((x) => x.trim());
  const unknownRoutes = routes.filter((x) => !(ROUTE_NAMES as readonly string[]).includes(x));
  if (unknownRoutes.length > 0 || routes.length === 0)
    throw new UsageError(
      `--routes takes a comma-separated list of ${ROUTE_NAMES.join(', ')}; got "${unknownRoutes.join(',')}"`,
    );
  const cpuProf = values['cpu-prof'] ?? env.BENCH_CPU_PROF;
  return {
    rounds: wholeNumber('--rounds', values.rounds ?? env.BENCH_ROUNDS ?? '3', 1, 100),
    roundSeconds: wholeNumber(
      '--round-seconds',
      values['round-seconds'] ?? env.BENCH_ROUND_SECONDS ?? '3',
      1,
      600,
    ),
    only: new Set(only),
    // Each route once, in the section's order, whatever order the flag gave.
    routes: ROUTE_NAMES.filter((r) => routes.includes(r)),
    ...(cpuProf ? { cpuProfDir: resolve(cpuProf) } : {}),
    help: values.help === true,
  };
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function main(): Promise<number> {
  const args = parseCommandLine(process.argv.slice(2), parseBenchArgs, USAGE);
  if (typeof args === 'number') return args;
  const only = args.only;
  const started = Date.now();
  console.log(
    `Trackstack benchmark — node ${process.version}, ${availableParallelism()} cores ` +
      `(${cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString()}, load average ${loadAverage()}`,
  );
  console.log('Figures are printed, never asserted: compare them with the bars in the README.');

  const sections: Array<[string, () => Promise<Figure[]>]> = [
    [
      'http',
      () =>
        runHttpBench({
          rounds: args.rounds,
          roundSeconds: args.roundSeconds,
          warmupSeconds: 1,
          connections: 64,
          routes: args.routes,
          cpuProfDir: args.cpuProfDir,
        }),
    ],
    ['kms', () => runKmsBench({ hits: 100_000, accounts: 10, concurrency: 500 })],
    ['bundle', () => runBundleBench({ requires: 5 })],
    ['scale', () => runScaleBench({ accounts: 5_000, hitsPerAccount: 4, connections: 64 })],
  ];

  const figures: Figure[] = [];
  let crashed = 0;
  for (const [name, run] of sections) {
    if (!only.has(name)) continue;
    try {
      figures.push(...(await run()));
    } catch (err) {
      // The other sections still run: one broken dependency (say, moto missing) should not hide the rest.
      crashed++;
      console.error(`\nsection ${name} crashed:`, err);
      figures.push(failed(name, err));
    }
  }
  printSummary(figures);
  const misses = figures.filter((f) => f.verdict === 'MISS').length;
  console.log(
    `\n${figures.filter((f) => f.verdict === 'PASS').length} PASS, ${misses} MISS, ${crashed} crashed section(s); ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s in all; load average ${loadAverage()}.`,
  );
  return crashed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
