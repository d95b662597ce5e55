/**
 * A stand-in of the `@google-cloud/storage` Bucket for the purge's GCS adapters: there is no Cloud
 * Storage emulator here, so this small fake implements only the methods the adapters call (getFiles
 * with versions and page tokens, file(name, { generation }).delete, save with ifGenerationMatch,
 * download) with Cloud Storage's answers (404, 412), and records every call. It proves the adapters'
 * logic, not the real service's behaviour (retention lock, IAM, listing order across real pages).
 */
import type { GcsBucketLike, GcsFileLike } from '../../../services/purge/src/gcp/gcs-event-store';
import type {
  GcsReceiptBucketLike,
  GcsReceiptFileLike,
} from '../../../services/purge/src/gcp/gcs-receipt-store';

interface Generation {
  readonly name: string;
  readonly generation: number;
  readonly data: string;
}

function apiError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A versioned bucket in memory: every generation kept until deleted by number. */
export class FakeGcsBucket implements GcsBucketLike, GcsReceiptBucketLike {
  readonly generations: Generation[] = [];
  readonly calls: string[] = [];
  /** Names whose deletes fail with this status (e.g. 503), for the error path. */
  readonly failDeletes = new Map<string, number>();
  private nextGeneration = 1_700_000_000_000_000;

  constructor(readonly name: string) {}

  /** Writes a new live generation of `name` (the previous one becomes noncurrent). */
  put(name: string, data = 'x'): number {
    const generation = (this.nextGeneration += 1);
    this.generations.push({ name, generation, data });
    return generation;
  }

  /** Names (with generations) still stored. */
  names(): string[] {
    return this.generations.map((g) => `${g.name}#${g.generation}`).sort();
  }

  private live(name: string): Generation | undefined {
    return this.generations.filter((g) => g.name === name).sort((a, b) => b.generation - a.generation)[0];
  }

  getFiles: GcsBucketLike['getFiles'] = async (query) => {
    this.calls.push(`getFiles ${query.prefix} ${query.pageToken ?? ''}`);
    if (!query.versions) throw new Error('stand-in: expected a listing of every generation');
    const all = this.generations
      .filter((g) => g.name.startsWith(query.prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.generation - b.generation));
    const start = query.pageToken ? Number(query.pageToken) : 0;
    // The config store lists with autoPaginate (every generation at once); the event store pages.
    const page = query.autoPaginate ? all : all.slice(start, start + query.maxResults);
    const files = page.map((g) => this.handle(g.name, g.generation));
    const end = start + page.length;
    return [files, end < all.length ? { pageToken: String(end) } : null];
  };

  file(name: string, options: { generation?: number | string } = {}): GcsFileLike & GcsReceiptFileLike {
    return this.handle(name, options.generation === undefined ? undefined : Number(options.generation));
  }

  private handle(name: string, generation: number | undefined): GcsFileLike & GcsReceiptFileLike {
    const found = generation === undefined ? this.live(name) : undefined;
    const size = this.generations.find((g) => g.name === name && g.generation === generation)?.data.length;
    return {
      name,
      metadata: { generation: String(generation ?? found?.generation), size: String(size ?? 0) },
      delete: async (opts) => {
        this.calls.push(`delete ${name}#${generation} if ${opts?.ifGenerationMatch}`);
        const fail = this.failDeletes.get(name);
        if (fail !== undefined) throw apiError(fail, 'stand-in failure');
        const i = this.generations.findIndex((g) => g.name === name && g.generation === generation);
        if (i < 0) throw apiError(404, `No such object: ${this.name}/${name}`);
        this.generations.splice(i, 1);
      },
      save: async (data, opts) => {
        this.calls.push(`save ${name} if ${opts.preconditionOpts.ifGenerationMatch}`);
        if (opts.preconditionOpts.ifGenerationMatch === 0 && this.live(name)) {
          throw apiError(412, 'At least one of the pre-conditions you specified did not hold.');
        }
        this.put(name, data);
      },
      download: async () => {
        const g = this.live(name);
        if (!g) throw apiError(404, `No such object: ${this.name}/${name}`);
        return [Buffer.from(g.data, 'utf8')];
      },
    };
  }
}
