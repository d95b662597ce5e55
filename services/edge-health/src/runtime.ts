/**
 * The edge health check's composition root: turns the validated environment into the edge store (the
 * CloudFront KeyValueStore or the local file) and a run of the check over it. The AWS SDK is loaded only
 * when the environment selects the KeyValueStore.
 */
import { resolve } from 'node:path';
import type { EdgeHealthEnv } from '../../../platform';
import type { EdgeStore } from '../../shared/edge-store/edge-store';
import { FileEdgeStore } from '../../shared/edge-store/file-edge-store';
import { createLogger, type Logger } from '../../shared/logger';
import { checkHealth, type CheckHealthProps, type HealthReport } from './check-health';

/** Options of {@link createEdgeHealthRuntime}. */
export interface EdgeHealthRuntimeOptions {
  /** @default a logger at `TS_LOG_LEVEL` on stdout */
  readonly logger?: Logger;
  /**
   * Settings for the KeyValueStore client (tests: endpoint, credentials).
   * @default none: the SDK's own resolution
   */
  readonly awsClientConfig?: Readonly<Record<string, unknown>>;
  /** Replaces the store the environment names (tests). @default from the environment */
  readonly store?: EdgeStore;
  /** Passed through to the check (fetch, sleep, clock). */
  readonly check?: Pick<CheckHealthProps, 'fetch' | 'sleep' | 'now'>;
}

/** The check and the store it writes. */
export interface EdgeHealthRuntime {
  readonly env: EdgeHealthEnv;
  readonly store: EdgeStore;
  readonly logger: Logger;
  /** Runs the check once. */
  run(): Promise<HealthReport>;
}

/** Builds the store and the check from the environment. */
export async function createEdgeHealthRuntime(
  env: EdgeHealthEnv,
  options: EdgeHealthRuntimeOptions = {},
): Promise<EdgeHealthRuntime> {
  const logger =
    options.logger ??
    createLogger({ service: 'edge-health', level: env.TS_LOG_LEVEL, base: { stage: env.TS_STAGE } });
  let store: EdgeStore;
  if (options.store) store = options.store;
  else if (env.TS_EDGE_STORE === 'kvs') {
    const [{ KvsEdgeStore }, { CloudFrontKeyValueStoreClient }] = await Promise.all([
      import('../../shared/edge-store/kvs-edge-store'),
      import('@aws-sdk/client-cloudfront-keyvaluestore'),
    ]);
    store = new KvsEdgeStore({
      // The schema requires the ARN with TS_EDGE_STORE=kvs.
      kvsArn: env.TS_KVS_ARN!,
      client: new CloudFrontKeyValueStoreClient({ region: 'us-east-1', ...options.awsClientConfig }),
    });
  } else store = new FileEdgeStore({ dataDir: resolve(env.TS_DATA_DIR) });

  return {
    env,
    store,
    logger,
    run: () =>
      checkHealth({
        edgeUrl: env.TS_EDGE_URL,
        locations: env.TS_LOCATIONS,
        probes: env.TS_PROBES,
        intervalMs: env.TS_PROBE_INTERVAL_MS,
        timeoutMs: env.TS_PROBE_TIMEOUT_MS,
        store,
        logger,
        ...options.check,
      }),
  };
}
