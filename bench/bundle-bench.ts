/**
 * Section 3: every bundle the build produces (`SERVICE_BUNDLES` in `infra/build/bundle.ts`), built with the
 * build's own API into a temp folder: its minified size, and its cold start in fresh node processes (the
 * `require`, and for the two ingest bundles the first pixel hit, answered on local-file adapters). The bars
 * (≤ 1 MB, cold require ≤ 250 ms) apply to the Lambda ingest bundle; the other figures are information.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_BUNDLES, buildService, type ServiceName } from '../infra/build/bundle';
import { REPO_ROOT } from '../infra/build/paths';
import { LocalDirectory } from '../services/shared/directory/local-directory';
import { seedDemo } from '../services/ingest/src/local/seed';
import { coldStart, type ColdStart, type FirstRequest } from './lib/cold-start';
import { onExitCleanup } from './lib/cleanup';
import { atMost, heading, info, median, num, table, type Figure } from './lib/report';

/** Settings of {@link runBundleBench}. */
export interface BundleBenchOptions {
  /** Fresh processes per ingest bundle (the others get `Math.min(3, requires)`). */
  readonly requires: number;
}

const SECTION = 'bundle';
const MAX_BYTES = 1_000_000;
const MAX_REQUIRE_MS = 250;

/** The first request each bundle's probe sends: a pixel hit for the two ingest bundles. */
const FIRST_REQUEST: Readonly<Record<ServiceName, FirstRequest>> = {
  ingest: 'lambda-function-url',
  'ingest-gcp': 'gcf-http',
  purge: 'none',
  'edge-health': 'none',
  'incident-contain': 'none',
  'writer-gcp': 'none',
  'purge-gcp': 'none',
};

const fmt = (values: readonly number[]) => (values.length ? num(median(values), 1) : '—');

/** Runs section 3 and returns its figures. */
export async function runBundleBench(options: BundleBenchOptions): Promise<Figure[]> {
  heading('3. Bundles (esbuild, minified): size and cold start in a fresh node');
  // A temp folder, not dist/: the benchmark must not replace an artifact someone may be about to deploy.
  const outDir = await mkdtemp(join(tmpdir(), 'trackstack-bench-bundle-'));
  const unregister = onExitCleanup(() => rmSync(outDir, { recursive: true, force: true }));
  try {
    const dataDir = join(outDir, 'data');
    await seedDemo(new LocalDirectory({ dataDir }), dataDir);
    // What a cold start sees: the stage, a local data folder (the embedded defaults) and, as the Lambda
    // runtime provides the AWS SDK and Cloud Build installs the Google packages, the repository's modules.
    const env = {
      TS_STAGE: 'dev',
      TS_DATA_DIR: dataDir,
      TS_SPOOL_DIR: join(dataDir, 'spool'),
      TS_LOG_LEVEL: 'silent',
      NODE_PATH: join(REPO_ROOT, 'node_modules'),
    };
    console.log(
      `each probe: a fresh node (no loader, no TS_* of this process) requires the bundle; the ingest bundles then ` +
        `answer a first GET /p.gif (Lambda: a Function URL event to handler; Cloud Functions: handler behind a bare ` +
        `http server) on local-file adapters. Medians of ${options.requires} probes for ingest, up to 3 for the others.`,
    );
    const rows: string[][] = [];
    const figures: Figure[] = [];
    for (const name of Object.keys(SERVICE_BUNDLES) as ServiceName[]) {
      const dir = join(outDir, name);
      const started = Date.now();
      let built: { file: string; bytes: number };
      try {
        built = await buildService(name, dir);
      } catch (err) {
        // One bundle that does not build (a change under way in its service) must not hide the others.
        const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
        console.log(`${name}: the build failed: ${message}`);
        rows.push([name, SERVICE_BUNDLES[name].cloud, '—', '—', '—', '—', '—', '—', 'BUILD FAILED']);
        const failedFigure: Figure = {
          section: SECTION,
          name: `${name} build`,
          value: message.slice(0, 60),
          bar: '',
          verdict: 'ERROR',
        };
        figures.push(failedFigure);
        continue;
      }
      const { file, bytes } = built;
      const buildSeconds = (Date.now() - started) / 1000;
      const first = FIRST_REQUEST[name];
      const probes = first === 'none' ? Math.min(3, options.requires) : options.requires;
      const runs: ColdStart[] = [];
      let error = '';
      for (let i = 0; i < probes && !error; i++) {
        try {
          runs.push(coldStart(file, first, dir, env));
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
        }
      }
      const requires = runs.map((r) => r.requireMs);
      const firsts = runs.flatMap((r) => (r.firstRequestMs === undefined ? [] : [r.firstRequestMs]));
      const statuses = [
        ...new Set(runs.flatMap((r) => (r.firstStatus === undefined ? [] : [r.firstStatus]))),
      ];
      rows.push([
        name,
        SERVICE_BUNDLES[name].cloud,
        num(bytes / 1024, 1),
        num(buildSeconds, 1),
        fmt(requires),
        requires.length ? `${num(Math.min(...requires), 1)}–${num(Math.max(...requires), 1)}` : '—',
        first === 'none' ? '—' : fmt(firsts),
        statuses.join(',') || '—',
        error ? 'ERROR' : '',
      ]);
      if (error) console.log(`${name}: ${error}`);
      if (name === 'ingest') {
        figures.push(
          { ...atMost(SECTION, 'ingest (Lambda) size', bytes, MAX_BYTES, ' B'), value: `${num(bytes)} B` },
          requires.length
            ? atMost(SECTION, 'ingest (Lambda) cold require', median(requires), MAX_REQUIRE_MS, ' ms', 1)
            : {
                section: SECTION,
                name: 'ingest (Lambda) cold require',
                value: 'failed',
                bar: '',
                verdict: 'ERROR',
              },
        );
      }
      figures.push(
        error
          ? {
              section: SECTION,
              name: `${name} cold start`,
              value: error.slice(0, 60),
              bar: '',
              verdict: 'ERROR',
            }
          : info(
              SECTION,
              `${name} require / first hit`,
              `${fmt(requires)} / ${first === 'none' ? '—' : `${fmt(firsts)} (${statuses.join(',')})`} ms`,
            ),
      );
    }
    console.log();
    console.log(
      table(
        ['bundle', 'cloud', 'KiB', 'build s', 'require ms', 'require min–max', 'first hit ms', 'status', ''],
        rows,
        '  rrrrrr ',
      ),
    );
    console.log(
      `bars (Lambda ingest): size ≤ ${num(MAX_BYTES)} B, cold require ≤ ${MAX_REQUIRE_MS} ms (median)`,
    );
    return figures;
  } finally {
    await rm(outDir, { recursive: true, force: true });
    unregister();
  }
}
