/**
 * The campaign config documents that `npm run local` publishes where its "CDN" serves them,
 * `<dataDir>/config/<campaign>.json` (see `publishCampaignConfig`). The purge removes them with the
 * account's campaigns.
 */
import { unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ID_PATTERNS } from '../../../../infra/platform';
import type { PublishedConfigStore } from '../core/ports';

/** Options of {@link FileConfigStore}. */
export interface FileConfigStoreProps {
  /** Folder of the published documents, `<dataDir>/config`. */
  readonly dir: string;
}

/** A {@link PublishedConfigStore} over the local config folder. */
export class FileConfigStore implements PublishedConfigStore {
  private readonly dir: string;

  constructor(props: FileConfigStoreProps) {
    this.dir = resolve(props.dir);
  }

  /** Removes `<dir>/<campaignId>.json`; a missing file is fine. */
  async remove(campaignId: string): Promise<void> {
    // The id becomes a file name: only well-formed campaign ids, so no path can escape the folder.
    if (!ID_PATTERNS.campaign.test(campaignId)) return;
    await unlink(join(this.dir, `${campaignId}.json`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
