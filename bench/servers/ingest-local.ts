/**
 * Subject (c): the real ingest service in local mode, started the way `npm run local` and the tests start it
 * (seeded demo account, file sink, local key file, local directory), with one change: the per-IP and per-key
 * limiters admit far more than a single-IP benchmark sends, so the run measures the pipeline, not the
 * limiters. It hands the demo API key (created while seeding) to the parent in its ready line. On stop it
 * drains like on SIGTERM (every acknowledged event flushed) and reports its counters.
 */
import { LocalDirectory } from '../../services/shared/directory/local-directory';
import { parseIngestEnv } from '../../platform/contracts/ingest-env';
import { seedDemo } from '../../services/ingest/src/local/seed';
import { TokenBucketLimiter } from '../../services/ingest/src/pipeline/limits';
import { createRuntime } from '../../services/ingest/src/runtime';
import { startServer } from '../../services/ingest/src/server';
import {
  INGEST_IP_RATE_PER_SECOND,
  announceReady,
  announceStats,
  requiredEnv,
  stopWhenParentLets,
} from './child-protocol';

async function main(): Promise<void> {
  const dataDir = requiredEnv('BENCH_DATA_DIR');
  const { apiKey } = await seedDemo(new LocalDirectory({ dataDir }), dataDir);
  if (!apiKey) throw new Error(`BENCH_DATA_DIR ${dataDir} was seeded before: its API key is lost`);
  const env = parseIngestEnv({ TS_DATA_DIR: dataDir, TS_LOCAL_MODE: 'true', TS_LOG_LEVEL: 'silent' });
  const unlimited = () => new TokenBucketLimiter({ ratePerSecond: INGEST_IP_RATE_PER_SECOND });
  const runtime = await createRuntime(env, {
    ipLimiter: unlimited(),
    keyLimiter: unlimited(),
    postbackIpLimiter: unlimited(),
  });
  const running = await startServer({ env, port: 0, runtime });
  stopWhenParentLets(async () => {
    await running.shutdown();
    announceStats(runtime.metrics.snapshot());
  });
  announceReady(Number(new URL(running.url).port), { apiKey });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
