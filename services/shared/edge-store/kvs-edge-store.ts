/**
 * The edge store on AWS: the CloudFront KeyValueStore the routing function reads. Every write names the
 * store's current version (`IfMatch`, the ETag from DescribeKeyValueStore or from the previous write), so
 * two writers cannot silently overwrite each other's batch: the loser gets a conflict, reads the new ETag
 * and tries again with backoff. Writes go in UpdateKeys batches (all-or-nothing each) within the API's
 * limits. Changes reach the edge locations within seconds of a successful write.
 */
// The KeyValueStore API is signed with SigV4A; the SDK finds the signer only when this package is loaded.
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ResourceNotFoundException,
  UpdateKeysCommand,
  type CloudFrontKeyValueStoreClientConfig,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { backoffMs, sleep as realSleep } from '../backoff';
import { validateEdgeEntries, validateEdgeKey, type EdgeStore } from './edge-store';

/**
 * Limits of one UpdateKeys request: at most 50 puts and deletes together. Its payload limit (3 MB) cannot
 * be reached by 50 keys of 512 bytes with values of 1 KB, so only the count is kept.
 */
export const KVS_UPDATE_LIMITS = {
  /** Puts and deletes together in one request. */
  maxKeysPerRequest: 50,
} as const;

/** Options of {@link KvsEdgeStore}. */
export interface KvsEdgeStoreProps {
  /** ARN of the KeyValueStore (the edge stack's output `KeyValueStoreArn`). */
  readonly kvsArn: string;
  /**
   * The client (tests pass a mocked one).
   * @default a client in us-east-1 with `clientConfig`
   */
  readonly client?: CloudFrontKeyValueStoreClient;
  /**
   * Settings of the default client.
   * @default none
   */
  readonly clientConfig?: CloudFrontKeyValueStoreClientConfig;
  /**
   * Attempts of one batch when its ETag keeps changing under it.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Waits between attempts (tests pass a fake).
   * @default setTimeout
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A request to the store failed (a write after its retries). A failed write may follow earlier batches of
 * the same call that were applied: each batch is all-or-nothing, the call is not.
 */
export class EdgeStoreRequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeStoreRequestError';
  }
}

interface Change {
  readonly key: string;
  readonly value?: string;
}

/** {@link EdgeStore} over a CloudFront KeyValueStore. */
export class KvsEdgeStore implements EdgeStore {
  private readonly kvsArn: string;
  private readonly client: CloudFrontKeyValueStoreClient;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(props: KvsEdgeStoreProps) {
    if (!/^arn:aws[\w-]*:cloudfront::\d{12}:key-value-store\/[\w-]+$/.test(props.kvsArn))
      throw new Error(
        `KvsEdgeStore: "${props.kvsArn}" is not a KeyValueStore ARN (arn:aws:cloudfront::<account>:key-value-store/<id>)`,
      );
    if (props.maxAttempts !== undefined && (!Number.isInteger(props.maxAttempts) || props.maxAttempts < 1))
      throw new Error('KvsEdgeStore: maxAttempts must be a whole number of at least 1');
    this.kvsArn = props.kvsArn;
    this.client =
      props.client ?? new CloudFrontKeyValueStoreClient({ region: 'us-east-1', ...props.clientConfig });
    this.maxAttempts = props.maxAttempts ?? 5;
    this.sleep = props.sleep ?? realSleep;
  }

  async get(key: string): Promise<string | undefined> {
    validateEdgeKey(key);
    try {
      const out = await this.client.send(new GetKeyCommand({ KvsARN: this.kvsArn, Key: key }));
      return out.Value;
    } catch (err) {
      // The API answers a missing key with ResourceNotFoundException, as it would a missing store; the
      // store's existence is checked by every write (DescribeKeyValueStore), so absent is the reading here.
      if (err instanceof ResourceNotFoundException) return undefined;
      throw new EdgeStoreRequestError(`cannot read ${key} from the edge store ${this.kvsArn}`, {
        cause: err,
      });
    }
  }

  async put(entries: Readonly<Record<string, string>>): Promise<void> {
    validateEdgeEntries(entries);
    await this.write(Object.entries(entries).map(([key, value]) => ({ key, value })));
  }

  async delete(keys: readonly string[]): Promise<void> {
    keys.forEach(validateEdgeKey);
    await this.write([...new Set(keys)].map((key) => ({ key })));
  }

  private async write(changes: readonly Change[]): Promise<void> {
    let etag: string | undefined;
    for (const batch of batches(changes)) etag = await this.writeBatch(batch, etag);
  }

  /** Writes one batch, retrying on a version conflict; returns the store's version after it. */
  private async writeBatch(
    batch: readonly Change[],
    knownEtag: string | undefined,
  ): Promise<string | undefined> {
    let etag = knownEtag;
    for (let attempt = 1; ; attempt++) {
      try {
        etag ??= await this.currentEtag();
        const puts = batch.filter((c) => c.value !== undefined).map((c) => ({ Key: c.key, Value: c.value! }));
        const deletes = batch.filter((c) => c.value === undefined).map((c) => ({ Key: c.key }));
        const out = await this.client.send(
          new UpdateKeysCommand({
            KvsARN: this.kvsArn,
            IfMatch: etag,
            ...(puts.length > 0 ? { Puts: puts } : {}),
            ...(deletes.length > 0 ? { Deletes: deletes } : {}),
          }),
        );
        return out.ETag;
      } catch (err) {
        if (!isConflict(err) || attempt >= this.maxAttempts)
          throw new EdgeStoreRequestError(
            `cannot write ${batch.length} key(s) (${batch[0]!.key}…) to the edge store ${this.kvsArn}` +
              (isConflict(err) ? ` after ${attempt} attempts: its version kept changing` : ''),
            { cause: err },
          );
        // Someone else wrote in between: read the new version and try again.
        etag = undefined;
        await this.sleep(backoffMs(attempt, { baseMs: 100, maxMs: 2_000, jitter: 'equal' }));
      }
    }
  }

  private async currentEtag(): Promise<string> {
    const out = await this.client.send(new DescribeKeyValueStoreCommand({ KvsARN: this.kvsArn }));
    if (!out.ETag) throw new Error(`DescribeKeyValueStore gave no ETag for ${this.kvsArn}`);
    return out.ETag;
  }
}

/** A stale `IfMatch`: the API's ConflictException, or a plain HTTP 409/412 from a proxy or an older API. */
function isConflict(err: unknown): boolean {
  if (err instanceof ConflictException) return true;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'ConflictException' ||
    e?.name === 'PreconditionFailed' ||
    e?.$metadata?.httpStatusCode === 409 ||
    e?.$metadata?.httpStatusCode === 412
  );
}

/** Splits changes into UpdateKeys requests within {@link KVS_UPDATE_LIMITS}, in order. */
export function batches<T>(changes: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < changes.length; i += KVS_UPDATE_LIMITS.maxKeysPerRequest)
    out.push(changes.slice(i, i + KVS_UPDATE_LIMITS.maxKeysPerRequest));
  return out;
}
