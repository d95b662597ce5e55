/**
 * Purge receipts in an S3 bucket with Object Lock: each receipt is written once (`If-None-Match: *`) with
 * a retention in COMPLIANCE mode, so until it lapses no one can delete or overwrite that version, not the
 * purge job, not an administrator, not the account's root user. The job's role needs only PutObject,
 * GetObject and GetBucketObjectLockConfiguration on the bucket; it is given no delete permission either.
 */
import {
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  PutObjectCommand,
  type BucketLocationConstraint,
  type CreateBucketCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AuditReceipt, PurgeReceipt, SweepReceipt } from '../core/model';
import type { ReceiptStore } from '../core/ports';
import { auditReceiptKey, receiptJson } from '../core/receipt';
import { RECEIPTS, RETENTION } from '../../../../platform';

/** Options of {@link S3ReceiptStore}. */
export interface S3ReceiptStoreProps {
  /** An S3 client in the bucket's region. */
  readonly client: S3Client;
  /** The receipts bucket; Object Lock must be enabled on it. */
  readonly bucket: string;
  /**
   * Days each receipt is locked in compliance mode.
   * @default 2557
   */
  readonly retentionDays?: number;
  /**
   * Clock for the retention date.
   * @default () => new Date()
   */
  readonly now?: () => Date;
}

/**
 * The CreateBucket input of a receipts bucket (for tests and local tooling; the CDK stack defines the
 * production bucket): Object Lock can only be turned on when a bucket is created, and it turns on
 * versioning with it.
 */
export function receiptsBucketDefinition(bucket: string, region: string): CreateBucketCommandInput {
  return {
    Bucket: bucket,
    ObjectLockEnabledForBucket: true,
    ...(region === 'us-east-1'
      ? {}
      : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
  };
}

/** A write-once {@link ReceiptStore} in S3. */
export class S3ReceiptStore implements ReceiptStore {
  /** `s3://<bucket>` */
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly retentionDays: number;
  private readonly now: () => Date;
  private lockChecked: Promise<void> | undefined;

  /** @throws RangeError when the retention is not a positive whole number of days */
  constructor(props: S3ReceiptStoreProps) {
    const days = props.retentionDays ?? RETENTION.receiptRetentionDays;
    if (!Number.isInteger(days) || days < 1) throw new RangeError(`retentionDays must be ≥ 1, got ${days}`);
    this.client = props.client;
    this.bucket = props.bucket;
    this.retentionDays = days;
    this.now = props.now ?? (() => new Date());
    this.description = `s3://${props.bucket}`;
  }

  /**
   * Writes the receipt under `receipts/<accountId>/<purgeId>.json` (a sweep's: `<purgeId>.sweep.json`),
   * locked in compliance mode. When it is already there (a run killed after writing it), an identical
   * one is accepted and a different one refused.
   * @throws Error when the bucket does not have Object Lock enabled: receipts are never written unprotected
   */
  async write(receipt: AuditReceipt): Promise<string> {
    await this.checkLock();
    const key = auditReceiptKey(receipt);
    const body = receiptJson(receipt);
    const retainUntil = new Date(this.now().getTime() + this.retentionDays * 86_400_000);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: retainUntil,
          // Object Lock puts must carry an integrity checksum.
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((err as Error).name !== 'PreconditionFailed' && status !== 412) throw err;
      const existing = await this.readText(key);
      if (existing !== body) {
        throw new Error(
          `a different receipt already exists at s3://${this.bucket}/${key}; receipts are never replaced`,
        );
      }
    }
    return `s3://${this.bucket}/${key}`;
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
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body?.transformToString('utf8');
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  /** Refuses (once per instance, until it passes) to write into a bucket without Object Lock. */
  private checkLock(): Promise<void> {
    this.lockChecked ??= (async () => {
      let enabled: string | undefined;
      try {
        const out = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
        enabled = out.ObjectLockConfiguration?.ObjectLockEnabled;
      } catch (err) {
        if ((err as Error).name !== 'ObjectLockConfigurationNotFoundError') throw err;
      }
      if (enabled !== 'Enabled') {
        throw new Error(
          `receipts bucket ${this.bucket} does not have Object Lock enabled; refusing to write receipts that could be deleted`,
        );
      }
    })();
    this.lockChecked.catch(() => {
      this.lockChecked = undefined;
    });
    return this.lockChecked;
  }
}
