/**
 * Composition root of the ingest service: turns the validated environment into the sink, key provider,
 * directory, pipeline and app. `server.ts` (local and containers), `lambda.ts` (AWS) and `gcf.ts` (Cloud
 * Functions) all start here, so every deployment runs the same objects.
 */
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import { METRIC_DIMENSIONS, metricsNamespace } from '../../../platform';
import { createApp, type ReadinessReport } from './app';
import { DataKeyService } from './crypto/data-keys';
import type { KeyProvider } from './crypto/key-provider';
import { LocalKeyProvider, defaultKeyFile } from './crypto/local-key-provider';
import { CachedDirectory } from '../../shared/directory/cached-directory';
import type { Directory } from '../../shared/directory/directory';
import { LocalDirectory } from '../../shared/directory/local-directory';
import type { IngestEnv } from '../../../platform/contracts/ingest-env';
import { IngestHandlers } from './http/handlers';
import { leanListener } from './http/lean';
import { STATIC_DIR } from './http/local-routes';
import { createLogger, type Logger } from '../../shared/logger';
import { Metrics } from './metrics';
import { TokenBucketLimiter } from './pipeline/limits';
import { IngestPipeline } from './pipeline/pipeline';
import { BufferedSink } from './sinks/buffered-sink';
import { FileSink } from './sinks/file-sink';
import type { Sink } from './sinks/sink';
import { DiskSpool } from './sinks/spool';

/** Everything a running ingest service is made of. */
export interface Runtime {
  readonly env: IngestEnv;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly sink: BufferedSink;
  readonly keyProvider: KeyProvider;
  /** The directory without the status cache. */
  readonly directory: Directory;
  readonly dataKeys: DataKeyService;
  readonly pipeline: IngestPipeline;
  readonly handlers: IngestHandlers;
  /** The express app alone. */
  readonly app: RequestListener;
  /** The lean pixel path in front of the express app: what servers listen with. */
  readonly listener: RequestListener;
  /** Checks every dependency. */
  readiness(): Promise<ReadinessReport>;
  /** Flushes the sink (everything acknowledged reaches the sink or spool) and stops timers. */
  close(): Promise<void>;
}

/** Parts a caller (a test, the benchmark) may supply instead of the ones the environment selects. */
export interface RuntimeOverrides {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly sink?: Sink;
  readonly keyProvider?: KeyProvider;
  readonly directory?: Directory;
  /** Clock for the pipeline, in milliseconds. */
  readonly now?: () => number;
  /** Per-IP rate limiter. */
  readonly ipLimiter?: TokenBucketLimiter;
  /** Per-API-key rate limiter. */
  readonly keyLimiter?: TokenBucketLimiter;
  /** Per-IP limiter of postbacks. */
  readonly postbackIpLimiter?: TokenBucketLimiter;
  /** Per-IP limiter of failed API-key attempts. */
  readonly authFailureLimiter?: TokenBucketLimiter;
  /**
   * Loads the GCP adapters (`() => import('./gcp-adapters').then((m) => m.gcpAdapters)`), which an
   * environment selecting `pubsub`, `cloudkms` or `firestore` needs. The entries that run on GCP pass it;
   * the runtime never names that module, so a bundle built from the Lambda entry carries no Google client.
   */
  readonly gcp?: () => Promise<GcpAdapters>;
}

/** An adapter with the client it created, which the runtime releases on close. */
export interface OwnedAdapter<T> {
  readonly value: T;
  close(): Promise<unknown>;
}

/** Builders of the GCP adapters (see `gcp-adapters.ts`). */
export interface GcpAdapters {
  /** The Cloud KMS key provider (`TS_KEY_PROVIDER=cloudkms`). */
  keyProvider(env: IngestEnv, metrics: Metrics): Promise<OwnedAdapter<KeyProvider>>;
  /** The Firestore directory (`TS_DIRECTORY=firestore`). */
  directory(env: IngestEnv): Promise<OwnedAdapter<Directory>>;
  /** The Pub/Sub sink (`TS_SINK=pubsub`). */
  sink(env: IngestEnv): Promise<OwnedAdapter<Sink>>;
}

const READY_TIMEOUT_MS = 2_000;

/** A value the environment schema already requires in this configuration. */
function required(value: string | undefined): string {
  if (value === undefined) throw new Error('unreachable: the environment schema requires this value');
  return value;
}

async function probe(check: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
    return 'ok';
  } catch (err) {
    return (err as Error).message || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the origin secret from Secrets Manager; the service refuses to start without it. */
async function readOriginSecret(secretId: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value = out.SecretString ?? '';
    if (value.length < 16) throw new Error(`the origin secret ${secretId} is shorter than 16 characters`);
    return value;
  } finally {
    client.destroy();
  }
}

/**
 * The accounts among `accountIds` whose data may no longer be stored: purged, or not in the directory at
 * all. Read from the directory itself (not the status cache): a spool drains rarely, and a purge must win.
 */
async function purgedAccounts(directory: Directory, accountIds: readonly string[]): Promise<Set<string>> {
  const accounts = await Promise.all(accountIds.map((id) => directory.getAccount(id)));
  return new Set(accountIds.filter((_, i) => accounts[i] === undefined || accounts[i]?.status === 'purged'));
}

/** A limiter of the operator's rate, with the operator's burst (`TS_RATE_BURST_SECONDS` of that rate). */
function limiter(env: IngestEnv, ratePerSecond: number): TokenBucketLimiter {
  return new TokenBucketLimiter({ ratePerSecond, burst: ratePerSecond * env.TS_RATE_BURST_SECONDS });
}

/** Builds the runtime the environment describes. */
export async function createRuntime(env: IngestEnv, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const logger =
    overrides.logger ??
    createLogger({
      service: 'ingest',
      level: env.TS_LOG_LEVEL,
      base: { stage: env.TS_STAGE, location: env.TS_LOCATION },
    });
  const metrics = overrides.metrics ?? new Metrics();
  const dataDir = env.TS_DATA_DIR;
  // Clients this runtime creates and must release on close (the GCP clients hold gRPC channels open).
  const clientClosers: (() => Promise<unknown>)[] = [];
  const owned = <T>(adapter: OwnedAdapter<T>): T => {
    clientClosers.push(adapter.close);
    return adapter.value;
  };
  let gcpLoaded: Promise<GcpAdapters> | undefined;
  const gcp = (selection: string): Promise<GcpAdapters> => {
    if (!overrides.gcp)
      throw new Error(
        `${selection} needs the GCP adapters, which this entry does not load: run gcf.ts or server.ts`,
      );
    return (gcpLoaded ??= overrides.gcp());
  };

  // Cloud SDK modules load only when the environment selects them: local mode and cold starts stay light.
  const keyProvider =
    overrides.keyProvider ??
    (env.TS_KEY_PROVIDER === 'kms'
      ? await (async () => {
          const [{ KMSClient }, { KmsKeyProvider }] = await Promise.all([
            import('@aws-sdk/client-kms'),
            import('./crypto/kms-key-provider'),
          ]);
          return new KmsKeyProvider({
            client: new KMSClient({}),
            keyId: required(env.TS_KMS_KEY_ID),
            metrics,
          });
        })()
      : env.TS_KEY_PROVIDER === 'cloudkms'
        ? owned(await (await gcp('TS_KEY_PROVIDER=cloudkms')).keyProvider(env, metrics))
        : new LocalKeyProvider({ keyFile: defaultKeyFile(dataDir), metrics }));

  const directory =
    overrides.directory ??
    (env.TS_DIRECTORY === 'dynamodb'
      ? await (async () => {
          const [{ DynamoDBClient }, { DynamoDirectory }] = await Promise.all([
            import('@aws-sdk/client-dynamodb'),
            import('../../shared/directory/dynamo-directory'),
          ]);
          return new DynamoDirectory({
            client: new DynamoDBClient({}),
            tableName: required(env.TS_TABLE_NAME),
          });
        })()
      : env.TS_DIRECTORY === 'firestore'
        ? owned(await (await gcp('TS_DIRECTORY=firestore')).directory(env))
        : new LocalDirectory({ dataDir }));

  const innerSink =
    overrides.sink ??
    (env.TS_SINK === 'firehose'
      ? await (async () => {
          const [{ FirehoseClient }, { FirehoseSink }] = await Promise.all([
            import('@aws-sdk/client-firehose'),
            import('./sinks/firehose-sink'),
          ]);
          // BufferedSink retries and spools; SDK-level retries would only delay the spool during an outage.
          // Every stream of the region, in index order: an account's stream is eventStreamIndex of it.
          return new FirehoseSink({
            client: new FirehoseClient({ maxAttempts: 1 }),
            // The environment schema requires the list with TS_SINK=firehose; the sink names a missing one.
            streamNames: env.TS_FIREHOSE_STREAMS ?? [],
            metrics,
          });
        })()
      : env.TS_SINK === 'pubsub'
        ? owned(await (await gcp('TS_SINK=pubsub')).sink(env))
        : new FileSink({ rootDir: join(dataDir, 'events') }));

  const sink = new BufferedSink({
    sink: innerSink,
    spool: new DiskSpool({ dir: env.TS_SPOOL_DIR ?? join(dataDir, 'spool') }),
    metrics,
    logger,
    droppedAccounts: (accountIds) => purgedAccounts(directory, accountIds),
  });

  const dataKeys = new DataKeyService({ provider: keyProvider, directory, location: env.TS_LOCATION });
  // The operator's TTL (the schema caps it at LIMITS.keyStatusCacheSeconds; the cache refuses more too).
  const cached = new CachedDirectory({ directory, ttlSeconds: env.TS_KEY_CACHE_SECONDS });
  const pipeline = new IngestPipeline({
    directory: cached,
    encryptor: dataKeys,
    sink,
    metrics,
    location: env.TS_LOCATION,
    homeLocations: env.TS_HOME_LOCATIONS,
    now: overrides.now,
    onReleaseError: (err) =>
      logger.error({ err }, 'a conversion claim could not be released; a retry may be taken for a duplicate'),
  });
  const handlers = new IngestHandlers(
    { pipeline, directory: cached, metrics, logger },
    {
      trustProxy: env.TS_TRUST_PROXY,
      originSecret: env.TS_ORIGIN_SECRET_ID
        ? await readOriginSecret(env.TS_ORIGIN_SECRET_ID)
        : env.TS_ORIGIN_SECRET,
      ipLimiter: overrides.ipLimiter ?? limiter(env, env.TS_IP_RATE_PER_SECOND),
      keyLimiter: overrides.keyLimiter ?? limiter(env, env.TS_KEY_RATE_PER_SECOND),
      postbackIpLimiter: overrides.postbackIpLimiter ?? limiter(env, env.TS_POSTBACK_IP_RATE_PER_SECOND),
      authFailureLimiter: overrides.authFailureLimiter,
    },
  );
  const readiness = async (): Promise<ReadinessReport> => {
    const [s, k, d] = await Promise.all([
      probe(() => innerSink.check()),
      probe(() => keyProvider.check()),
      probe(() => directory.check()),
    ]);
    return { sink: s, keyProvider: k, directory: d };
  };
  const app = createApp({
    handlers,
    pipeline,
    metrics,
    logger,
    readiness,
    local: env.TS_LOCAL_MODE ? { dataDir, staticDir: STATIC_DIR } : undefined,
  }) as unknown as RequestListener;

  let emfTimer: NodeJS.Timeout | undefined;
  const emitEmf = () => {
    for (const line of metrics.drainEmf(metricsNamespace(env.TS_STAGE), {
      [METRIC_DIMENSIONS.location]: env.TS_LOCATION,
    }))
      process.stdout.write(line + '\n');
  };
  if (env.TS_METRICS_EMF) {
    emfTimer = setInterval(emitEmf, 60_000);
    emfTimer.unref();
  }

  return {
    env,
    logger,
    metrics,
    sink,
    keyProvider,
    directory,
    dataKeys,
    pipeline,
    handlers,
    app,
    listener: leanListener(app, handlers),
    readiness,
    async close() {
      clearInterval(emfTimer);
      await sink.close();
      if (env.TS_METRICS_EMF) emitEmf();
      await Promise.allSettled(clientClosers.map((close) => close()));
    },
  };
}
