/**
 * The snippet as the CDN serves it: a content-hashed object in the config bucket, and the CloudFront
 * Function that answers `/snippet.js` with the object of the current version.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { names, SNIPPET_SOURCE_PATH } from '../../../../../platform';
import { REPO_ROOT } from '../../../../build/paths';

/** The path customers' pages load the snippet from. */
export const SNIPPET_PATH = '/snippet.js';

/** Where the snippet's source lives: the same file `npm run local` serves. */
export const SNIPPET_SOURCE = join(REPO_ROOT, SNIPPET_SOURCE_PATH);

/** The key prefix of the snippet's versions in the config bucket. */
export const SNIPPET_PREFIX = 'snippet/';

/**
 * The config bucket key of one version of the snippet (`names.snippetObject`): the publisher uploads the
 * snippet under it; the edge stack's snippet function points at it.
 * @param code the snippet's source, as served
 */
export function snippetObjectKey(code: string | Buffer): string {
  return names.snippetObject(createHash('sha256').update(code).digest('hex'));
}

/** The key of the snippet in the repository now (read from {@link SNIPPET_SOURCE}). */
export function currentSnippetObjectKey(): string {
  return snippetObjectKey(readFileSync(SNIPPET_SOURCE));
}

/**
 * The code of the viewer-request CloudFront Function of `/snippet.js`: it rewrites the URI to the hashed
 * object. CloudFront computes the cache key after the viewer-request function, so each version is cached
 * under its own key and a new snippet is served as soon as the function that names it is deployed, without
 * an invalidation.
 * @param objectKey the object to serve, e.g. `snippetObjectKey(code)`
 */
export function snippetRewriteCode(objectKey: string): string {
  if (!/^snippet\/[0-9a-f]{16}\.js$/.test(objectKey)) {
    throw new Error(`snippetRewriteCode: "${objectKey}" is not a snippet object key`);
  }
  return `function handler(event) {
  event.request.uri = '/${objectKey}';
  return event.request;
}
`;
}
