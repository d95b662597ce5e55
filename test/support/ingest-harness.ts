/**
 * Starts the real ingest service on embedded defaults (file sink, local key file, local directory) in a
 * temporary folder, on a free loopback port, with the demo account seeded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectory } from '../../services/shared/directory/local-directory';
import { parseIngestEnv } from '../../platform/contracts/ingest-env';
import { seedDemo, type SeedResult } from '../../services/ingest/src/local/seed';
import { createRuntime, type RuntimeOverrides } from '../../services/ingest/src/runtime';
import { startServer, type RunningServer } from '../../services/ingest/src/server';

/** A running service and what was seeded. */
export interface IngestHarness {
  readonly url: string;
  readonly dataDir: string;
  readonly server: RunningServer;
  readonly seed: SeedResult & { apiKey: string };
  /** Shuts the server down and removes the folder. */
  close(): Promise<void>;
}

/** Starts a service; `env` adds or overrides `TS_*` variables. */
export async function startIngest(
  env: Record<string, string> = {},
  overrides: RuntimeOverrides = {},
): Promise<IngestHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trackstack-ingest-'));
  const seed = await seedDemo(new LocalDirectory({ dataDir }), dataDir);
  if (!seed.apiKey) throw new Error('seeding a fresh folder must create an API key');
  const parsed = parseIngestEnv({
    TS_DATA_DIR: dataDir,
    TS_LOCAL_MODE: 'true',
    TS_LOG_LEVEL: 'silent',
    ...env,
  });
  const runtime = await createRuntime(parsed, overrides);
  const server = await startServer({ env: parsed, port: 0, runtime });
  return {
    url: server.url,
    dataDir,
    server,
    seed: { ...seed, apiKey: seed.apiKey },
    async close() {
      await server.shutdown();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
