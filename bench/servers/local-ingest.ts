/**
 * The ingest service as the bench's children run it: local mode on a data folder (file sink, local key
 * file, local directory), as `npm run local` runs it, on a free port, silent. Its per-IP, per-key and
 * postback limiters admit far more than a load from one IP with one key sends, so a run measures the
 * pipeline, not the limiters.
 */
import { parseIngestEnv } from '../../platform/contracts/ingest-env';
import { TokenBucketLimiter } from '../../services/ingest/src/pipeline/limits';
import { createRuntime, type Runtime } from '../../services/ingest/src/runtime';
import { startServer, type RunningServer } from '../../services/ingest/src/server';
import { INGEST_IP_RATE_PER_SECOND } from './child-protocol';

/** Starts the service on `dataDir`; resolves once it listens. */
export async function startLocalIngest(
  dataDir: string,
): Promise<{ runtime: Runtime; running: RunningServer }> {
  const env = parseIngestEnv({ TS_DATA_DIR: dataDir, TS_LOCAL_MODE: 'true', TS_LOG_LEVEL: 'silent' });
  const unlimited = () => new TokenBucketLimiter({ ratePerSecond: INGEST_IP_RATE_PER_SECOND });
  const runtime = await createRuntime(env, {
    ipLimiter: unlimited(),
    keyLimiter: unlimited(),
    postbackIpLimiter: unlimited(),
  });
  return { runtime, running: await startServer({ env, port: 0, runtime }) };
}
