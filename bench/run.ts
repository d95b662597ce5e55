/**
 * `npm run bench`: measures the figures that need a benchmark (ingest speed, KMS use, bundle) and prints
 * them next to their bars (the README's Benchmark section). It never fails on a missed bar, since timings
 * depend on the machine; it exits non-zero only when a section could not run, and 2 on a bad flag.
 *
 * Flags (each may also come from its environment variable, the flag winning):
 * - `--rounds N` (`BENCH_ROUNDS`, default 3), `--round-seconds N` (`BENCH_ROUND_SECONDS`, default 5): count
 *   and length of the HTTP rounds.
 * - `--cpu-prof DIR` (`BENCH_CPU_PROF`): the ingest child writes a V8 CPU profile there (open it in Chrome
 *   DevTools).
 * - `--only http,kms,bundle,scale` (`BENCH_ONLY`): run only some sections.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { UsageError, parseCommandLine, parseFlags, wholeNumber } from '../services/shared/cli';
import { runBundleBench } from './bundle-bench';
import { runHttpBench } from './http-bench';
import { runKmsBench } from './kms-bench';
import { runScaleBench } from './scale-bench';
import { failed, printSummary, type Figure } from './lib/report';

const SECTIONS = ['http', 'kms', 'bundle', 'scale'] as const;

const USAGE = `Usage: npm run bench [-- --rounds N] [--round-seconds N] [--only ${SECTIONS.join(',')}] [--cpu-prof DIR]

  --rounds N          measured HTTP rounds per server (default 3; env BENCH_ROUNDS)
  --round-seconds N   length of a measured round (default 5; env BENCH_ROUND_SECONDS)
  --only LIST         sections to run, comma-separated (default all; env BENCH_ONLY)
  --cpu-prof DIR      the ingest child writes a V8 CPU profile into DIR (env BENCH_CPU_PROF)
  --help              show this message`;

/** What the command line (and the environment) ask for. */
interface BenchArgs {
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly only: ReadonlySet<string>;
  readonly cpuProfDir?: string;
  readonly help: boolean;
}

function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const values = parseFlags(argv, {
    rounds: { type: 'string' },
    'round-seconds': { type: 'string' },
    only: { type: 'string' },
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
  const cpuProf = values['cpu-prof'] ?? env.BENCH_CPU_PROF;
  return {
    rounds: wholeNumber('--rounds', values.rounds ?? env.BENCH_ROUNDS ?? '3', 1, 100),
    roundSeconds: wholeNumber(
      '--round-seconds',
      values['round-seconds'] ?? env.BENCH_ROUND_SECONDS ?? '5',
      1,
      600,
    ),
    only: new Set(only),
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
