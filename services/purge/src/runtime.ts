/**
 * The purge job's composition root: turns the validated environment into the directory, event stores and
 * receipt store, and the job over them. The AWS SDK is loaded only when the environment selects an AWS
 * store, the Google clients only when it selects a GCP one, so the local CLI never pays for either.
 */
import { stat } from 'node:fs/promises';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { join, resolve } from 'node:path';
import { REGIONS, type Location } from '../../../platform';
import type { ItemDirectory } from '../../shared/directory/item-directory';
import { PurgeJob, type PurgeJobProps } from './core/purge-job';
import type { EventObjectStore, PublishedConfigStore, PurgeLogger, ReceiptStore } from './core/ports';
import { createLogger } from '../../shared/logger';
import { ItemDirectoryPurgeStore } from './directory-store';
import { eventBuckets, type PurgeEnv } from '../../../platform/contracts/purge-env';
import type { PurgeGcpClients } from './gcp/gcp-adapters';

/** Options of {@link createPurgeRuntime}. */
export interface PurgeRuntimeOptions {
  /** @default silent */
  readonly logger?: PurgeLogger;
  /**
   * Extra settings for every AWS SDK client (tests point them at moto: endpoint, credentials, path-style).
   * @default none: the SDK's own resolution (Lambda role, AWS_ENDPOINT_URL, profiles)
   */
  readonly awsClientConfig?: Readonly<Record<string, unknown>>;
  /**
   * GCP clients to use instead of creating them (tests: the Firestore emulator, a stand-in Storage).
   * @default created from the environment
   */
  readonly gcp?: PurgeGcpClients;
  /** Passed through to the job (clock, hooks, retry settings). */
  readonly job?: Omit<PurgeJobProps, 'directory' | 'objectStores' | 'receipts' | 'logger'>;
}

/**
 * The local store named by `TS_DATA_DIR` (or its directory file) does not exist. Reading it as an empty
 * directory would report "nothing to purge" for a mistyped path; creating it would leave an empty store
 * behind. Nothing is changed.
 */
export class LocalStoreMissingError extends Error {
  constructor(
    /** The data directory asked for. */
    public readonly dataDir: string,
    /** What is missing: the folder itself or the directory file in it. */
    public readonly missing: string,
  ) {
    super(
      `${missing === dataDir ? `the local store ${dataDir} does not exist` : `the local store ${dataDir} has no directory file (${missing})`}, ` +
        'so there is nothing to purge there and nothing was created. `npm run local` creates the store; ' +
        'point at the folder it uses (TS_DATA_DIR, default .data).',
    );
    this.name = 'LocalStoreMissingError';
  }
}

/** The job and the stores it was built over. */
export interface PurgeRuntime {
  readonly env: PurgeEnv;
  readonly job: PurgeJob;
  readonly directory: ItemDirectoryPurgeStore;
  readonly objectStores: readonly EventObjectStore[];
  readonly receipts: ReceiptStore;
  /** Where a purged account's published campaign configs are deleted from, if anywhere. */
  readonly publishedConfigs?: PublishedConfigStore;
  /** Lets go of the clients the runtime created (the Firestore client); safe to call twice. */
  readonly close: () => Promise<void>;
}

/**
 * Builds the stores and the job from the environment.
 * @throws LocalStoreMissingError, having created nothing, when the directory is the local file and the
 *   data folder or its directory file does not exist
 */
export async function createPurgeRuntime(
  env: PurgeEnv,
  options: PurgeRuntimeOptions = {},
): Promise<PurgeRuntime> {
  const dataDir = resolve(env.TS_DATA_DIR);
  // The region always comes last: each store must talk to its own region whatever the overrides.
  const clientConfig = (region: string) => ({ ...options.awsClientConfig, region });

  let itemDirectory: ItemDirectory;
  let directoryName: string;
  let close = async (): Promise<void> => undefined;
  const gcp = () => import('./gcp/gcp-adapters');
  // One Storage client for every bucket.
  let storage: ReturnType<Awaited<ReturnType<typeof gcp>>['gcsStorage']> | undefined;
  const gcs = async () => (storage ??= (await gcp()).gcsStorage(options.gcp));
  if (env.TS_DIRECTORY === 'firestore') {
    const owned = await (await gcp()).firestoreDirectory(env, options.gcp);
    itemDirectory = owned.directory;
    directoryName = owned.description;
    let closed: Promise<void> | undefined;
    close = () => (closed ??= owned.close());
  } else if (env.TS_DIRECTORY === 'dynamodb') {
    const [{ DynamoDBClient }, { DynamoDirectory }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../../shared/directory/dynamo-directory'),
    ]);
    const tableName = env.TS_TABLE_NAME!;
    // The table is global: the replica in this instance's own region is the nearest.
    itemDirectory = new DynamoDirectory({
      client: new DynamoDBClient(clientConfig(REGIONS[env.TS_LOCATION].aws)),
      tableName,
    });
    directoryName = `dynamodb:${tableName}`;
  } else {
    const { LocalDirectory } = await import('../../shared/directory/local-directory');
    const local = new LocalDirectory({ dataDir });
    // Checked, not created: the local directory makes its folder on first write, and reads a missing
    // file as an empty directory.
    for (const [path, kind] of [
      [dataDir, 'folder'],
      [local.file, 'file'],
    ] as const) {
      const found = await stat(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
        throw err;
      });
      if (!found || (kind === 'folder' ? !found.isDirectory() : !found.isFile()))
        throw new LocalStoreMissingError(dataDir, path);
    }
    itemDirectory = local;
    directoryName = `file:${local.file}`;
  }
  const directory = new ItemDirectoryPurgeStore({ directory: itemDirectory, description: directoryName });

  let objectStores: EventObjectStore[];
  if (env.TS_OBJECT_STORE === 'gcs') {
    const adapters = await gcp();
    objectStores = adapters.gcsEventStores(env, await gcs());
  } else if (env.TS_OBJECT_STORE === 's3') {
    const [{ S3Client }, { S3EventObjectStore }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('./aws/s3-event-store'),
    ]);
    objectStores = (Object.entries(eventBuckets(env)) as [Location, string][]).map(
      ([location, bucket]) =>
        new S3EventObjectStore({
          // Each bucket is addressed in its own region: no cross-region redirects, and data-residency
          // rules that pin a bucket to its region keep holding.
          client: new S3Client({ ...clientConfig(REGIONS[location].aws) }),
          bucket,
          location,
        }),
    );
  } else {
    const { FileEventObjectStore } = await import('./local/file-event-store');
    objectStores = [
      new FileEventObjectStore({ rootDir: join(dataDir, 'events'), location: env.TS_LOCATION }),
    ];
  }

  let publishedConfigs: PublishedConfigStore | undefined;
  if (env.TS_CONFIG_BUCKET && env.TS_OBJECT_STORE === 'gcs') {
    // One config bucket per GCP stage, next to the event buckets of the same project.
    const adapters = await gcp();
    publishedConfigs = await adapters.gcsPublishedConfigs(env.TS_CONFIG_BUCKET, await gcs());
  } else if (env.TS_CONFIG_BUCKET) {
    const { S3ConfigStore, configBucketClient } =
      await import('../../shared/campaign-config/s3-config-store');
    // The bucket is in us-east-1 whatever this instance's region; its client follows region redirects.
    publishedConfigs = new S3ConfigStore({
      bucket: env.TS_CONFIG_BUCKET,
      client: configBucketClient({ ...options.awsClientConfig } as S3ClientConfig),
    });
  } else if (env.TS_DIRECTORY === 'file') {
    // Local mode publishes campaign configs next to its data, where `npm run local` serves them.
    const { FileConfigStore } = await import('../../shared/campaign-config/file-config-store');
    publishedConfigs = new FileConfigStore({ dataDir });
  }

  let receipts: ReceiptStore;
  if (env.TS_RECEIPT_STORE === 'gcs') {
    const adapters = await gcp();
    receipts = adapters.gcsReceiptStore(env.TS_RECEIPTS_BUCKET!, await gcs());
  } else if (env.TS_RECEIPT_STORE === 's3') {
    const [{ S3Client }, { S3ReceiptStore }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('./aws/s3-receipt-store'),
    ]);
    receipts = new S3ReceiptStore({
      client: new S3Client(clientConfig(env.TS_RECEIPTS_REGION)),
      bucket: env.TS_RECEIPTS_BUCKET!,
      retentionDays: env.TS_RECEIPT_RETENTION_DAYS,
      ...(options.job?.now ? { now: options.job.now } : {}),
    });
  } else {
    const { FileReceiptStore } = await import('./local/file-receipt-store');
    receipts = new FileReceiptStore({ dir: join(dataDir, 'receipts') });
  }

  const job = new PurgeJob({
    ...options.job,
    directory,
    objectStores,
    receipts,
    ...(publishedConfigs ? { publishedConfigs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return {
    env,
    job,
    directory,
    objectStores,
    receipts,
    ...(publishedConfigs ? { publishedConfigs } : {}),
    close,
  };
}

/**
 * The job's logger: the services' pino logger (the same redaction as the ingest service's), one JSON line
 * per entry on stdout.
 */
export function purgeLogger(
  level: PurgeEnv['TS_LOG_LEVEL'],
  base: Readonly<Record<string, unknown>> = {},
): PurgeLogger {
  const log = createLogger({ service: 'purge', level, base });
  return {
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}
