/**
 * The snippet in the config bucket: each version is its own object, `names.snippetObject(<sha-256>)`, which
 * the edge stack's `/snippet.js` function names. The edge stack does not upload it (a BucketDeployment
 * brings an unbounded x86 function of its own), so `publish-config` does, once per version.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { names, SNIPPET_SOURCE_PATH } from '../../../platform';

/** The repository's snippet, as `npm run local` serves it. */
export const SNIPPET_FILE = join(__dirname, '..', '..', '..', SNIPPET_SOURCE_PATH);

/**
 * What browsers may keep: five minutes, so a new version reaches pages soon after the edge stack that
 * names it is deployed (the CDN keeps each version for a year under its own key).
 */
export const SNIPPET_CACHE_CONTROL = 'public, max-age=300';

/** What publishing the snippet did. */
export interface SnippetOutcome {
  /** The object key, `snippet/<hash>.js`. */
  readonly key: string;
  /** `created`, or `unchanged` when the version was already in the bucket. */
  readonly result: 'created' | 'unchanged';
}

/** The object key of a snippet's bytes. */
export function snippetKey(code: Buffer | string): string {
  return names.snippetObject(createHash('sha256').update(code).digest('hex'));
}

/**
 * Uploads the snippet's current version unless the bucket has it. The key is derived from the content, so
 * an existing object of that key is that very version and is never overwritten.
 * @param dryRun look only; upload nothing
 */
export async function publishSnippet(
  client: S3Client,
  bucket: string,
  options: { readonly dryRun?: boolean; readonly file?: string } = {},
): Promise<SnippetOutcome> {
  const code = await readFile(options.file ?? SNIPPET_FILE);
  const key = snippetKey(code);
  if (await exists(client, bucket, key)) return { key, result: 'unchanged' };
  if (!options.dryRun)
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: code,
        ContentType: 'text/javascript; charset=utf-8',
        CacheControl: SNIPPET_CACHE_CONTROL,
      }),
    );
  return { key, result: 'created' };
}

async function exists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw err;
  }
}
