/**
 * A stand-in of a Cloud Storage bucket (no emulator of Cloud Storage exists here): the few
 * `@google-cloud/storage` methods the config store and the snippet upload use, generations kept in memory,
 * every call recorded.
 */
import type { GcsBucketLike, GcsFileLike } from '../../../services/shared/campaign-config/gcs-config-store';

/** One stored generation. */
interface Stored {
  readonly name: string;
  readonly generation: number;
  readonly data: Buffer;
  readonly contentType: string;
  readonly cacheControl: string;
  live: boolean;
}

/** A stand-in bucket: generations in memory, every call recorded. */
export function standInBucket(name = 'trackstack-dev-config-trackstack-test') {
  const objects: Stored[] = [];
  const calls: string[] = [];
  let generation = 1;
  const file = (key: string, options: { generation?: string | number } = {}): GcsFileLike => {
    const live = () => objects.find((o) => o.name === key && o.live);
    const at = () =>
      options.generation !== undefined
        ? objects.find((o) => o.name === key && o.generation === Number(options.generation))
        : live();
    return {
      name: key,
      metadata: {},
      save: async (data, opts) => {
        calls.push(`save ${key}`);
        const prev = live();
        if (prev) prev.live = false;
        objects.push({
          name: key,
          generation: generation++,
          data: Buffer.from(data),
          contentType: opts.contentType,
          cacheControl: opts.metadata.cacheControl,
          live: true,
        });
      },
      download: async () => {
        calls.push(`download ${key}`);
        const o = live();
        if (!o) throw Object.assign(new Error(`No such object: ${name}/${key}`), { code: 404 });
        return [o.data];
      },
      exists: async () => [live() !== undefined],
      delete: async () => {
        calls.push(`delete ${key}#${options.generation ?? 'live'}`);
        const o = at();
        if (o) objects.splice(objects.indexOf(o), 1);
      },
    };
  };
  const bucket: GcsBucketLike = {
    name,
    file,
    getFiles: async (q) => {
      calls.push(`list ${q.prefix} versions=${q.versions}`);
      const found = objects.filter((o) => o.name.startsWith(q.prefix) && (q.versions || o.live));
      return [found.map((o) => ({ ...file(o.name), metadata: { generation: String(o.generation) } }))];
    },
  };
  return { bucket, objects, calls };
}
