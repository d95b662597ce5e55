/**
 * The event store of the embedded defaults: the file sink's tree `<dataDir>/events/account=<id>/dt=<day>/`
 * (the platform's `EVENT_OBJECTS` layout). Files have no versions, so each file is one "version" with id `null`, the
 * id S3 gives objects of unversioned buckets.
 */
import { readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { compareKeys } from '../core/model';
import {
  MAX_DELETE_BATCH,
  type DeleteOutcome,
  type EventObjectStore,
  type StoredVersion,
  type VersionError,
  type VersionPage,
  type VersionRef,
} from '../core/ports';
import { EVENT_OBJECTS } from '../../../../platform';

/** The version id of every local file. */
export const LOCAL_VERSION_ID = 'null';

/** Options of {@link FileEventObjectStore}. */
export interface FileEventObjectStoreProps {
  /** Root of the file sink's tree, `<dataDir>/events`. */
  readonly rootDir: string;
  /** The location this folder stands for (local mode serves one). */
  readonly location: string;
  /**
   * Files unlinked at once.
   * @default 32
   */
  readonly concurrency?: number;
}

/** An {@link EventObjectStore} over the local file sink's folders. */
export class FileEventObjectStore implements EventObjectStore {
  /** The location it stands for. */
  readonly location: string;
  /** `file:<root>` */
  readonly description: string;
  private readonly root: string;
  private readonly concurrency: number;

  constructor(props: FileEventObjectStoreProps) {
    this.root = resolve(props.rootDir);
    this.location = props.location;
    this.description = `file:${this.root}`;
    this.concurrency = props.concurrency ?? 32;
  }

  /**
   * Lists every file under `prefix` (which must name an account folder, `account=<id>/`), in S3 key
   * order, as keys relative to the root with `/` separators.
   */
  async listVersions(
    prefix: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<VersionPage> {
    const limit = Math.min(options.limit ?? MAX_DELETE_BATCH, MAX_DELETE_BATCH);
    const dir = this.accountDir(prefix);
    const files: StoredVersion[] = [];
    await walk(dir, async (path) => {
      const key = relative(this.root, path).split(sep).join('/');
      const size = await stat(path).then(
        (s) => s.size,
        () => undefined,
      );
      if (size !== undefined) files.push({ key, versionId: LOCAL_VERSION_ID, deleteMarker: false, size });
    });
    files.sort((a, b) => compareKeys(a.key, b.key));
    const from =
      options.cursor === undefined ? 0 : files.findIndex((f) => compareKeys(f.key, options.cursor!) > 0);
    const start = from < 0 ? files.length : from;
    const versions = files.slice(start, start + limit);
    const last = versions[versions.length - 1];
    return start + limit < files.length && last ? { versions, next: last.key } : { versions };
  }

  /** Unlinks the files (a missing one counts as deleted) and removes folders left empty. */
  async deleteVersions(refs: readonly VersionRef[]): Promise<DeleteOutcome> {
    if (refs.length > MAX_DELETE_BATCH) {
      throw new RangeError(`at most ${MAX_DELETE_BATCH} versions per delete request, got ${refs.length}`);
    }
    const deleted: VersionRef[] = [];
    const errors: VersionError[] = [];
    const dirs = new Set<string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const ref = refs[next++];
        if (!ref) return;
        try {
          if (ref.versionId !== LOCAL_VERSION_ID)
            throw Object.assign(new Error('no such version'), { code: 'NoSuchVersion' });
          const path = this.pathOf(ref.key);
          await unlink(path).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          });
          deleted.push(ref);
          dirs.add(dirname(path));
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          errors.push({ ...ref, code: e.code ?? e.name, message: e.message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, refs.length) }, worker));
    await this.pruneEmpty(dirs);
    return { deleted, errors };
  }

  /** The folder of an account prefix; refuses anything that is not exactly `account=<id>/`. */
  private accountDir(prefix: string): string {
    const m = /^account=([A-Za-z0-9_-]{1,64})\/$/.exec(prefix);
    if (!m)
      throw new RangeError(`local event store: prefix must be account=<id>/, got ${JSON.stringify(prefix)}`);
    return join(this.root, EVENT_OBJECTS.accountKey + m[1]);
  }

  /** The path of a key, which must stay inside an account folder of the root. */
  private pathOf(key: string): string {
    const path = resolve(this.root, ...key.split('/'));
    const rel = relative(this.root, path);
    if (rel.startsWith('..') || !rel.startsWith(EVENT_OBJECTS.accountKey) || !rel.includes(sep)) {
      throw Object.assign(new Error(`key ${key} is outside the event folders`), { code: 'InvalidKey' });
    }
    return path;
  }

  /** Removes emptied day folders, then emptied account folders (a file sink writing meanwhile recreates them). */
  private async pruneEmpty(dirs: Set<string>): Promise<void> {
    const parents = new Set<string>();
    for (const d of dirs) {
      if (await rmdirIfEmpty(d)) parents.add(dirname(d));
    }
    for (const p of parents) if (p !== this.root) await rmdirIfEmpty(p);
  }
}

async function rmdirIfEmpty(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch {
    // ENOTEMPTY (more files, or a writer), ENOENT (already gone): both fine.
    return false;
  }
}

async function walk(dir: string, visit: (file: string) => Promise<void>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, visit);
    else await visit(path);
  }
}
