/**
 * What `publish-config --cloud gcp` needs besides the directory and the config store: the snippet uploaded
 * to the stage's config bucket (the same content-addressed key as on AWS), and Cloud CDN invalidations of
 * the changed paths on the load balancer's URL map (`names.gcpUrlMap(stage)`), one `invalidateCache` call
 * per path pattern, as the Compute API takes one path per call.
 */
import { readFile } from 'node:fs/promises';
import { CAMPAIGN_CONFIG } from '../../../platform';
import type { GcsBucketLike } from '../../shared/campaign-config/gcs-config-store';
import type { ComputeRequest } from '../../shared/edge-store/armor-edge-store';
import { SNIPPET_CACHE_CONTROL, SNIPPET_FILE, snippetKey, type SnippetOutcome } from './snippet';

/**
 * Most paths invalidated one by one before the publisher asks for the whole `/config/*` instead: each path
 * is a Compute API call, and Cloud CDN rate-limits invalidations, so a large publish sends one wildcard.
 */
export const MAX_GCP_INVALIDATION_PATHS = 20;

/** The path patterns an invalidation of `changed` sends. */
export function gcpInvalidationPaths(changed: readonly string[]): string[] {
  return changed.length > MAX_GCP_INVALIDATION_PATHS ? [`/${CAMPAIGN_CONFIG.root}*`] : [...new Set(changed)];
}

/**
 * Invalidates the changed paths on the URL map, one `invalidateCache` per path pattern.
 * @returns the operations' names, comma-separated
 */
export async function invalidateUrlMap(
  request: ComputeRequest,
  project: string,
  urlMap: string,
  changed: readonly string[],
): Promise<string> {
  const url =
    `https://compute.googleapis.com/compute/v1/projects/${encodeURIComponent(project)}` +
    `/global/urlMaps/${encodeURIComponent(urlMap)}/invalidateCache`;
  const paths = gcpInvalidationPaths(changed);
  const operations: string[] = [];
  for (const path of paths) {
    try {
      const op = (await request({ method: 'POST', url, data: { path } })) as { name?: string } | undefined;
      operations.push(op?.name ?? '(unnamed operation)');
    } catch (err) {
      throw new Error(
        `the documents were written, but invalidating ${path} on the URL map ${urlMap} failed after ` +
          `${operations.length} of ${paths.length} path(s) (the CDN serves the old ones until their cache ` +
          `lifetime ends; run it again to retry): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return operations.join(', ');
}

/**
 * Uploads the snippet's current version to the config bucket unless it is there (its key is its hash, so
 * an existing object is that very version and is never overwritten).
 * @param dryRun look only; upload nothing
 */
export async function publishSnippetToGcs(
  bucket: GcsBucketLike,
  options: { readonly dryRun?: boolean; readonly file?: string } = {},
): Promise<SnippetOutcome> {
  const code = await readFile(options.file ?? SNIPPET_FILE);
  const key = snippetKey(code);
  const [exists] = await bucket.file(key).exists();
  if (exists) return { key, result: 'unchanged' };
  if (!options.dryRun)
    await bucket.file(key).save(code, {
      contentType: 'text/javascript; charset=utf-8',
      metadata: { cacheControl: SNIPPET_CACHE_CONTROL },
      resumable: false,
    });
  return { key, result: 'created' };
}
