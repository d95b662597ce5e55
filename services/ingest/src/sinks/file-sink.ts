/**
 * The local sink of the embedded default: segment files laid out like the cloud event store,
 * `<rootDir>/account=<accountId>/dt=<yyyy-mm-dd>/<segment>.ndjson`, one record per line.
 *
 * Durability: a record counts as in the sink once the fs write of its bytes has completed (the data is in
 * the OS page cache). That survives a crash of the process but not of the machine; the sink does not
 * fsync every batch because local mode trades power-loss durability for speed, and the cloud sinks are
 * where durability promises are kept.
 */
import { randomBytes } from 'node:crypto';
import { writevSync } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { EVENT_OBJECTS, LIMITS } from '../../../../platform';
import type { Sink, SinkRecord } from './sink';

/** Settings of the file sink's segments; the tree itself is the platform's `EVENT_OBJECTS` layout. */
export const FILE_SINK_LAYOUT = {
  /** File name suffix of a segment. */
  segmentSuffix: '.ndjson',
  /** A segment is closed and a new one started once it would grow past this many bytes. */
  defaultSegmentBytes: 8 * 1024 * 1024,
  /** At most this many segments are open at once; the least recently written is closed first. */
  defaultMaxOpenFiles: 64,
} as const;

/** The directory of one partition. */
export function fileSinkPartitionDir(rootDir: string, accountId: string, dt: string): string {
  return join(rootDir, EVENT_OBJECTS.accountKey + accountId, EVENT_OBJECTS.dayKey + dt);
}

/** Options of {@link FileSink}. */
export interface FileSinkOptions {
  /** Root of the partition tree; created on first write. */
  readonly rootDir: string;
  /** Rotation size of a segment. Default {@link FILE_SINK_LAYOUT.defaultSegmentBytes}. */
  readonly segmentBytes?: number;
  /** Bound on open file handles. Default {@link FILE_SINK_LAYOUT.defaultMaxOpenFiles}. */
  readonly maxOpenFiles?: number;
  /** Default 10,000. */
  readonly maxBatchRecords?: number;
  /** Default 16 MiB. */
  readonly maxBatchBytes?: number;
  /** Default the Firehose record limit, so that what local mode accepts the cloud accepts too. */
  readonly maxRecordBytes?: number;
}

interface Segment {
  readonly path: string;
  readonly fh: FileHandle;
  size: number;
}

// Part of every segment name: together with the pid and a sequence it makes names unique across
// processes (a container restart reuses pid 1) and sorts them in creation order.
const PROCESS_START = new Date().toISOString().replace(/[-:.]/g, '');
let segmentSequence = 0;
const NEWLINE = Buffer.from('\n');
// Path safety only; the service validates ids properly before anything reaches a sink.
const SAFE_PART = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/** A {@link Sink} that appends records to partitioned local segment files. */
export class FileSink implements Sink {
  /** @inheritdoc */
  readonly name = 'file';
  /** @inheritdoc */
  readonly maxBatchRecords: number;
  /** @inheritdoc */
  readonly maxBatchBytes: number;
  /** @inheritdoc */
  readonly maxRecordBytes: number;
  /** Root of the partition tree. */
  readonly rootDir: string;
  private readonly segmentBytes: number;
  private readonly maxOpenFiles: number;
  // Partition key → open segment; Map order doubles as LRU order (least recently written first).
  private readonly open = new Map<string, Segment>();
  private readonly knownDirs = new Set<string>();
  // Batches are written one at a time so that a segment's size bookkeeping and rotation never race.
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: FileSinkOptions) {
    this.rootDir = options.rootDir;
    this.segmentBytes = options.segmentBytes ?? FILE_SINK_LAYOUT.defaultSegmentBytes;
    this.maxOpenFiles = Math.max(1, options.maxOpenFiles ?? FILE_SINK_LAYOUT.defaultMaxOpenFiles);
    this.maxBatchRecords = options.maxBatchRecords ?? 10_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 16 * 1024 * 1024;
    this.maxRecordBytes = options.maxRecordBytes ?? LIMITS.firehoseMaxRecordBytes;
  }

  /** Number of segment files currently open (bounded by `maxOpenFiles`). */
  get openSegments(): number {
    return this.open.size;
  }

  /**
   * Appends a batch, one line per record (a newline is added to a record that lacks one). Records of a
   * partition whose write fails are reported as not accepted, and that partition's segment is truncated
   * back to its last whole batch so a retry cannot leave a torn line.
   */
  putBatch(records: readonly SinkRecord[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new Error('FileSink is closed'));
    const run = this.tail.then(() => this.write(records));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the root directory can be created and written to. */
  async check(): Promise<void> {
    await mkdir(this.rootDir, { recursive: true, mode: 0o700 });
    const probe = join(this.rootDir, `.check-${process.pid}-${randomBytes(4).toString('hex')}`);
    const fh = await open(probe, 'wx', 0o600);
    try {
      await fh.write('ok');
    } finally {
      await fh.close();
    }
    await unlink(probe);
  }

  /** Waits for the batch being written and closes every open segment. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    const segments = [...this.open.values()];
    this.open.clear();
    await Promise.all(segments.map((s) => s.fh.close().catch(() => undefined)));
  }

  private async write(records: readonly SinkRecord[]): Promise<number[]> {
    // Group by partition so each partition costs one writev, whatever the batch's account mix.
    const groups = new Map<
      string,
      { accountId: string; dt: string; idx: number[]; bufs: Buffer[]; bytes: number }
    >();
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const key = r.accountId + '/' + r.dt;
      let g = groups.get(key);
      if (!g) {
        g = { accountId: r.accountId, dt: r.dt, idx: [], bufs: [], bytes: 0 };
        groups.set(key, g);
      }
      g.idx.push(i);
      g.bufs.push(r.data);
      g.bytes += r.data.length;
      if (r.data.length === 0 || r.data[r.data.length - 1] !== 0x0a) {
        g.bufs.push(NEWLINE);
        g.bytes += 1;
      }
    }
    const failed: number[] = [];
    let lastError: unknown;
    for (const [key, g] of groups) {
      try {
        if (!SAFE_PART.test(g.accountId) || !/^\d{4}-\d{2}-\d{2}$/.test(g.dt)) {
          throw new Error(
            `FileSink: unsafe partition account=${JSON.stringify(g.accountId)} dt=${JSON.stringify(g.dt)}`,
          );
        }
        await this.append(key, g.accountId, g.dt, g.bufs, g.bytes);
      } catch (err) {
        lastError = err;
        for (const i of g.idx) failed.push(i);
      }
    }
    // The Sink contract: reject when nothing was accepted, so the caller backs off instead of retrying at once.
    if (records.length > 0 && failed.length === records.length) throw lastError;
    return failed;
  }

  private async append(
    key: string,
    accountId: string,
    dt: string,
    bufs: Buffer[],
    bytes: number,
  ): Promise<void> {
    let seg = this.open.get(key);
    if (seg) {
      this.open.delete(key);
      if (seg.size > 0 && seg.size + bytes > this.segmentBytes) {
        await seg.fh.close().catch(() => undefined);
        seg = undefined;
      }
    }
    seg ??= await this.openSegment(accountId, dt);
    this.open.set(key, seg);
    await this.evict();
    try {
      await writeFully(seg.fh, bufs, bytes);
      seg.size += bytes;
    } catch (err) {
      this.open.delete(key);
      await seg.fh.truncate(seg.size).catch(() => undefined);
      await seg.fh.close().catch(() => undefined);
      throw err;
    }
  }

  private async openSegment(accountId: string, dt: string): Promise<Segment> {
    const dir = fileSinkPartitionDir(this.rootDir, accountId, dt);
    if (!this.knownDirs.has(dir)) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (this.knownDirs.size >= 10_000) this.knownDirs.clear();
      this.knownDirs.add(dir);
    }
    segmentSequence += 1;
    const path = join(
      dir,
      `${PROCESS_START}-${process.pid}-${String(segmentSequence).padStart(6, '0')}${FILE_SINK_LAYOUT.segmentSuffix}`,
    );
    // 'ax': append, and fail rather than ever write into a file another process created.
    try {
      return { path, fh: await open(path, 'ax', 0o600), size: 0 };
    } catch (err) {
      // A partition directory removed behind our back (e.g. by the purge job) is simply recreated.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.knownDirs.delete(dir);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.knownDirs.add(dir);
      return { path, fh: await open(path, 'ax', 0o600), size: 0 };
    }
  }

  private async evict(): Promise<void> {
    while (this.open.size > this.maxOpenFiles) {
      const first = this.open.entries().next();
      if (first.done) return;
      const [key, seg] = first.value;
      this.open.delete(key);
      await seg.fh.close().catch(() => undefined);
    }
  }
}

/**
 * Batches up to this size are written from the event loop itself. A write of a few kilobytes into the page
 * cache takes microseconds, less than handing it to the libuv thread pool and waking the loop again (that
 * hand-off was a tenth of the pixel path's CPU under load); larger batches still go to the pool so that a
 * big write never stalls other requests.
 */
export const SYNC_WRITE_MAX_BYTES = 256 * 1024;

async function writeFully(fh: FileHandle, bufs: Buffer[], total: number): Promise<void> {
  let written =
    total <= SYNC_WRITE_MAX_BYTES ? writevSync(fh.fd, bufs) : (await fh.writev(bufs)).bytesWritten;
  if (written === total) return;
  // A short write is rare on regular files but allowed; finish from where it stopped.
  let rest = Buffer.concat(bufs).subarray(written);
  while (rest.length > 0) {
    written = (await fh.write(rest)).bytesWritten;
    rest = rest.subarray(written);
  }
}

/** One segment file of the file sink. */
export interface FileSinkSegment {
  readonly accountId: string;
  readonly dt: string;
  /** Absolute or root-relative path, as `rootDir` was given. */
  readonly path: string;
}

/** One record read back from the file sink. */
export interface FileSinkEvent extends SinkRecord {
  /** The segment file it was read from. */
  readonly segment: string;
}

/** Every segment under `rootDir`, sorted by account, day and creation. An absent root has none. */
export async function listFileSinkSegments(rootDir: string): Promise<FileSinkSegment[]> {
  const out: FileSinkSegment[] = [];
  for (const accountDir of (await readdirOrEmpty(rootDir)).sort()) {
    if (!accountDir.startsWith(EVENT_OBJECTS.accountKey)) continue;
    const accountId = accountDir.slice(EVENT_OBJECTS.accountKey.length);
    for (const dayDir of (await readdirOrEmpty(join(rootDir, accountDir))).sort()) {
      if (!dayDir.startsWith(EVENT_OBJECTS.dayKey)) continue;
      const dt = dayDir.slice(EVENT_OBJECTS.dayKey.length);
      for (const file of (await readdirOrEmpty(join(rootDir, accountDir, dayDir))).sort()) {
        if (!file.endsWith(FILE_SINK_LAYOUT.segmentSuffix)) continue;
        out.push({ accountId, dt, path: join(rootDir, accountDir, dayDir, file) });
      }
    }
  }
  return out;
}

/**
 * Reads back every record under `rootDir`, each with its trailing newline as it was written. A last
 * line without a newline (a write cut short by a crash, never acknowledged) is skipped.
 */
export async function readFileSinkEvents(rootDir: string): Promise<FileSinkEvent[]> {
  const out: FileSinkEvent[] = [];
  for (const seg of await listFileSinkSegments(rootDir)) {
    const buf = await readFile(seg.path);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      out.push({
        accountId: seg.accountId,
        dt: seg.dt,
        data: buf.subarray(start, nl + 1),
        segment: seg.path,
      });
      start = nl + 1;
    }
  }
  return out;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ENOENT' ||
      (err as NodeJS.ErrnoException).code === 'ENOTDIR'
    ) {
      return [];
    }
    throw err;
  }
}
