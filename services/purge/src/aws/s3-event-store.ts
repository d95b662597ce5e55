/**
 * A location's event bucket on AWS: ListObjectVersions to find every version and delete marker under an
 * account's prefix, DeleteObjects (at most 1,000 keys, `Quiet: false` so every key's outcome comes back)
 * to delete them.
 */
import { DeleteObjectsCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { compareKeys } from '../core/model';
import {
  MAX_DELETE_BATCH,
  type DeleteOutcome,
  type EventObjectStore,
  type StoredVersion,
  type VersionPage,
  type VersionRef,
} from '../core/ports';

/** Options of {@link S3EventObjectStore}. */
export interface S3EventObjectStoreProps {
  /** An S3 client in the bucket's region. */
  readonly client: S3Client;
  /** The location's event bucket. */
  readonly bucket: string;
  /** The location it serves. */
  readonly location: string;
}

/** Requests sent, for reports and the scale figures. */
export interface S3EventStoreCalls {
  listObjectVersions: number;
  deleteObjects: number;
  /** The most keys one DeleteObjects carried. */
  maxKeysPerDelete: number;
}

interface Cursor {
  readonly k: string;
  readonly v?: string;
}

/** An {@link EventObjectStore} over a versioned S3 bucket. */
export class S3EventObjectStore implements EventObjectStore {
  /** The location it serves. */
  readonly location: string;
  /** `s3://<bucket>` */
  readonly description: string;
  /** Requests sent so far. */
  readonly calls: S3EventStoreCalls = { listObjectVersions: 0, deleteObjects: 0, maxKeysPerDelete: 0 };
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(props: S3EventObjectStoreProps) {
    this.client = props.client;
    this.bucket = props.bucket;
    this.location = props.location;
    this.description = `s3://${props.bucket}`;
  }

  /** One ListObjectVersions page (versions and delete markers merged in key order). */
  async listVersions(
    prefix: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<VersionPage> {
    const cursor = options.cursor ? (JSON.parse(options.cursor) as Cursor) : undefined;
    this.calls.listObjectVersions += 1;
    const out = await this.client.send(
      new ListObjectVersionsCommand({
        Bucket: this.bucket,
        Prefix: prefix,
        MaxKeys: Math.min(options.limit ?? MAX_DELETE_BATCH, MAX_DELETE_BATCH),
        ...(cursor ? { KeyMarker: cursor.k, ...(cursor.v ? { VersionIdMarker: cursor.v } : {}) } : {}),
      }),
    );
    const versions: StoredVersion[] = [];
    for (const v of out.Versions ?? []) {
      if (v.Key === undefined) continue;
      versions.push({ key: v.Key, versionId: v.VersionId ?? 'null', deleteMarker: false, size: v.Size ?? 0 });
    }
    for (const m of out.DeleteMarkers ?? []) {
      if (m.Key === undefined) continue;
      versions.push({ key: m.Key, versionId: m.VersionId ?? 'null', deleteMarker: true, size: 0 });
    }
    // Stable: within a key, versions keep the order S3 gave them.
    versions.sort((a, b) => compareKeys(a.key, b.key));
    if (!out.IsTruncated || out.NextKeyMarker === undefined) return { versions };
    const next: Cursor = {
      k: out.NextKeyMarker,
      ...(out.NextVersionIdMarker ? { v: out.NextVersionIdMarker } : {}),
    };
    return { versions, next: JSON.stringify(next) };
  }

  /** One DeleteObjects request with `Quiet: false`: each key's success or error is reported. */
  async deleteVersions(refs: readonly VersionRef[]): Promise<DeleteOutcome> {
    if (refs.length === 0) return { deleted: [], errors: [] };
    // moto accepts more; S3 refuses the whole request with MalformedXML.
    if (refs.length > MAX_DELETE_BATCH) {
      throw new RangeError(`DeleteObjects takes at most ${MAX_DELETE_BATCH} keys, got ${refs.length}`);
    }
    this.calls.deleteObjects += 1;
    this.calls.maxKeysPerDelete = Math.max(this.calls.maxKeysPerDelete, refs.length);
    const out = await this.client.send(
      new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: {
          Quiet: false,
          // VersionId "null" addresses the version of an object written before versioning was enabled.
          Objects: refs.map((r) => ({ Key: r.key, VersionId: r.versionId })),
        },
      }),
    );
    // An error without a version id (some S3-compatible stores omit it) belongs to the one version of
    // that key in the request, if there is exactly one.
    const versionsByKey = new Map<string, string[]>();
    for (const r of refs) versionsByKey.set(r.key, [...(versionsByKey.get(r.key) ?? []), r.versionId]);
    const only = (key: string) => {
      const v = versionsByKey.get(key);
      return v?.length === 1 ? v[0] : undefined;
    };
    return {
      deleted: (out.Deleted ?? []).flatMap((d) =>
        d.Key === undefined ? [] : [{ key: d.Key, versionId: d.VersionId ?? only(d.Key) ?? 'null' }],
      ),
      errors: (out.Errors ?? []).flatMap((e) =>
        e.Key === undefined
          ? []
          : [
              {
                key: e.Key,
                versionId: e.VersionId ?? only(e.Key) ?? 'null',
                code: e.Code ?? 'Unknown',
                message: e.Message ?? '',
              },
            ],
      ),
    };
  }
}
