/**
 * Subject (c): the real ingest service in local mode, started the way `npm run local` and the tests start it
 * (seeded demo account, file sink, local key file, local directory), with one change: the per-IP and per-key
 * limiters admit far more than a single-IP benchmark sends, so the run measures the pipeline, not the
 * limiters. It hands the demo API key (created while seeding) to the parent in its ready line. On stop it
 * drains like on SIGTERM (every acknowledged event flushed) and reports its counters and its garbage
 * collections.
 */
import { LocalDirectory } from '../../services/shared/directory/local-directory';
import { seedDemo } from '../../services/ingest/src/local/seed';
import { announceReady, announceStats, requiredEnv, stopWhenParentLets } from './child-protocol';
import { observeGc } from './gc-totals';
import { startLocalIngest } from './local-ingest';

async function main(): Promise<void> {
  const dataDir = requiredEnv('BENCH_DATA_DIR');
  const { apiKey } = await seedDemo(new LocalDirectory({ dataDir }), dataDir);
  if (!apiKey) throw new Error(`BENCH_DATA_DIR ${dataDir} was seeded before: its API key is lost`);
  const { runtime, running } = await startLocalIngest(dataDir);
  const gc = observeGc();
  stopWhenParentLets(async () => {
    await running.shutdown();
    announceStats({ ...runtime.metrics.snapshot(), ...gc() });
  });
  announceReady(Number(new URL(running.url).port), { apiKey });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
