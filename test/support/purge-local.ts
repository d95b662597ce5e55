/**
 * The purge job on embedded defaults in a temporary folder: the local directory, file sink tree, receipt
 * files and published configs, seeded with the world of `purge-world.ts`.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKeyProvider } from '../../services/ingest/src/crypto/local-key-provider';
import type { DataKeyService } from '../../services/ingest/src/crypto/data-keys';
import { LocalDirectory } from '../../services/shared/directory/local-directory';
import { PurgeJob, type PurgeJobProps } from '../../services/purge/src/core/purge-job';
import type { EventObjectStore } from '../../services/purge/src/core/ports';
import { ItemDirectoryPurgeStore } from '../../services/purge/src/directory-store';
import { FileConfigStore } from '../../services/purge/src/local/file-config-store';
import { FileEventObjectStore } from '../../services/purge/src/local/file-event-store';
import { FileReceiptStore } from '../../services/purge/src/local/file-receipt-store';
import { NOW, seedDirectory, seedLocalEvents, worldAccounts, type WorldAccount } from './purge-world';

/** A seeded local world. */
export interface LocalWorld {
  readonly dataDir: string;
  readonly accounts: Record<string, WorldAccount>;
  /** Data key services of the seeding (americas and europe keys are in the directory). */
  readonly keys: Record<string, DataKeyService>;
  /** Files and bytes seeded per account. */
  readonly events: Record<string, { files: number; bytes: number }>;
  /** A fresh directory instance on the world's file (as another process would have). */
  directory(): LocalDirectory;
  /** A job over fresh store instances; `props` override the defaults (clock at {@link NOW}, no sleeping). */
  job(props?: Partial<PurgeJobProps> & { wrapStore?: (s: EventObjectStore) => EventObjectStore }): PurgeJob;
  dispose(): Promise<void>;
}

/** The leftover file of the already purged account (a late delivery); the job must never touch it. */
export const PURGED_LEFTOVER = 'dt=2025-01-01/late.ndjson';

/**
 * Seeds the world into a new temporary folder.
 * @param options.extra accounts seeded besides those of {@link worldAccounts}, like them
 */
export async function localWorld(
  now: Date = NOW,
  options: { readonly extra?: readonly WorldAccount[] } = {},
): Promise<LocalWorld> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trackstack-purge-'));
  const accounts: Record<string, WorldAccount> = {
    ...worldAccounts(now),
    ...Object.fromEntries((options.extra ?? []).map((a) => [a.id, a])),
  };
  const provider = new LocalKeyProvider({ keyFile: join(dataDir, 'master.key') });
  const seedDir = new LocalDirectory({ dataDir });
  const keys = await seedDirectory(seedDir, Object.values(accounts), {
    americas: provider,
    europe: provider,
  });
  const live = Object.values(accounts)
    .filter((a) => a.status !== 'purged')
    .map((a) => a.id);
  const events = await seedLocalEvents(dataDir, keys.americas!, live);
  const leftover = join(dataDir, 'events', `account=${accounts.purged!.id}`, PURGED_LEFTOVER);
  await mkdir(join(leftover, '..'), { recursive: true });
  await writeFile(leftover, '{"late":true}\n');
  return {
    dataDir,
    accounts,
    keys,
    events,
    directory: () => new LocalDirectory({ dataDir }),
    job: ({ wrapStore, ...props } = {}) => {
      const store = new FileEventObjectStore({ rootDir: join(dataDir, 'events'), location: 'americas' });
      return new PurgeJob({
        directory: new ItemDirectoryPurgeStore({
          directory: new LocalDirectory({ dataDir }),
          description: 'file',
        }),
        objectStores: [wrapStore ? wrapStore(store) : store],
        receipts: new FileReceiptStore({ dir: join(dataDir, 'receipts') }),
        publishedConfigs: new FileConfigStore({ dataDir }),
        now: () => now,
        sleep: async () => undefined,
        ...props,
      });
    },
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
}
