/**
 * The CDN's config bucket (in the edge stack, us-east-1): versioned, encrypted by its default SSE-KMS key,
 * read by CloudFront through origin access control. Documents are written with the headers the CDN passes
 * on to browsers; an account's documents are deleted with every version and delete marker, since a purge
 * that left old versions behind would leave the account's configs in the bucket.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { CAMPAIGN_CONFIG, type CampaignConfigDocument } from '../../../platform';
import {
  parseStoredConfig,
  assertAccountId,
  assertCampaignId,
  type ConfigStore,
  type DeletedConfigs,
} from './config-store';
import { validateCampaignConfig } from './render';

/** The region of the edge stack and its config bucket: CloudFront's own control plane region. */
export const CONFIG_BUCKET_REGION = 'us-east-1';

/** How long browsers and the CDN may keep a document: a publish reaches every viewer within a minute. */
export const CONFIG_CACHE_CONTROL = 'public, max-age=60';

/** Keys one DeleteObjects request may carry (S3 refuses more). */
export const MAX_DELETE_KEYS = 1000;

/**
 * An S3 client for the config bucket, from wherever the caller runs: the bucket is in us-east-1 and a purge
 * may run in another region, so redirects to the bucket's region are followed.
 * @param overrides extra client settings (tests: moto's endpoint and credentials)
 */
export function configBucketClient(overrides: Readonly<S3ClientConfig> = {}): S3Client {
  return new S3Client({ region: CONFIG_BUCKET_REGION, ...overrides, followRegionRedirects: true });
}

/** Options of {@link S3ConfigStore}. */
export interface S3ConfigStoreProps {
  /** The config bucket, the edge stack's output `ConfigBucketName`. */
  readonly bucket: string;
  /** @default configBucketClient() */
  readonly client?: S3Client;
}

/** A stored version or delete marker under an account's prefix. */
interface ListedVersion {
  readonly Key: string;
  readonly VersionId: string;
}

/** Some versions could not be deleted; those deleted before stay deleted and the caller may retry. */
export class ConfigDeletionError extends Error {
  constructor(
    message: string,
    /** `key@version: code` of each failure. */
    public readonly failures: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigDeletionError';
  }
}

/** A {@link ConfigStore} over the versioned config bucket. */
export class S3ConfigStore implements ConfigStore {
  /** `s3://<bucket>` */
  readonly description: string;
  /** Requests sent, for tests and reports. */
  readonly calls = { listObjectVersions: 0, deleteObjects: 0, maxKeysPerDelete: 0 };
  private readonly bucket: string;
  private readonly client: S3Client;

  constructor(props: S3ConfigStoreProps) {
    this.bucket = props.bucket;
    this.client = props.client ?? configBucketClient();
    this.description = `s3://${props.bucket}`;
  }

  /** GetObject of the document; `NoSuchKey` is `undefined`. */
  async get(accountId: string, campaignId: string): Promise<CampaignConfigDocument | undefined> {
    assertAccountId(accountId, 'no config read');
    assertCampaignId(campaignId, 'no config read');
    const key = CAMPAIGN_CONFIG.path(accountId, campaignId);
    let text: string;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await out.Body?.transformToString('utf-8')) ?? '';
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw new Error(`could not read ${this.description}/${key}: ${(err as Error).message}`, { cause: err });
    }
    return parseStoredConfig(text, key);
  }

  /**
   * Validates, then PutObject with the content type and cache lifetime the CDN serves it with. No
   * encryption header: the bucket's default (SSE-KMS with its key) applies, and a bucket policy may refuse
   * any other.
   */
  async put(doc: CampaignConfigDocument): Promise<void> {
    const valid = validateCampaignConfig(doc);
    const key = CAMPAIGN_CONFIG.path(valid.accountId, valid.campaignId);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: `${JSON.stringify(valid, null, 2)}\n`,
          ContentType: 'application/json',
          CacheControl: CONFIG_CACHE_CONTROL,
        }),
      );
    } catch (err) {
      throw new Error(`could not write ${this.description}/${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Lists the first page of versions and delete markers under `config/<accountId>/` and deletes it with one
   * DeleteObjects (at most 1,000 keys), until the listing comes back empty. Always the first page: the
   * versions before it are gone, so no cursor whose marker version was just deleted is ever needed.
   * @throws ConfigDeletionError when S3 reports versions it did not delete
   */
  async deleteAccount(accountId: string): Promise<DeletedConfigs> {
    assertAccountId(accountId, 'no configs deleted');
    const prefix = CAMPAIGN_CONFIG.accountPrefix(accountId);
    const keys = new Set<string>();
    const gone = new Set<string>();
    for (;;) {
      const page = await this.firstPage(prefix);
      if (page.length === 0) break;
      for (const v of page) {
        // Deleted a moment ago yet listed again: looping would never end.
        if (gone.has(`${v.Key}\u0000${v.VersionId}`))
          throw new ConfigDeletionError(
            `${this.description} still lists ${v.Key} (${v.VersionId}) after deleting it`,
            [`${v.Key}@${v.VersionId}: still listed`],
          );
      }
      this.calls.deleteObjects += 1;
      this.calls.maxKeysPerDelete = Math.max(this.calls.maxKeysPerDelete, page.length);
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Quiet: false, Objects: page.map((v) => ({ Key: v.Key, VersionId: v.VersionId })) },
        }),
      );
      const errors = out.Errors ?? [];
      if (errors.length > 0) {
        const failures = errors.map((e) => `${e.Key}@${e.VersionId ?? '?'}: ${e.Code ?? 'Unknown'}`);
        throw new ConfigDeletionError(
          `${errors.length} version(s) of ${accountId}'s configs in ${this.description} were not deleted: ${failures.slice(0, 5).join(', ')}`,
          failures,
        );
      }
      for (const v of page) {
        keys.add(v.Key);
        gone.add(`${v.Key}\u0000${v.VersionId}`);
      }
    }
    return { deleted: keys.size, versions: gone.size };
  }

  /** Up to 1,000 versions and delete markers under `prefix`, each checked to be under it. */
  private async firstPage(prefix: string): Promise<ListedVersion[]> {
    this.calls.listObjectVersions += 1;
    const out = await this.client.send(
      new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: prefix, MaxKeys: MAX_DELETE_KEYS }),
    );
    const page: ListedVersion[] = [];
    for (const v of [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]) {
      if (v.Key === undefined) continue;
      // A listing outside the prefix would make this delete another account's documents.
      if (!v.Key.startsWith(prefix))
        throw new Error(
          `${this.description} listed ${v.Key} for prefix ${prefix}; nothing of that page was deleted`,
        );
      // "null" addresses the version of an object written before versioning was enabled.
      page.push({ Key: v.Key, VersionId: v.VersionId ?? 'null' });
    }
    return page.slice(0, MAX_DELETE_KEYS);
  }
}
