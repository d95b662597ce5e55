/**
 * A location's event bucket on Cloud Storage: every object generation under an account's prefix is listed
 * (`versions: true`, so noncurrent generations kept by object versioning are purged too) and each one is
 * deleted by generation. Cloud Storage has no delete markers and no batch delete, so a "batch" of the
 * port is a bounded number of concurrent per-generation deletes, each reported on its own.
 */
import {
  MAX_DELETE_BATCH,
  type DeleteOutcome,
  type EventObjectStore,
  type StoredVersion,
  type VersionError,
  type VersionPage,
  type VersionRef,
} from '../core/ports';
import { compareKeys } from '../core/model';

/** The part of a `@google-cloud/storage` File the store uses. */
export interface GcsFileLike {
  readonly name: string;
  readonly metadata: { generation?: string | number; size?: string | number };
  delete(options?: { ifGenerationMatch?: number | string }): Promise<unknown>;
}

/** The part of a `@google-cloud/storage` Bucket the store uses. */
export interface GcsBucketLike {
  readonly name: string;
  getFiles(query: {
    prefix: string;
    versions: boolean;
    autoPaginate: boolean;
    maxResults: number;
    pageToken?: string;
  }): Promise<[GcsFileLike[], { pageToken?: string } | null | undefined, ...unknown[]]>;
  file(name: string, options?: { generation?: number | string }): GcsFileLike;
}

/** Options of {@link GcsEventObjectStore}. */
export interface GcsEventObjectStoreProps {
  /** The location's event bucket (`storage.bucket(name)`). */
  readonly bucket: GcsBucketLike;
  /** The location it serves. */
  readonly location: string;
  /**
   * Deletes in flight at once within one batch.
   * @default 16
   */
  readonly concurrency?: number;
}

/** Requests sent, for reports and tests. */
export interface GcsEventStoreCalls {
  listPages: number;
  deletes: number;
}

/** The HTTP status of a Google API error, if it carries one. */
export function gcsErrorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** An {@link EventObjectStore} over a Cloud Storage bucket with object versioning. */
export class GcsEventObjectStore implements EventObjectStore {
  /** The location it serves. */
  readonly location: string;
  /** `gs://<bucket>` */
  readonly description: string;
  /** Requests sent so far. */
  readonly calls: GcsEventStoreCalls = { listPages: 0, deletes: 0 };
  private readonly bucket: GcsBucketLike;
  private readonly concurrency: number;

  /** @throws RangeError when the concurrency is not a positive whole number */
  constructor(props: GcsEventObjectStoreProps) {
    const concurrency = props.concurrency ?? 16;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be ≥ 1, got ${concurrency}`);
    }
    this.bucket = props.bucket;
    this.location = props.location;
    this.concurrency = concurrency;
    this.description = `gs://${props.bucket.name}`;
  }

  /** One page of generations (the cursor is the listing's page token). */
  async listVersions(
    prefix: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<VersionPage> {
    this.calls.listPages += 1;
    const [files, next] = await this.bucket.getFiles({
      prefix,
      versions: true,
      autoPaginate: false,
      maxResults: Math.min(options.limit ?? MAX_DELETE_BATCH, MAX_DELETE_BATCH),
      ...(options.cursor ? { pageToken: options.cursor } : {}),
    });
    const versions: StoredVersion[] = [];
    for (const f of files) {
      // The prefix guard of the core relies on this too: never hand back a name outside the prefix.
      if (!f.name.startsWith(prefix)) continue;
      const generation = f.metadata.generation;
      if (generation === undefined) continue;
      versions.push({
        key: f.name,
        versionId: String(generation),
        deleteMarker: false,
        size: Number(f.metadata.size ?? 0),
      });
    }
    versions.sort((a, b) => compareKeys(a.key, b.key));
    return next?.pageToken ? { versions, next: next.pageToken } : { versions };
  }

  /** Deletes each generation (404: already gone, counted as deleted), at most `concurrency` at once. */
  async deleteVersions(refs: readonly VersionRef[]): Promise<DeleteOutcome> {
    if (refs.length > MAX_DELETE_BATCH) {
      throw new RangeError(`a delete batch takes at most ${MAX_DELETE_BATCH} keys, got ${refs.length}`);
    }
    const deleted: VersionRef[] = [];
    const errors: VersionError[] = [];
    let index = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const ref = refs[index++];
        if (ref === undefined) return;
        if (!/^\d+$/.test(ref.versionId)) {
          errors.push({ ...ref, code: 'InvalidGeneration', message: `not a generation: ${ref.versionId}` });
          continue;
        }
        this.calls.deletes += 1;
        try {
          // Addressed by generation: only that generation goes, never a newer live object.
          await this.bucket
            .file(ref.key, { generation: ref.versionId })
            .delete({ ifGenerationMatch: ref.versionId });
          deleted.push({ key: ref.key, versionId: ref.versionId });
        } catch (err) {
          const status = gcsErrorCode(err);
          if (status === 404) deleted.push({ key: ref.key, versionId: ref.versionId });
          else
            errors.push({
              ...ref,
              code: status === undefined ? 'Unknown' : String(status),
              message: (err as Error).message ?? '',
            });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, refs.length) }, worker));
    return { deleted, errors };
  }
}
