/**
 * The edge store: the small key-value store the edge's routing function reads on every hit (a CloudFront
 * KeyValueStore on AWS, `<data dir>/edge-store.json` on embedded defaults). This port, its size rules and
 * the typed writers of its three kinds of keys (`EDGE_STORE` in the platform: which locations are down, an
 * account's home location, a revoked API key) are shared by the health check, the incident tooling and the
 * directory's writers, so each key is written in one format only.
 */
import { EDGE_STORE, ID_PATTERNS, LOCATIONS, type Location } from '../../../platform';

/** The store, as the services see it. */
export interface EdgeStore {
  /** The value of `key`, or `undefined` when it is absent. */
  get(key: string): Promise<string | undefined>;
  /** Writes every entry (creating or replacing); validated first, so a bad entry writes nothing. */
  put(entries: Readonly<Record<string, string>>): Promise<void>;
  /** Deletes the keys; an absent key is not an error. */
  delete(keys: readonly string[]): Promise<void>;
}

/** Size limits of a CloudFront KeyValueStore, kept by every adapter so that local mode cannot drift. */
export const EDGE_STORE_LIMITS = {
  /** Bytes of a key (UTF-8). */
  maxKeyBytes: 512,
  /** Bytes of a value (UTF-8). */
  maxValueBytes: 1024,
} as const;

/** An entry the store would refuse (empty, too long); nothing was written. */
export class EdgeStoreValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EdgeStoreValidationError';
  }
}

/** Checks a key against the store's rules. @throws EdgeStoreValidationError */
export function validateEdgeKey(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes === 0) throw new EdgeStoreValidationError('edge store: a key must not be empty');
  if (bytes > EDGE_STORE_LIMITS.maxKeyBytes)
    throw new EdgeStoreValidationError(
      `edge store: key "${key.slice(0, 40)}…" is ${bytes} bytes; a key is at most ${EDGE_STORE_LIMITS.maxKeyBytes}`,
    );
}

/** Checks every entry of a write. @throws EdgeStoreValidationError naming the first bad entry */
export function validateEdgeEntries(entries: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(entries)) {
    validateEdgeKey(key);
    if (typeof value !== 'string')
      throw new EdgeStoreValidationError(`edge store: the value of ${key} must be a string`);
    const bytes = Buffer.byteLength(value, 'utf8');
    // The routing function reads an absent key as "nothing"; an empty value would mean the same, so it is
    // refused to keep one way of saying it (delete the key instead).
    if (bytes === 0)
      throw new EdgeStoreValidationError(`edge store: the value of ${key} is empty; delete the key instead`);
    if (bytes > EDGE_STORE_LIMITS.maxValueBytes)
      throw new EdgeStoreValidationError(
        `edge store: the value of ${key} is ${bytes} bytes; a value is at most ${EDGE_STORE_LIMITS.maxValueBytes}`,
      );
  }
}

/**
 * Refuses an API key at the edge: writes `revoked:<keyId>` with the instant of revocation. The routing
 * function then answers 401 to every request presenting the key, once the store has propagated.
 * @throws EdgeStoreValidationError when `keyId` is not a key id (the public half of a key)
 */
export async function revokeKeyAtEdge(store: EdgeStore, keyId: string, at: Date): Promise<void> {
  if (!ID_PATTERNS.apiKeyId.test(keyId))
    throw new EdgeStoreValidationError(
      `revokeKeyAtEdge: "${keyId}" is not an API key id (16 lowercase letters or digits)`,
    );
  if (Number.isNaN(at.getTime()))
    throw new EdgeStoreValidationError('revokeKeyAtEdge: the revocation time is invalid');
  await store.put({ [EDGE_STORE.revokedKey(keyId)]: at.toISOString() });
}

/**
 * Sets (or, with `undefined`, removes) an account's home location at the edge: its hits then always go to
 * that location, whatever its health.
 * @throws EdgeStoreValidationError on a malformed account id or an unknown location
 */
export async function setHomeAtEdge(
  store: EdgeStore,
  accountId: string,
  location: Location | undefined,
): Promise<void> {
  if (!ID_PATTERNS.account.test(accountId))
    throw new EdgeStoreValidationError(`setHomeAtEdge: "${accountId}" is not an account id`);
  if (location === undefined) return store.delete([EDGE_STORE.homeKey(accountId)]);
  if (!(LOCATIONS as readonly string[]).includes(location))
    throw new EdgeStoreValidationError(
      `setHomeAtEdge: "${String(location)}" is not one of ${LOCATIONS.join(', ')}`,
    );
  await store.put({ [EDGE_STORE.homeKey(accountId)]: location });
}

/**
 * The locations the edge routes around, in `LOCATIONS` order. Names that are not locations (a hand edit)
 * are ignored, as the routing function ignores them.
 */
export async function readDown(store: EdgeStore): Promise<Location[]> {
  const raw = (await store.get(EDGE_STORE.downKey)) ?? '';
  const named = new Set(raw.split(',').map((s) => s.trim()));
  return LOCATIONS.filter((l) => named.has(l));
}

/**
 * Marks exactly these locations down (the others up): one comma-separated value in `LOCATIONS` order, or
 * no key at all when every location is up.
 * @throws EdgeStoreValidationError on an unknown location
 */
export async function writeDown(store: EdgeStore, locations: readonly Location[]): Promise<void> {
  for (const l of locations)
    if (!(LOCATIONS as readonly string[]).includes(l))
      throw new EdgeStoreValidationError(`writeDown: "${String(l)}" is not one of ${LOCATIONS.join(', ')}`);
  const value = LOCATIONS.filter((l) => locations.includes(l)).join(',');
  if (value === '') await store.delete([EDGE_STORE.downKey]);
  else await store.put({ [EDGE_STORE.downKey]: value });
}
