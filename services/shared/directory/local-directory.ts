/**
 * The directory on embedded defaults: one JSON file of items laid out exactly like the
 * DynamoDB table (`pk`/`sk` from `DIRECTORY` in `platform/`), so the purge job and the incident
 * CLI handle both stores with the same item logic.
 *
 * Several processes share the file (the service, `npm run incident`, `npm run purge`), so every write
 * takes a lock file, re-reads the file, applies its change and replaces the file atomically (temp file and
 * rename); reads reload whenever the file changed on disk.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { DIRECTORY } from '../../../platform';
import type {
  AccountRecord,
  ApiKeyRecord,
  CampaignRecord,
  ConversionClaim,
  WrappedDataKeyRecord,
} from './directory';
import {
  ItemDirectory,
  claimItem,
  fromItem,
  isLive,
  itemKeys,
  matchesExpected,
  toItem,
  type DirectoryItem,
  type DirectoryItemKey,
  type ExpectedValue,
} from './item-directory';

export {
  fromItem,
  itemKeys,
  toItem,
  type DirectoryItem,
  type DirectoryItemKey,
  type DirectoryMaintenance,
  type ExpectedValue,
} from './item-directory';

const ACCOUNT_PREFIX = DIRECTORY.accountPk('');
const APIKEY_PREFIX = DIRECTORY.apiKeyPk('');

/** Options of {@link LocalDirectory}. */
export interface LocalDirectoryProps {
  /** Directory holding the file (`TS_DATA_DIR`); created (mode 0700) on first write. */
  readonly dataDir: string;
  /** File name inside `dataDir`. */
  readonly fileName?: string;
  /** How long to wait for another process' write lock before failing. */
  readonly lockTimeoutMs?: number;
}

interface FileShape {
  version: 1;
  items: DirectoryItem[];
}

type Partitions = Map<string, Map<string, DirectoryItem>>;

/** A change waiting for its group commit, and how to settle its caller's promise. */
interface PendingWrite {
  readonly mutate: (parts: Partitions) => { changed: boolean; result: unknown };
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/** A lock older than this is presumed abandoned even if its pid is alive (pids are reused). */
const STALE_LOCK_MS = 30_000;

/** The file-backed directory of embedded defaults. */
export class LocalDirectory extends ItemDirectory {
  /** Store name, as in `TS_DIRECTORY`. */
  readonly name = 'file';
  /** Path of the JSON file. */
  readonly file: string;
  private readonly dataDir: string;
  private readonly lockFile: string;
  private readonly lockTimeoutMs: number;
  private partitions: Partitions = new Map();
  /** Identity of the file version in memory; `undefined` before the first load. */
  private loadedSignature: string | undefined;
  private reloading: Promise<void> | undefined;
  private writeQueue: Promise<unknown> = Promise.resolve();
  /** Changes waiting for the next group commit (see {@link LocalDirectory.write}). */
  private readonly pendingWrites: PendingWrite[] = [];

  constructor(props: LocalDirectoryProps) {
    super();
    this.dataDir = props.dataDir;
    this.file = join(props.dataDir, props.fileName ?? 'directory.json');
    this.lockFile = `${this.file}.lock`;
    this.lockTimeoutMs = props.lockTimeoutMs ?? 10_000;
  }

  /** Stores a wrapped data key unless (account, location) has one; resolves with the stored record. */
  async putDataKeyIfAbsent(record: WrappedDataKeyRecord): Promise<WrappedDataKeyRecord> {
    const key = itemKeys.dataKey(record.accountId, record.location);
    return this.write((parts) => {
      const existing = parts.get(key.pk)?.get(key.sk);
      if (existing) return { changed: false, result: fromItem<WrappedDataKeyRecord>(existing) };
      setItem(parts, toItem(key, record));
      return { changed: true, result: record };
    });
  }

  /** Takes a conversion claim unless a live one exists, atomically under the write lock. */
  async claimConversion(claim: ConversionClaim, nowMs: number): Promise<boolean> {
    const item = claimItem(claim);
    return this.write((parts) => {
      if (isLive(parts.get(item.pk)?.get(item.sk), nowMs)) return { changed: false, result: false };
      setItem(parts, item);
      return { changed: true, result: true };
    });
  }

  /** Drops a conversion claim; a missing one is fine. */
  async releaseConversion(accountId: string, key: string): Promise<void> {
    await this.deleteItems([itemKeys.conversionClaim(accountId, key)]);
  }

  /** Resolves when the file can be read (a missing file is an empty directory) and its folder exists. */
  async check(): Promise<void> {
    await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    await this.refresh();
  }

  /** Every item of one partition, sorted by sort key. */
  async listItems(pk: string): Promise<DirectoryItem[]> {
    await this.refresh();
    const part = this.partitions.get(pk);
    return part ? [...part.values()].sort((a, b) => compare(a.sk, b.sk)) : [];
  }

  /** Deletes items by key in one atomic file replacement; missing ones are ignored. */
  async deleteItems(keys: readonly DirectoryItemKey[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.write((parts) => {
      let changed = false;
      for (const { pk, sk } of keys) {
        const part = parts.get(pk);
        if (part?.delete(sk)) {
          changed = true;
          if (part.size === 0) parts.delete(pk);
        }
      }
      return { changed, result: keys.length };
    });
  }

  /** Replaces an item if the stored one matches `expected`, atomically under the write lock. */
  async putItemIf(item: DirectoryItem, expected: Readonly<Record<string, ExpectedValue>>): Promise<boolean> {
    return this.write((parts) => {
      if (!matchesExpected(parts.get(item.pk)?.get(item.sk), expected))
        return { changed: false, result: false };
      setItem(parts, item);
      return { changed: true, result: true };
    });
  }

  /** Every account record. */
  async listAccounts(): Promise<AccountRecord[]> {
    await this.refresh();
    const out: AccountRecord[] = [];
    for (const [pk, part] of this.partitions) {
      const meta = pk.startsWith(ACCOUNT_PREFIX) ? part.get(DIRECTORY.accountSk) : undefined;
      if (meta) out.push(fromItem<AccountRecord>(meta));
    }
    return out.sort((a, b) => compare(a.accountId, b.accountId));
  }

  /** Every API key record of one account. */
  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    await this.refresh();
    const out: ApiKeyRecord[] = [];
    for (const [pk, part] of this.partitions) {
      const item = pk.startsWith(APIKEY_PREFIX) ? part.get(DIRECTORY.apiKeySk) : undefined;
      if (item && item.accountId === accountId) out.push(fromItem<ApiKeyRecord>(item));
    }
    return out.sort((a, b) => compare(a.keyId, b.keyId));
  }

  /** The campaigns of that id in every account, sorted by account id. */
  async findCampaigns(campaignId: string): Promise<CampaignRecord[]> {
    await this.refresh();
    const out: CampaignRecord[] = [];
    for (const [pk, part] of this.partitions) {
      const item = pk.startsWith(ACCOUNT_PREFIX) ? part.get(DIRECTORY.campaignSk(campaignId)) : undefined;
      if (item) out.push(fromItem<CampaignRecord>(item));
    }
    return out.sort((a, b) => compare(a.accountId, b.accountId));
  }

  protected async getItem(key: DirectoryItemKey): Promise<DirectoryItem | undefined> {
    await this.refresh();
    return this.partitions.get(key.pk)?.get(key.sk);
  }

  protected async putItem(item: DirectoryItem): Promise<void> {
    await this.write((parts) => {
      setItem(parts, item);
      return { changed: true, result: undefined };
    });
  }

  /** Reloads the file if another writer (process or instance) replaced it since the last load. */
  private refresh(): Promise<void> {
    // Concurrent readers share one stat and at most one reload.
    this.reloading ??= this.reloadIfChanged().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async reloadIfChanged(): Promise<void> {
    const signature = await this.currentSignature();
    if (signature === this.loadedSignature) return;
    if (signature === MISSING) {
      this.partitions = new Map();
      this.loadedSignature = signature;
      return;
    }
    const handle = await fs.open(this.file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) {
      this.partitions = new Map();
      this.loadedSignature = MISSING;
      return;
    }
    try {
      // Signature and content come from the same open file, so a rename in between cannot mix them.
      const stat = await handle.stat({ bigint: true });
      this.partitions = parseFile(this.file, await handle.readFile('utf8'));
      this.loadedSignature = signatureOf(stat);
    } finally {
      await handle.close();
    }
  }

  private async currentSignature(): Promise<string> {
    try {
      return signatureOf(await fs.stat(this.file, { bigint: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return MISSING;
      throw err;
    }
  }

  /**
   * Runs one read-modify-write: serialized within this instance by a queue and across processes (and
   * other instances on the same file) by the lock file.
   */
  /**
   * Applies a change under the file lock and persists it. Changes that arrive while a write is under way
   * wait, and are then applied together and persisted in one file replacement (group commit): each write
   * rewrites the whole file, so one replacement per change would make seeding or a burst of new accounts'
   * data keys quadratic in the directory's size.
   */
  private write<T>(mutate: (parts: Partitions) => { changed: boolean; result: T }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pendingWrites.push({ mutate, resolve: resolve as (value: unknown) => void, reject });
      // The first change of a group schedules its commit; later ones join it until it starts.
      if (this.pendingWrites.length === 1) {
        this.writeQueue = this.writeQueue.then(() => this.commitPending()).catch(() => undefined);
      }
    });
  }

  private async commitPending(): Promise<void> {
    const group = this.pendingWrites.splice(0);
    if (group.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      const release = await this.lock();
      try {
        // A reload that began before the lock was taken may have judged the file unchanged just before
        // another writer replaced it; let it settle, then look again under the lock.
        await this.reloading?.catch(() => undefined);
        await this.refresh();
        let changed = false;
        for (const write of group) {
          try {
            const outcome = write.mutate(this.partitions);
            changed ||= outcome.changed;
            outcomes.push({ ok: true, value: outcome.result });
          } catch (err) {
            outcomes.push({ ok: false, value: err });
          }
        }
        if (changed) {
          try {
            await this.persist();
          } catch (err) {
            // Memory now holds changes the file lacks: forget what was loaded so the next read reloads.
            this.loadedSignature = undefined;
            throw err;
          }
        }
      } finally {
        await release();
      }
    } catch (err) {
      for (const write of group) write.reject(err);
      return;
    }
    group.forEach((write, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) write.resolve(outcome.value);
      else write.reject(outcome?.value);
    });
  }

  private async persist(): Promise<void> {
    const items: DirectoryItem[] = [];
    const nowMs = Date.now();
    for (const [pk, part] of this.partitions) {
      for (const [sk, item] of part) {
        // What DynamoDB's time-to-live does in the cloud: lapsed claims leave the file on the next write.
        if (isLive(item, nowMs)) items.push(item);
        else part.delete(sk);
      }
      if (part.size === 0) this.partitions.delete(pk);
    }
    // Sorted, one item per line: stable, diffable, and readable when debugging embedded mode.
    items.sort((a, b) => compare(a.pk, b.pk) || compare(a.sk, b.sk));
    const body = `{"version":1,"items":[\n${items.map((i) => JSON.stringify(i)).join(',\n')}\n]}\n`;
    const tmp = `${this.file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.unlink(tmp).catch(() => undefined);
      throw err;
    }
    await handle.close();
    try {
      await fs.rename(tmp, this.file);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      throw err;
    }
    // Taken after the rename, which changes the ctime (a signature taken before made every next read
    // parse the whole file again); the write lock keeps any other writer out until then.
    this.loadedSignature = await this.currentSignature();
  }

  /** Takes the cross-process write lock; resolves with its release. */
  private async lock(): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        const handle = await fs.open(this.lockFile, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return () => fs.unlink(this.lockFile).catch(() => undefined);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (await this.lockIsStale()) {
        // Only a crashed writer leaves a lock behind; its half-done work never reached the file (rename is
        // the commit point), so breaking the lock loses nothing.
        await fs.unlink(this.lockFile).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `directory ${this.file} stayed locked for ${this.lockTimeoutMs} ms (lock file ${this.lockFile})`,
        );
      }
      await new Promise((r) => setTimeout(r, 2 + Math.floor(Math.random() * 8)));
    }
  }

  private async lockIsStale(): Promise<boolean> {
    try {
      const [stat, owner] = await Promise.all([fs.stat(this.lockFile), fs.readFile(this.lockFile, 'utf8')]);
      if (Date.now() - stat.mtimeMs > STALE_LOCK_MS) return true;
      const pid = Number(owner);
      // An empty lock is one being written right now, not a stale one.
      if (!Number.isInteger(pid) || pid <= 0) return false;
      return !processAlive(pid);
    } catch {
      // Gone already: the next attempt will take it.
      return false;
    }
  }
}

const MISSING = 'missing';

function signatureOf(stat: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  // Every write is a new file (temp + rename), so the inode alone nearly always changes; size and
  // nanosecond times cover inode reuse.
  return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function setItem(parts: Partitions, item: DirectoryItem): void {
  let part = parts.get(item.pk);
  if (!part) parts.set(item.pk, (part = new Map()));
  part.set(item.sk, Object.freeze({ ...item }));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseFile(file: string, text: string): Partitions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`directory file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const shape = parsed as Partial<FileShape> | null;
  if (!shape || typeof shape !== 'object' || shape.version !== 1 || !Array.isArray(shape.items)) {
    throw new Error(`directory file ${file} is not a version 1 directory ({"version":1,"items":[...]})`);
  }
  const parts: Partitions = new Map();
  shape.items.forEach((item, i) => {
    if (!item || typeof item !== 'object' || typeof item.pk !== 'string' || typeof item.sk !== 'string') {
      throw new Error(`directory file ${file}: item ${i} has no string pk and sk`);
    }
    setItem(parts, item);
  });
  return parts;
}
