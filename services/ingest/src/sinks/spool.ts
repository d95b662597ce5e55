/**
 * The disk spool: where batches go while the sink is down, so that a hit can still be acknowledged
 * ("acknowledged only once it is in the sink or in the spool").
 *
 * One file per batch, written atomically (temp file, fsync, rename, fsync of the directory), so a file
 * either exists whole or not at all and a crash can never leave half a batch that looks complete. File
 * names sort oldest first and carry the record count, so a new process learns the depth of a spool left
 * by an earlier one from a directory listing alone, without reading any file.
 *
 * A spool directory belongs to one process at a time (one Lambda container, one Cloud Run instance, one
 * local service); at start the spool deletes temp files left by a crashed append, which were never
 * acknowledged.
 */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SinkRecord } from './sink';

/** File name suffix of a complete spool file. */
export const SPOOL_FILE_SUFFIX = '.spool';
/** File name suffix of an append in progress (deleted at start: such a batch was never acknowledged). */
export const SPOOL_TEMP_SUFFIX = '.tmp';
/** File name suffix of a spool file that could not be parsed; kept for inspection, no longer counted. */
export const SPOOL_CORRUPT_SUFFIX = '.corrupt';

// <ms since epoch, 13 digits>-<pid>-<sequence>-<records>: fixed-width leading fields so that plain
// string order is creation order, and the record count is known without opening the file.
const ID_PATTERN = /^(\d{13})-(\d{7})-(\d{9})-(\d{1,9})$/;

/** One spooled batch. */
export interface SpoolEntry {
  /** Identifier (the file name without suffix); sorts oldest first. */
  readonly id: string;
  /** Records in the batch. */
  readonly records: number;
  /** Size of the spool file in bytes. */
  readonly bytes: number;
}

/** Options of {@link DiskSpool}. */
export interface DiskSpoolOptions {
  /** Directory of the spool; created if missing. */
  readonly dir: string;
  /**
   * Largest total size of the spool files; an append beyond it fails with {@link SpoolFullError}, so a
   * long outage ends in 503s rather than a full disk that also takes logs and the OS down. Default 1 GiB.
   */
  readonly maxBytes?: number;
}

/** Raised by {@link DiskSpool.append} when the spool has reached its size limit. */
export class SpoolFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolFullError';
  }
}

/** Raised by {@link DiskSpool.read} when a spool file cannot be parsed. */
export class SpoolCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolCorruptError';
  }
}

let sequence = 0;

/**
 * A durable, file-per-batch spool of {@link SinkRecord}s that survives process restarts.
 *
 * The format is JSON lines of `{"a": accountId, "d": dt, "b": base64(data)}`: the partition travels
 * with each record, so a drained record lands in the same `account=/dt=` partition it would have had.
 */
export class DiskSpool {
  /** The spool directory. */
  readonly dir: string;
  private readonly maxBytes: number;
  // Insertion order is oldest first; see `sorted`.
  private readonly entries = new Map<string, SpoolEntry>();
  private lastId = '';
  // Concurrent appends can complete out of creation order; only then does list() need to sort.
  private sorted = true;
  private depthRecords = 0;
  private totalBytes = 0;
  // Bytes promised to appends in progress, so that concurrent appends cannot jointly overshoot maxBytes.
  private reservedBytes = 0;

  /**
   * Opens (creating if needed) a spool directory and indexes the spool files an earlier process left.
   * Synchronous on purpose: it runs once at start, and callers can read {@link depth} right away.
   */
  constructor(options: DiskSpoolOptions | string) {
    const opts = typeof options === 'string' ? { dir: options } : options;
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024 * 1024;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const found: SpoolEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith(SPOOL_TEMP_SUFFIX)) {
        try {
          unlinkSync(join(this.dir, name));
        } catch {
          // Best effort: a leftover temp file is ignored by the index either way.
        }
        continue;
      }
      if (!name.endsWith(SPOOL_FILE_SUFFIX)) continue;
      const id = name.slice(0, -SPOOL_FILE_SUFFIX.length);
      const match = ID_PATTERN.exec(id);
      if (!match) continue;
      found.push({ id, records: Number(match[4]), bytes: statSync(join(this.dir, name)).size });
    }
    found.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    for (const entry of found) this.index(entry);
  }

  /** Records currently spooled (the `spoolDepth` metric). */
  get depth(): number {
    return this.depthRecords;
  }

  /** Bytes currently spooled. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Spool files currently present. */
  get files(): number {
    return this.entries.size;
  }

  /** Spooled batches, oldest first: all of them, or the oldest `limit`. */
  list(limit = Infinity): SpoolEntry[] {
    this.ensureSorted();
    const out: SpoolEntry[] = [];
    for (const entry of this.entries.values()) {
      if (out.length >= limit) break;
      out.push(entry);
    }
    return out;
  }

  /** The oldest spooled batch, or `undefined` when the spool is empty. */
  oldest(): SpoolEntry | undefined {
    this.ensureSorted();
    for (const entry of this.entries.values()) return entry;
    return undefined;
  }

  /**
   * Writes a batch durably. Only after this resolves may the records be acknowledged: the data and the
   * directory entry have both been fsynced.
   * @throws SpoolFullError when the spool is at its size limit; any fs error otherwise
   */
  async append(records: readonly SinkRecord[]): Promise<SpoolEntry> {
    if (records.length === 0) throw new RangeError('DiskSpool.append: empty batch');
    const body = encode(records);
    if (this.totalBytes + this.reservedBytes + body.length > this.maxBytes) {
      throw new SpoolFullError(
        `spool ${this.dir} is full (${this.totalBytes} of ${this.maxBytes} bytes); refusing ${records.length} records`,
      );
    }
    sequence += 1;
    const id = [
      String(Date.now()).padStart(13, '0'),
      String(process.pid % 1e7).padStart(7, '0'),
      String(sequence % 1e9).padStart(9, '0'),
      String(records.length),
    ].join('-');
    const finalPath = join(this.dir, id + SPOOL_FILE_SUFFIX);
    const tempPath = join(this.dir, id + SPOOL_TEMP_SUFFIX);
    this.reservedBytes += body.length;
    try {
      const fh = await open(tempPath, 'wx', 0o600);
      try {
        let off = 0;
        while (off < body.length) off += (await fh.write(body, off, body.length - off)).bytesWritten;
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tempPath, finalPath);
      await syncDir(this.dir);
    } catch (err) {
      await unlink(tempPath).catch(() => undefined);
      throw err;
    } finally {
      this.reservedBytes -= body.length;
    }
    const entry: SpoolEntry = { id, records: records.length, bytes: body.length };
    this.index(entry);
    return entry;
  }

  /**
   * Reads a spooled batch back.
   * @throws SpoolCorruptError when the file does not parse or holds a different number of records than
   * its name says
   */
  async read(id: string): Promise<SinkRecord[]> {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`DiskSpool.read: no spool file ${id}`);
    const text = await readFile(join(this.dir, id + SPOOL_FILE_SUFFIX), 'utf8');
    const out: SinkRecord[] = [];
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      if (line === '') continue;
      out.push(decodeLine(line, id));
    }
    if (out.length !== entry.records) {
      throw new SpoolCorruptError(`spool file ${id}: ${out.length} records, expected ${entry.records}`);
    }
    return out;
  }

  /** Deletes a spooled batch (after the sink has taken it). Removing an unknown id is a no-op. */
  async remove(id: string): Promise<void> {
    if (!this.entries.has(id)) return;
    try {
      await unlink(join(this.dir, id + SPOOL_FILE_SUFFIX));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.unindex(id);
  }

  /**
   * Sets a batch aside that cannot be parsed: renamed to `<id>.corrupt` for inspection and no longer
   * counted, so one bad file cannot block the drain of every later one.
   */
  async quarantine(id: string): Promise<void> {
    if (!this.entries.has(id)) return;
    await rename(join(this.dir, id + SPOOL_FILE_SUFFIX), join(this.dir, id + SPOOL_CORRUPT_SUFFIX));
    this.unindex(id);
  }

  private index(entry: SpoolEntry): void {
    if (entry.id < this.lastId) this.sorted = false;
    else this.lastId = entry.id;
    this.entries.set(entry.id, entry);
    this.depthRecords += entry.records;
    this.totalBytes += entry.bytes;
  }

  private unindex(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.depthRecords -= entry.records;
    this.totalBytes -= entry.bytes;
  }

  private ensureSorted(): void {
    if (this.sorted) return;
    const all = [...this.entries.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    this.entries.clear();
    for (const entry of all) this.entries.set(entry.id, entry);
    this.lastId = all.length ? all[all.length - 1]!.id : '';
    this.sorted = true;
  }
}

function encode(records: readonly SinkRecord[]): Buffer {
  const parts: string[] = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    parts[i] =
      '{"a":' +
      JSON.stringify(r.accountId) +
      ',"d":' +
      JSON.stringify(r.dt) +
      ',"b":"' +
      r.data.toString('base64') +
      '"}\n';
  }
  return Buffer.from(parts.join(''), 'utf8');
}

function decodeLine(line: string, id: string): SinkRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new SpoolCorruptError(`spool file ${id}: a line is not JSON`);
  }
  const o = parsed as { a?: unknown; d?: unknown; b?: unknown };
  if (typeof o.a !== 'string' || typeof o.d !== 'string' || typeof o.b !== 'string') {
    throw new SpoolCorruptError(`spool file ${id}: a line lacks a, d or b`);
  }
  return { accountId: o.a, dt: o.d, data: Buffer.from(o.b, 'base64') };
}

/** Makes a rename durable: on Linux a directory entry survives power loss only once its directory is fsynced. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is as durable as they allow.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err;
  } finally {
    await fh?.close();
  }
}
