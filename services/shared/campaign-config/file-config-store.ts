/**
 * The local config folder that `npm run local` serves the way the CDN serves the config bucket:
 * `<dataDir>/config/<accountId>/<campaignId>.json` (`CAMPAIGN_CONFIG` in `platform/layout.ts`). Written by
 * the local seed and `npm run publish-config` without `--stage`; emptied per account by the local purge.
 *
 * Campaign ids are unique per account only. Documents of the earlier global layout,
 * `<dataDir>/config/<campaignId>.json`, could therefore belong to any account of that id: one of them is
 * removed only when the account it names is the one being purged, so another account's is never touched.
 */
import { mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CAMPAIGN_CONFIG, type CampaignConfigDocument } from '../../../platform';
import {
  parseStoredConfig,
  assertAccountId,
  assertCampaignId,
  type ConfigStore,
  type DeletedConfigs,
} from './config-store';
import { validateCampaignConfig } from './render';

/** Options of {@link FileConfigStore}. */
export interface FileConfigStoreProps {
  /** The local store, `TS_DATA_DIR`: the folder `CAMPAIGN_CONFIG` paths are relative to. */
  readonly dataDir: string;
}

/** A {@link ConfigStore} over the local config folder. */
export class FileConfigStore implements ConfigStore {
  /** `file:<dataDir>/config/` */
  readonly description: string;
  private readonly dataDir: string;

  constructor(props: FileConfigStoreProps) {
    this.dataDir = resolve(props.dataDir);
    this.description = `file:${join(this.dataDir, CAMPAIGN_CONFIG.root)}`;
  }

  /** The file of a campaign's document. */
  file(accountId: string, campaignId: string): string {
    return join(this.dataDir, ...CAMPAIGN_CONFIG.path(accountId, campaignId).split('/'));
  }

  /** Reads a campaign's document; a missing file is `undefined`. */
  async get(accountId: string, campaignId: string): Promise<CampaignConfigDocument | undefined> {
    assertAccountId(accountId, 'no config read');
    assertCampaignId(campaignId, 'no config read');
    const path = CAMPAIGN_CONFIG.path(accountId, campaignId);
    let text: string;
    try {
      text = await readFile(this.file(accountId, campaignId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return parseStoredConfig(text, path);
  }

  /** Validates, then replaces the file atomically (a reader never sees half a document). */
  async put(doc: CampaignConfigDocument): Promise<void> {
    const valid = validateCampaignConfig(doc);
    const file = this.file(valid.accountId, valid.campaignId);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, `${JSON.stringify(valid, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  }

  /**
   * Removes `<dataDir>/config/<accountId>/` and every document of the earlier layout that names this
   * account; nothing there is fine.
   * @throws RangeError for a malformed account id, before touching anything: the id becomes a path
   */
  async deleteAccount(accountId: string): Promise<DeletedConfigs> {
    assertAccountId(accountId, 'no config folder removed');
    const folder = join(this.dataDir, ...CAMPAIGN_CONFIG.accountPrefix(accountId).split('/'));
    const documents = (await listJson(folder)).length;
    await rm(folder, { recursive: true, force: true });
    const legacy = await this.removeLegacyDocuments(accountId);
    return { deleted: documents + legacy, versions: documents + legacy };
  }

  private async removeLegacyDocuments(accountId: string): Promise<number> {
    const root = join(this.dataDir, ...CAMPAIGN_CONFIG.root.split('/'));
    let removed = 0;
    for (const name of await listJson(root)) {
      const file = join(root, name);
      let owner: unknown;
      try {
        owner = (JSON.parse(await readFile(file, 'utf8')) as { accountId?: unknown } | null)?.accountId;
      } catch {
        // Unreadable or not a config document: nothing says it is this account's, so it stays.
        continue;
      }
      if (owner !== accountId) continue;
      await unlink(file).then(
        () => (removed += 1),
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        },
      );
    }
    return removed;
  }
}

/** The `.json` files directly in a folder; none when it does not exist. */
async function listJson(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => e.name);
}
