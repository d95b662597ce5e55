/**
 * The edge store on embedded defaults: one JSON object in `<dataDir>/edge-store.json`. Each write replaces
 * the file atomically (a temporary file, fsynced, then renamed), so a reader never sees half a file; writes
 * of one instance are serialized, so concurrent read-modify-writes in one process do not lose updates.
 * Separate processes writing at once may still lose one of two updates (last rename wins): local mode runs
 * one writer at a time.
 */
import { replaceFileAtomically } from '../local-files';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { validateEdgeEntries, validateEdgeKey, type EdgeStore } from './edge-store';

/** Name of the store's file in the data folder. */
export const EDGE_STORE_FILE = 'edge-store.json';

/** Options of {@link FileEdgeStore}. */
export interface FileEdgeStoreProps {
  /** The local data folder (`TS_DATA_DIR`); created (mode 0700) on the first write. */
  readonly dataDir: string;
}

/** A file that is not a JSON object of strings: the store refuses to guess and changes nothing. */
export class EdgeStoreFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeStoreFileError';
  }
}

/** {@link EdgeStore} over a local JSON file. */
export class FileEdgeStore implements EdgeStore {
  /** Path of the store's file. */
  public readonly file: string;
  private readonly dataDir: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(props: FileEdgeStoreProps) {
    if (!props.dataDir) throw new Error('FileEdgeStore: dataDir must name a folder');
    this.dataDir = props.dataDir;
    this.file = join(props.dataDir, EDGE_STORE_FILE);
  }

  async get(key: string): Promise<string | undefined> {
    validateEdgeKey(key);
    const all = await this.readAll();
    return Object.prototype.hasOwnProperty.call(all, key) ? all[key] : undefined;
  }

  async put(entries: Readonly<Record<string, string>>): Promise<void> {
    validateEdgeEntries(entries);
    if (Object.keys(entries).length === 0) return;
    await this.update((all) => Object.assign(all, entries));
  }

  async delete(keys: readonly string[]): Promise<void> {
    keys.forEach(validateEdgeKey);
    if (keys.length === 0) return;
    await this.update((all) => {
      for (const key of keys) delete all[key];
    });
  }

  /** All entries (a copy). */
  async entries(): Promise<Record<string, string>> {
    return this.readAll();
  }

  private async readAll(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new EdgeStoreFileError(`cannot read the edge store ${this.file}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new EdgeStoreFileError(`the edge store ${this.file} is not valid JSON; fix or delete it`, {
        cause: err,
      });
    }
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      Array.isArray(parsed) ||
      Object.values(parsed).some((v) => typeof v !== 'string')
    )
      throw new EdgeStoreFileError(
        `the edge store ${this.file} must be a JSON object of strings; fix or delete it`,
      );
    // A null-prototype copy, so that keys such as "__proto__" are ordinary entries.
    return Object.assign(Object.create(null) as Record<string, string>, parsed);
  }

  /** One read-modify-write, after every earlier one of this instance. */
  private update(change: (all: Record<string, string>) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const all = await this.readAll();
      change(all);
      await this.writeAll(all);
    });
    // The queue goes on after a failed write; the caller still sees the failure.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeAll(all: Record<string, string>): Promise<void> {
    await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    try {
      await replaceFileAtomically(this.file, `${JSON.stringify(sorted, null, 2)}\n`);
    } catch (err) {
      throw new EdgeStoreFileError(`cannot replace the edge store ${this.file}`, { cause: err });
    }
  }
}
