/**
 * The campaign config documents that `npm run local` publishes where its "CDN" serves them,
 * `<dataDir>/config/<accountId>/<campaignId>.json` (`CAMPAIGN_CONFIG` in `infra/platform.ts`). The purge
 * removes an account's whole folder with its campaigns.
 *
 * Campaign ids are unique per account only. Documents of the earlier global layout,
 * `<dataDir>/config/<campaignId>.json`, could therefore belong to any account of that id: one of them is
 * removed only when the account it names is the one being purged, so another account's is never touched.
 */
import { readFile, readdir, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CAMPAIGN_CONFIG, ID_PATTERNS } from '../../../../platform';
import type { PublishedConfigStore } from '../core/ports';

/** Options of {@link FileConfigStore}. */
export interface FileConfigStoreProps {
  /** The local store, `TS_DATA_DIR`: the folder `CAMPAIGN_CONFIG` paths are relative to. */
  readonly dataDir: string;
}

/** A {@link PublishedConfigStore} over the local config folder. */
export class FileConfigStore implements PublishedConfigStore {
  private readonly dataDir: string;

  constructor(props: FileConfigStoreProps) {
    this.dataDir = resolve(props.dataDir);
  }

  /**
   * Removes `<dataDir>/config/<accountId>/` and every document of the earlier layout that names this
   * account; nothing there is fine.
   * @throws RangeError for a malformed account id, before touching anything: the id becomes a path
   */
  async removeAccount(accountId: string): Promise<void> {
    if (!ID_PATTERNS.account.test(accountId)) {
      throw new RangeError(`not an account id, no config folder removed: ${JSON.stringify(accountId)}`);
    }
    await rm(join(this.dataDir, ...CAMPAIGN_CONFIG.accountPrefix(accountId).split('/')), {
      recursive: true,
      force: true,
    });
    await this.removeLegacyDocuments(accountId);
  }

  private async removeLegacyDocuments(accountId: string): Promise<void> {
    const root = join(this.dataDir, ...CAMPAIGN_CONFIG.root.split('/'));
    const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
      throw err;
    });
    for (const e of entries) {
      if (!e.isFile() || !e.name.endsWith('.json')) continue;
      const file = join(root, e.name);
      let owner: unknown;
      try {
        owner = (JSON.parse(await readFile(file, 'utf8')) as { accountId?: unknown } | null)?.accountId;
      } catch {
        // Unreadable or not a config document: nothing says it is this account's, so it stays.
        continue;
      }
      if (owner !== accountId) continue;
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }
}
