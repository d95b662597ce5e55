/**
 * `npm run bench`: measures the figures that need a benchmark (the bars are in the README's Benchmark section) (ingest speed, KMS use, bundle)
 * and prints them next to their bars. It never fails on a missed bar, since timings depend on the machine;
 * it exits non-zero only when a section could not run.
 *
 * Environment:
 * - `BENCH_ROUND_SECONDS` (default 5), `BENCH_ROUNDS` (default 3): length and count of the HTTP rounds.
 * - `BENCH_CPU_PROF=<dir>`: the ingest child writes a V8 CPU profile there (open it in Chrome DevTools).
 * - `BENCH_ONLY=http,kms,bundle`: run only some sections.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { runBundleBench } from './bundle-bench';
import { runHttpBench } from './http-bench';
import { runKmsBench } from './kms-bench';
import { failed, printSummary, type Figure } from './lib/report';

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function main(): Promise<number> {
  const only = new Set((process.env.BENCH_ONLY ?? 'http,kms,bundle').split(',').map((s) => s.trim()));
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
          rounds: numberFromEnv('BENCH_ROUNDS', 3),
          roundSeconds: numberFromEnv('BENCH_ROUND_SECONDS', 5),
          warmupSeconds: 1,
          connections: 64,
          cpuProfDir: process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined,
        }),
    ],
    ['kms', () => runKmsBench({ hits: 100_000, accounts: 10, concurrency: 500 })],
    ['bundle', () => runBundleBench({ requires: 5 })],
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
