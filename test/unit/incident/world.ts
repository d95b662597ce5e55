/**
 * A breach-response world on the local adapters in a temporary folder: the directory file with two
 * accounts (one with a contact address, one without) and their keys, the edge store file, the incident
 * file and the outbox, and the core over them with a settable clock.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '../../../services/shared/api-keys';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { FileEdgeStore } from '../../../services/shared/edge-store/file-edge-store';
import { IncidentService } from '../../../services/incident/src/core/incident-service';
import { ItemKeyDirectory } from '../../../services/incident/src/directory-store';
import { FileIncidentStore } from '../../../services/incident/src/local/file-incident-store';
import { OutboxNotifier } from '../../../services/incident/src/local/outbox-notifier';

/** The account with a contact address. */
export const SHOP = 'acc_shopworld01';
/** The account without one. */
export const SILENT = 'acc_silentshop1';
/** The world's starting time. */
export const T0 = new Date('2026-05-01T10:00:00.000Z');

/** A seeded world. */
export interface World {
  readonly dataDir: string;
  readonly directory: LocalDirectory;
  readonly edge: FileEdgeStore;
  readonly incidents: FileIncidentStore;
  readonly outbox: OutboxNotifier;
  readonly service: IncidentService;
  /** Key ids: two of SHOP, one of SILENT. */
  readonly keys: { readonly shop: string; readonly shop2: string; readonly silent: string };
  /** Moves the clock. */
  setNow(at: Date): void;
  /** Every file of the folder and its content: a refusal must leave it byte for byte. */
  snapshot(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** Creates a world. */
export async function createWorld(): Promise<World> {
  const dataDir = await mkdtemp(join(tmpdir(), 'incident-world-'));
  const directory = new LocalDirectory({ dataDir });
  await directory.putAccount({
    accountId: SHOP,
    status: 'active',
    contactEmail: 'security@shop.example',
    createdAt: '2026-01-01T00:00:00Z',
  });
  await directory.putAccount({ accountId: SILENT, status: 'active', createdAt: '2026-01-01T00:00:00Z' });
  const key = async (accountId: string) => {
    const k = generateApiKey();
    await directory.putApiKey({
      keyId: k.keyId,
      accountId,
      secretHash: k.secretHash,
      status: 'active',
      createdAt: '2026-01-01T00:00:00Z',
    });
    return k.keyId;
  };
  const keys = { shop: await key(SHOP), shop2: await key(SHOP), silent: await key(SILENT) };
  let now = T0;
  const edge = new FileEdgeStore({ dataDir });
  const incidents = new FileIncidentStore({ dataDir });
  const outbox = new OutboxNotifier(dataDir);
  const service = new IncidentService({
    incidents,
    directory: new ItemKeyDirectory(directory, `file:${directory.file}`),
    edge,
    notifier: outbox,
    now: () => now,
  });
  return {
    dataDir,
    directory,
    edge,
    incidents,
    outbox,
    service,
    keys,
    setNow: (at) => {
      now = at;
    },
    async snapshot() {
      const out: Record<string, string> = {};
      const walk = async (dir: string): Promise<void> => {
        for (const e of await readdir(dir, { withFileTypes: true })) {
          const path = join(dir, e.name);
          if (e.isDirectory()) await walk(path);
          else out[path.slice(dataDir.length)] = await readFile(path, 'utf8');
        }
      };
      await walk(dataDir);
      return out;
    },
    close: () => rm(dataDir, { recursive: true, force: true }),
  };
}
