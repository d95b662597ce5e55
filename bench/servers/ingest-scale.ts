/**
 * Subject of the scale section: the real ingest service in local mode (file sink, local key file, local
 * directory), as `npm run local` runs it, serving many accounts. With `BENCH_SEED_ACCOUNTS=<n>` it first
 * creates accounts `scaleAccountId(0..n-1)`, each with campaign `SCALE_CAMPAIGN_ID`. It samples its own
 * memory while it serves, and on stop drains like on SIGTERM and reports its counters and memory peaks.
 */
import { LocalDirectory } from '../../services/shared/directory/local-directory';
import { announceReady, announceStats, requiredEnv, stopWhenParentLets } from './child-protocol';
import { startLocalIngest } from './local-ingest';
import { SCALE_CAMPAIGN_ID, scaleAccountId } from '../lib/scale-accounts';

/** Accounts written to the directory at once while seeding (the local directory commits each write). */
const SEED_CONCURRENCY = 200;

async function seed(directory: LocalDirectory, accounts: number): Promise<void> {
  const createdAt = new Date().toISOString();
  for (let start = 0; start < accounts; start += SEED_CONCURRENCY) {
    const ids = Array.from({ length: Math.min(SEED_CONCURRENCY, accounts - start) }, (_, j) =>
      scaleAccountId(start + j),
    );
    await Promise.all(
      ids.map(async (accountId) => {
        await directory.putAccount({
          accountId,
          status: 'active',
          contactEmail: 'scale@example.com',
          createdAt,
        });
        await directory.putCampaign({
          campaignId: SCALE_CAMPAIGN_ID,
          accountId,
          name: 'Scale campaign',
          countAnonymous: true,
          allowedOrigins: [],
        });
      }),
    );
  }
}

async function main(): Promise<void> {
  const dataDir = requiredEnv('BENCH_DATA_DIR');
  const accounts = Number(process.env.BENCH_SEED_ACCOUNTS ?? '0');
  const seedStart = performance.now();
  if (accounts > 0) await seed(new LocalDirectory({ dataDir }), accounts);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const { runtime, running } = await startLocalIngest(dataDir);
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 100);
  stopWhenParentLets(async () => {
    await running.shutdown();
    clearInterval(sampler);
    sample();
    announceStats({ ...runtime.metrics.snapshot(), peakRss, peakHeap, seedSeconds });
  });
  announceReady(Number(new URL(running.url).port));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
