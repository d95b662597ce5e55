/**
 * Purge receipts in a Cloud Storage bucket whose retention policy the infrastructure sets and locks: no
 * one can delete or replace an object there before its retention lapses. The store writes each receipt
 * once (`ifGenerationMatch: 0`: only if no live object has that name), so even within the job a receipt
 * is never overwritten; an identical receipt found there counts as written (a run killed after writing it).
 */
import type { AuditReceipt, PurgeReceipt, SweepReceipt } from '../core/model';
import type { ReceiptStore } from '../core/ports';
import { auditReceiptKey, receiptJson } from '../core/receipt';
import { RECEIPTS } from '../../../../platform';
import { gcsErrorCode } from './gcs-event-store';

/** The part of a `@google-cloud/storage` File the store uses. */
export interface GcsReceiptFileLike {
  save(
    data: string,
    options: { contentType: string; resumable: boolean; preconditionOpts: { ifGenerationMatch: number } },
  ): Promise<unknown>;
  download(): Promise<[Buffer, ...unknown[]]>;
}

/** The part of a `@google-cloud/storage` Bucket the store uses. */
export interface GcsReceiptBucketLike {
  readonly name: string;
  file(name: string): GcsReceiptFileLike;
}

/** A write-once {@link ReceiptStore} in Cloud Storage. */
export class GcsReceiptStore implements ReceiptStore {
  /** `gs://<bucket>` */
  readonly description: string;
  private readonly bucket: GcsReceiptBucketLike;

  constructor(bucket: GcsReceiptBucketLike) {
    this.bucket = bucket;
    this.description = `gs://${bucket.name}`;
  }

  /**
   * Writes the receipt under `receipts/<accountId>/<purgeId>.json` (a sweep's: `.sweep.json`) if nothing
   * is there; an identical existing one is accepted, a different one refused.
   */
  async write(receipt: AuditReceipt): Promise<string> {
    const key = auditReceiptKey(receipt);
    const body = receiptJson(receipt);
    const where = `gs://${this.bucket.name}/${key}`;
    try {
      await this.bucket.file(key).save(body, {
        contentType: 'application/json',
        resumable: false,
        preconditionOpts: { ifGenerationMatch: 0 },
      });
    } catch (err) {
      if (gcsErrorCode(err) !== 412) throw new Error(`could not write the receipt ${where}`, { cause: err });
      const existing = await this.readText(key);
      if (existing !== body)
        throw new Error(`a different receipt already exists at ${where}; receipts are never replaced`);
    }
    return where;
  }

  /** Reads a purge receipt back. */
  async read(accountId: string, purgeId: string): Promise<PurgeReceipt | undefined> {
    const text = await this.readText(RECEIPTS.purgeKey(accountId, purgeId));
    return text === undefined ? undefined : (JSON.parse(text) as PurgeReceipt);
  }

  /** Reads the sweep receipt of a purge back. */
  async readSweep(accountId: string, purgeId: string): Promise<SweepReceipt | undefined> {
    const text = await this.readText(RECEIPTS.sweepKey(accountId, purgeId));
    return text === undefined ? undefined : (JSON.parse(text) as SweepReceipt);
  }

  private async readText(key: string): Promise<string | undefined> {
    try {
      const [data] = await this.bucket.file(key).download();
      return data.toString('utf8');
    } catch (err) {
      if (gcsErrorCode(err) === 404) return undefined;
      throw err;
    }
  }
}
