/**
 * The Cloud Storage adapter of {@link ObjectWriter}: one single-request upload per object, created only if
 * absent (`ifGenerationMatch: 0`), so a redelivered group never overwrites the object an earlier delivery
 * wrote. The bucket's CMEK default key encrypts it; no key is named here.
 *
 * Only types come from `@google-cloud/storage`: the entry point constructs the client, and the tests hand in
 * a stand-in (Cloud Storage has no emulator here).
 */
import type { SaveOptions } from '@google-cloud/storage';
import { ObjectExistsError, type ObjectWriter } from '../core/ports';

/** The part of the `Storage` client this adapter uses, so a stand-in need implement nothing else. */
export interface StorageClientLike {
  bucket(name: string): { file(name: string): { save(data: Buffer, options?: SaveOptions): Promise<void> } };
}

/** Content type of every object: newline-delimited JSON. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/** Properties of {@link GcsObjectWriter}. */
export interface GcsObjectWriterProps {
  /** The client (a `Storage`), owned by the caller. */
  readonly client: StorageClientLike;
  /** The regional event bucket, `names.gcpEventBucket(stage, location, project)`. */
  readonly bucket: string;
}

/** Thrown when Cloud Storage refused or failed a write other than for an existing object. */
export class GcsWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GcsWriteError';
  }
}

/** Writes objects into a Cloud Storage bucket. */
export class GcsObjectWriter implements ObjectWriter {
  /** The bucket written to. */
  readonly bucket: string;
  private readonly client: StorageClientLike;

  constructor(props: GcsObjectWriterProps) {
    if (!props.bucket) throw new Error('GcsObjectWriter: bucket is required');
    this.bucket = props.bucket;
    this.client = props.client;
  }

  /** @inheritdoc */
  async put(key: string, body: Buffer): Promise<void> {
    try {
      await this.client
        .bucket(this.bucket)
        .file(key)
        .save(body, {
          // One request: a group is at most a few MiB, and a resumable session would cost a second round trip.
          resumable: false,
          contentType: NDJSON_CONTENT_TYPE,
          preconditionOpts: { ifGenerationMatch: 0 },
        });
    } catch (err) {
      if ((err as { code?: unknown }).code === 412) {
        throw new ObjectExistsError(`gs://${this.bucket}/${key} exists already`, { cause: err });
      }
      throw new GcsWriteError(`gs://${this.bucket}/${key}: ${(err as Error).message}`, { cause: err });
    }
  }
}
