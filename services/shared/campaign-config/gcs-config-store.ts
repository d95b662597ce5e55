/**
 * The GCP stage's config bucket (`names.gcpConfigBucket(stage, project)`, one per stage, behind the load
 * balancer's CDN backend bucket): the same object keys as the AWS config bucket
 * (`config/<accountId>/<campaignId>.json`), written with the same content type and cache lifetime. The
 * bucket is versioned, so an account's documents are deleted generation by generation: a purge that left
 * noncurrent generations behind would leave the account's configs in the bucket.
 *
 * The adapter talks to the few `@google-cloud/storage` methods named in {@link GcsBucketLike}, so tests
 * hand it a stand-in (Cloud Storage has no emulator here).
 */
import { CAMPAIGN_CONFIG, type CampaignConfigDocument } from '../../../platform';
import {
  assertAccountId,
  assertCampaignId,
  parseStoredConfig,
  type ConfigStore,
  type DeletedConfigs,
} from './config-store';
import { validateCampaignConfig } from './render';
import { CONFIG_CACHE_CONTROL } from './s3-config-store';

/** An object (at one generation) of the bucket, as far as this store uses it. */
export interface GcsFileLike {
  readonly name: string;
  readonly metadata: { readonly generation?: string | number };
  save(
    data: string | Buffer,
    options: { contentType: string; metadata: { cacheControl: string }; resumable: false },
  ): Promise<void>;
  download(): Promise<[Buffer]>;
  delete(options?: { ignoreNotFound?: boolean }): Promise<unknown>;
  exists(): Promise<[boolean]>;
}

/** The bucket, as far as this store uses it: `Storage.bucket(name)` of `@google-cloud/storage` fits. */
export interface GcsBucketLike {
  readonly name: string;
  file(name: string, options?: { generation?: string | number }): GcsFileLike;
  getFiles(query: {
    prefix: string;
    versions: boolean;
    autoPaginate: boolean;
  }): Promise<[GcsFileLike[], ...unknown[]]>;
}

/** Options of {@link GcsConfigStore}. */
export interface GcsConfigStoreProps {
  /** The config bucket. */
  readonly bucket: GcsBucketLike;
}

/** A {@link ConfigStore} over the GCP config bucket. */
export class GcsConfigStore implements ConfigStore {
  /** `gs://<bucket>` */
  readonly description: string;
  private readonly bucket: GcsBucketLike;

  constructor(props: GcsConfigStoreProps) {
    this.bucket = props.bucket;
    this.description = `gs://${props.bucket.name}`;
  }

  async get(accountId: string, campaignId: string): Promise<CampaignConfigDocument | undefined> {
    assertAccountId(accountId, 'no config read');
    assertCampaignId(campaignId, 'no config read');
    const key = CAMPAIGN_CONFIG.path(accountId, campaignId);
    let text: string;
    try {
      const [bytes] = await this.bucket.file(key).download();
      text = bytes.toString('utf8');
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw new Error(`could not read ${this.description}/${key}: ${(err as Error).message}`, { cause: err });
    }
    return parseStoredConfig(text, key);
  }

  /** Validates, then writes the object with the content type and cache lifetime the CDN serves it with. */
  async put(doc: CampaignConfigDocument): Promise<void> {
    const valid = validateCampaignConfig(doc);
    const key = CAMPAIGN_CONFIG.path(valid.accountId, valid.campaignId);
    try {
      // Not resumable: a document is a few hundred bytes, and a resumable upload costs an extra request.
      await this.bucket.file(key).save(`${JSON.stringify(valid, null, 2)}\n`, {
        contentType: 'application/json',
        metadata: { cacheControl: CONFIG_CACHE_CONTROL },
        resumable: false,
      });
    } catch (err) {
      throw new Error(`could not write ${this.description}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Deletes every generation under `config/<accountId>/`, each checked to be under that prefix first. */
  async deleteAccount(accountId: string): Promise<DeletedConfigs> {
    assertAccountId(accountId, 'no configs deleted');
    const prefix = CAMPAIGN_CONFIG.accountPrefix(accountId);
    const [files] = await this.bucket.getFiles({ prefix, versions: true, autoPaginate: true });
    for (const f of files)
      if (!f.name.startsWith(prefix))
        throw new Error(`${this.description} listed ${f.name} for prefix ${prefix}; nothing was deleted`);
    const keys = new Set<string>();
    for (const f of files) {
      const generation = f.metadata.generation;
      await this.bucket
        .file(f.name, generation !== undefined ? { generation } : {})
        .delete({ ignoreNotFound: true });
      keys.add(f.name);
    }
    return { deleted: keys.size, versions: files.length };
  }
}
