/**
 * The local adapter of {@link ObjectWriter}: objects as files under `<TS_DATA_DIR>/events/`, the tree the
 * ingest service's FileSink writes and the purge job's file event store reads
 * (`account=<id>/dt=<yyyy-mm-dd>/<name>.ndjson`). Each object is written whole to a hidden temporary file,
 * synced, then linked to its name, which fails if the name exists: a reader never sees half an object, and
 * an object is never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { ObjectExistsError, type ObjectWriter } from '../core/ports';

/** Properties of {@link FileObjectWriter}. */
export interface FileObjectWriterProps {
  /** Root of the tree, `<TS_DATA_DIR>/events`. */
  readonly rootDir: string;
}

// Keys are built by the core from validated ids; this only keeps a key from leaving the root.
const SAFE_KEY = /^(?:[A-Za-z0-9_=.-]+\/)*[A-Za-z0-9_=-][A-Za-z0-9_=.-]*$/;

/** Writes objects as files in a local folder. */
export class FileObjectWriter implements ObjectWriter {
  /** Root of the tree. */
  readonly rootDir: string;

  constructor(props: FileObjectWriterProps) {
    this.rootDir = props.rootDir;
  }

  /** @inheritdoc */
  async put(key: string, body: Buffer): Promise<void> {
    if (!SAFE_KEY.test(key) || key.split('/').includes('..')) {
      throw new Error(`FileObjectWriter: unsafe key ${JSON.stringify(key)}`);
    }
    const path = join(this.rootDir, ...key.split('/'));
    const dir = dirname(path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${dir}${sep}.${randomBytes(8).toString('hex')}.tmp`;
    const fh = await open(temp, 'wx', 0o600);
    try {
      try {
        await fh.writeFile(body);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      try {
        await link(temp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new ObjectExistsError(`${path} exists already`, { cause: err });
        }
        throw err;
      }
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}
