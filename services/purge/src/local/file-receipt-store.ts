/**
 * Purge receipts on embedded defaults: `<dataDir>/receipts/<accountId>/<purgeId>.json`, and the sweep
 * receipt of that purge next to it (`<purgeId>.sweep.json`), each created exclusively and read-only (0444).
 *
 * This cannot truly be write-once: the owner of the files (or root) can chmod and delete them. Read-only
 * files only guard against accidents; the AWS receipt store enforces WORM with S3 Object Lock in
 * compliance mode, which not even the account's root user can shorten.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AuditReceipt, PurgeReceipt, SweepReceipt } from '../core/model';
import type { ReceiptStore } from '../core/ports';
import { auditReceiptKey, receiptJson } from '../core/receipt';
import { RECEIPTS } from '../../../../platform';

/** Options of {@link FileReceiptStore}. */
export interface FileReceiptStoreProps {
  /** Folder of the receipts, `<dataDir>/receipts`. */
  readonly dir: string;
}

/** A {@link ReceiptStore} of read-only local files. */
export class FileReceiptStore implements ReceiptStore {
  /** `file:<dir>` */
  readonly description: string;
  private readonly dir: string;

  constructor(props: FileReceiptStoreProps) {
    this.dir = resolve(props.dir);
    this.description = `file:${this.dir}`;
  }

  /** Creates the receipt file (0444) unless an identical one exists; refuses to replace a different one. */
  async write(receipt: AuditReceipt): Promise<string> {
    checkIds(receipt.accountId, receipt.purgeId);
    const file = this.pathOf(auditReceiptKey(receipt));
    const body = receiptJson(receipt);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    // Opened 0444: the descriptor may write, but the file is read-only from the moment it exists.
    const handle = await open(tmp, 'wx', 0o444);
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // link() never replaces: the first receipt under this name is the one that stays.
      await link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await readFile(file, 'utf8');
      if (existing !== body) {
        throw new Error(`a different receipt already exists at ${file}; receipts are never replaced`);
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    return file;
  }

  /** Reads a purge receipt back. */
  async read(accountId: string, purgeId: string): Promise<PurgeReceipt | undefined> {
    checkIds(accountId, purgeId);
    return this.readJson<PurgeReceipt>(RECEIPTS.purgeKey(accountId, purgeId));
  }

  /** Reads the sweep receipt of a purge back. */
  async readSweep(accountId: string, purgeId: string): Promise<SweepReceipt | undefined> {
    checkIds(accountId, purgeId);
    return this.readJson<SweepReceipt>(RECEIPTS.sweepKey(accountId, purgeId));
  }

  private async readJson<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.pathOf(key), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The file of a key `receipts/…`, inside the folder. */
  private pathOf(key: string): string {
    return join(this.dir, ...key.split('/').slice(1));
  }
}

/** The ids become path segments: only well-formed ones, so no receipt can land outside its folder. */
function checkIds(accountId: string, purgeId: string): void {
  if (!/^acc_[a-z0-9]{8,32}$/.test(accountId) || !/^[A-Za-z0-9_-]{1,64}$/.test(purgeId)) {
    throw new RangeError(`not a receipt id: ${accountId}/${purgeId}`);
  }
}
