/**
 * Section 3: the Lambda bundle (the bar "bundle"): its minified size, and how long a fresh node process
 * takes to `require` it, which is what a cold start pays before the handler runs.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIngest } from '../infra/build/bundle';
import { onExitCleanup } from './lib/cleanup';
import { atMost, heading, info, median, num, type Figure } from './lib/report';

/** Settings of {@link runBundleBench}. */
export interface BundleBenchOptions {
  /** Fresh processes that each require the bundle once. */
  readonly requires: number;
}

const SECTION = 'bundle';
const MAX_BYTES = 1_000_000;
const MAX_REQUIRE_MS = 250;

/** Requires `file` in a new node process and returns the milliseconds the require took. */
function coldRequireMs(file: string, cwd: string): number {
  const code =
    `const { performance } = require('node:perf_hooks');` +
    `const t = performance.now(); require(${JSON.stringify(file)});` +
    `process.stdout.write(String(performance.now() - t));`;
  // No TS_* variables and no NODE_OPTIONS loader of this process: a Lambda cold start has neither.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('TS_') && k !== 'NODE_OPTIONS') env[k] = v;
  const out = spawnSync(process.execPath, ['-e', code], { cwd, env, encoding: 'utf8', timeout: 30_000 });
  if (out.status !== 0)
    throw new Error(`requiring the bundle failed (${out.status ?? out.signal}): ${out.stderr}`);
  const ms = Number(out.stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`unexpected output of the require probe: ${out.stdout}`);
  return ms;
}

/** Runs section 3 and returns its figures. */
export async function runBundleBench(options: BundleBenchOptions): Promise<Figure[]> {
  heading('3. Lambda bundle (esbuild, minified)');
  // A temp folder, not dist/: the benchmark must not replace an artifact someone may be about to deploy.
  const outDir = await mkdtemp(join(tmpdir(), 'trackstack-bench-bundle-'));
  const unregister = onExitCleanup(() => rmSync(outDir, { recursive: true, force: true }));
  try {
    const started = Date.now();
    const { file, bytes } = await buildIngest(outDir);
    console.log(`built ${file} in ${num((Date.now() - started) / 1000, 2)} s`);
    console.log(`size: ${num(bytes)} bytes = ${num(bytes / 1024, 1)} KiB (bar ≤ ${num(MAX_BYTES)} bytes)`);

    const times: number[] = [];
    for (let i = 0; i < options.requires; i++) times.push(coldRequireMs(file, outDir));
    const med = median(times);
    console.log(
      `cold require in a fresh node (${options.requires}×): ${times.map((t) => num(t, 1)).join(', ')} ms; ` +
        `median ${num(med, 1)} ms (bar ≤ ${MAX_REQUIRE_MS} ms)`,
    );
    return [
      {
        ...atMost(SECTION, 'size (minified)', bytes, MAX_BYTES, ' B'),
        value: `${num(bytes)} B (${num(bytes / 1024, 1)} KiB)`,
      },
      atMost(SECTION, `cold require (median of ${options.requires})`, med, MAX_REQUIRE_MS, ' ms', 1),
      info(
        SECTION,
        'cold require min/max',
        `${num(Math.min(...times), 1)} / ${num(Math.max(...times), 1)} ms`,
      ),
    ];
  } finally {
    await rm(outDir, { recursive: true, force: true });
    unregister();
  }
}
