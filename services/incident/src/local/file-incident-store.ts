/**
 * The incident store on embedded defaults: `<data dir>/incidents.json` (`INCIDENTS.localFile`), one JSON
 * document of every incident, readable by an operator. Each write re-reads the file under a lock file,
 * applies its compare-and-set and replaces the file atomically (temp file, fsync, rename), mode 0600, so
 * two processes (two operators' commands) never lose each other's steps.
 */
import { replaceFileAtomically } from '../../../shared/local-files';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { INCIDENTS } from '../../../../platform';
import { parseIncident, type Incident } from '../core/model';
import type { IncidentStore } from '../core/ports';
import { byNewestDetection } from '../core/order';

/** Options of {@link FileIncidentStore}. */
export interface FileIncidentStoreProps {
  /** The local data folder (`TS_DATA_DIR`); created (mode 0700) on the first write. */
  readonly dataDir: string;
  /**
   * How long to wait for another process' lock.
   * @default 10 s
   */
  readonly lockTimeoutMs?: number;
}

interface FileShape {
  version: 1;
  incidents: Incident[];
}

/** A lock older than this was left by a crashed writer (writes take milliseconds). */
const STALE_LOCK_MS = 30_000;

/** {@link IncidentStore} over a local JSON file. */
export class FileIncidentStore implements IncidentStore {
  /** Path of the file. */
  readonly file: string;
  readonly description: string;
  private readonly dataDir: string;
  private readonly lockFile: string;
  private readonly lockTimeoutMs: number;

  constructor(props: FileIncidentStoreProps) {
    this.dataDir = props.dataDir;
    this.file = join(props.dataDir, INCIDENTS.localFile);
    this.lockFile = `${this.file}.lock`;
    this.lockTimeoutMs = props.lockTimeoutMs ?? 10_000;
    this.description = `file:${this.file}`;
  }

  async create(incident: Incident): Promise<boolean> {
    return this.write((all) => {
      if (all.some((i) => i.id === incident.id)) return false;
      all.push(incident);
      return true;
    });
  }

  async get(id: string): Promise<Incident | undefined> {
    return (await this.read()).find((i) => i.id === id);
  }

  async list(): Promise<Incident[]> {
    return (await this.read()).sort(byNewestDetection);
  }

  async update(incident: Incident, expectedVersion: number): Promise<boolean> {
    return this.write((all) => {
      const at = all.findIndex((i) => i.id === incident.id);
      if (at < 0 || all[at]!.version !== expectedVersion) return false;
      all[at] = incident;
      return true;
    });
  }

  private async read(): Promise<Incident[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new Error(`cannot read the incident store ${this.file}`, { cause: err });
    }
    let parsed: Partial<FileShape>;
    try {
      parsed = JSON.parse(text) as Partial<FileShape>;
    } catch (err) {
      throw new Error(`the incident store ${this.file} is not valid JSON; fix it by hand`, { cause: err });
    }
    if (parsed?.version !== 1 || !Array.isArray(parsed.incidents))
      throw new Error(`the incident store ${this.file} is not {"version":1,"incidents":[…]}`);
    return parsed.incidents.map((raw, i) => parseIncident(raw, `${this.file}: incidents[${i}]`));
  }

  /** One read-modify-write under the lock; the file is replaced only when `change` says it changed. */
  private async write(change: (all: Incident[]) => boolean): Promise<boolean> {
    await fs.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      const all = await this.read();
      if (!change(all)) return false;
      const body: FileShape = { version: 1, incidents: all.sort(byNewestDetection) };
      try {
        await replaceFileAtomically(this.file, `${JSON.stringify(body, null, 2)}\n`);
      } catch (err) {
        throw new Error(`cannot replace the incident store ${this.file}`, { cause: err });
      }
      return true;
    } finally {
      await release();
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        const handle = await fs.open(this.lockFile, 'wx', 0o600);
        await handle.close();
        return () => fs.rm(this.lockFile, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const stat = await fs.stat(this.lockFile).catch(() => undefined);
      // The rename is the commit point, so breaking a crashed writer's lock loses nothing.
      if (stat && Date.now() - stat.mtimeMs > STALE_LOCK_MS) await fs.rm(this.lockFile, { force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `the incident store ${this.file} stayed locked for ${this.lockTimeoutMs} ms (${this.lockFile})`,
        );
      else await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 10)));
    }
  }
}
