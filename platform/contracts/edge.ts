/**
 * The contract of the edge (CloudFront, its routing function and key value store) with the services and
 * tools that feed it: the keys of the edge store, the ids of the regional ingest origins, the health path,
 * and the outputs of the edge stack that tools read. The routing function, the health check, the incident
 * tooling and `publish-config` all agree through these names.
 */
import { PRODUCT, type Location, type Stage } from '../definition';

/**
 * Keys of the edge store (a CloudFront KeyValueStore on AWS; `<data dir>/edge-store.json` on embedded
 * defaults). Keys are at most 512 bytes and values at most 1 KB in a KeyValueStore.
 */
export const EDGE_STORE = {
  /** Locations currently routed around, comma-separated (e.g. `europe`); absent or empty when all are up. */
  downKey: 'down',
  /** An account's home location (data residency): `home:<accountId>` → a location. */
  homeKey: (accountId: string): string => `home:${accountId}`,
  /** A revoked API key: `revoked:<keyId>` → the ISO-8601 instant it was revoked. */
  revokedKey: (keyId: string): string => `revoked:${keyId}`,
} as const;

/** Id of a location's ingest origin in the distribution; the routing function selects origins by it. */
export function edgeOriginId(location: Location): string {
  return `ingest-${location}`;
}

/**
 * Path through the CDN to one location's readiness (`/readyz` of that location's origin), whatever the
 * viewer's location: what the health check probes.
 */
export function edgeHealthPath(location: Location): string {
  return `/_health/${location}`;
}

/** The query parameter every hit carries with its account id, so that the edge can route it. */
export const EDGE_ACCOUNT_PARAM = 'a';

/**
 * The header that carries a body's SHA-256 (lowercase hex) on a POST through the CDN: Lambda accepts a POST
 * signed by CloudFront's origin access control only with it.
 */
export const CONTENT_SHA256_HEADER = 'x-amz-content-sha256';

/** The header that carries an API key through the CDN (origin access control signs `Authorization`). */
export const API_KEY_HEADER = 'x-api-key';

/**
 * The query parameter a server may carry its API key in (refused by the origin, which keeps keys out of
 * URLs and logs); the edge still refuses a revoked key presented there.
 */
export const API_KEY_QUERY_PARAM = 'key';

/** Name of the edge stack of a stage (in us-east-1). */
export function edgeStackName(stage: Stage): string {
  return `${PRODUCT[0]!.toUpperCase()}${PRODUCT.slice(1)}-${stage}-edge`;
}

/** Outputs of the edge stack that tools (`publish-config`, the incident tooling) read by name. */
export const EDGE_STACK_OUTPUTS = {
  /** The config bucket's name. */
  configBucket: 'ConfigBucketName',
  /** The distribution's id (for invalidations). */
  distributionId: 'DistributionId',
  /** The distribution's domain name (or the stage's custom domain). */
  domainName: 'DistributionDomainName',
  /** The ARN of the edge store (the CloudFront KeyValueStore). */
  keyValueStoreArn: 'KeyValueStoreArn',
} as const;

/**
 * The snippet's source, relative to the repository root: the file `npm run local` serves, the one the edge
 * stack names (by its hash) and the one `publish-config` uploads.
 */
export const SNIPPET_SOURCE_PATH = 'services/ingest/static/snippet.js';

/**
 * The GCP edge's revoked keys: each revoked API key is one deny rule of the Cloud Armor backend policy
 * (`names.gcpBackendSecurityPolicy`), at a priority in this range, which the program leaves free for the
 * incident tooling. The program declares its own rules as separate resources outside the range, so a
 * later `pulumi up` keeps the rules the tooling added.
 */
export const ARMOR_REVOKED_KEY_RULES = {
  /** Priority of the first revoked-key rule (lower is evaluated first). */
  firstPriority: 1000,
  /** Priority of the last; Cloud Armor allows at most 200 rules per policy in all, so the range is ample. */
  lastPriority: 1999,
} as const;

/**
 * The Cloud Armor CEL expression matching a request that carries the key `keyId`, in the header or in the
 * query string (`?key=`), the two places the ingest service reads a key from.
 * @param keyId the key's public id (the `<keyid>` of `tsk_<keyid>_<secret>`), already validated
 */
export function armorRevokedKeyExpression(keyId: string): string {
  const prefix = `tsk_${keyId}_`;
  return (
    `request.headers['${API_KEY_HEADER}'].startsWith('${prefix}') || ` +
    `request.query.contains('${API_KEY_QUERY_PARAM}=${prefix}')`
  );
}
