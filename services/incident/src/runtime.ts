/**
 * The incident service's composition root: turns the validated environment (`incidentEnvSchema`) into the
 * incident store, the directory, the edge store and the notifier, and the core over them. The AWS SDK is
 * loaded only when the environment selects an AWS adapter; the GCP adapters only through `loadGcp`, which
 * only the CLI gives, so neither the local CLI nor the containment Lambda's bundle pays for the Google
 * clients.
 */
import { resolve } from 'node:path';
import { PRIMARY_LOCATION, REGIONS, type IncidentEnv } from '../../../platform';
import type { ComputeRequest } from '../../shared/edge-store/armor-edge-store';
// Type only: the module is loaded by the GCP-capable entry and handed in (`loadGcp`).
import type * as GcpAdapters from './gcp-adapters';
import type { EdgeStore } from '../../shared/edge-store/edge-store';
import type { ItemDirectory } from '../../shared/directory/item-directory';
import { IncidentService } from './core/incident-service';
import type { IncidentStore, KeyDirectory, Notifier } from './core/ports';
import { ItemKeyDirectory } from './directory-store';

/** Options of {@link createIncidentRuntime}. */
export interface IncidentRuntimeOptions {
  /**
   * Extra settings for every AWS SDK client (tests point them at moto: endpoint, credentials).
   * @default none: the SDK's own resolution (Lambda role, profiles, AWS_ENDPOINT_URL)
   */
  readonly awsClientConfig?: Readonly<Record<string, unknown>>;
  /**
   * The edge store instead of the one the environment names (tests pass one over a mocked KVS client).
   * @default from `TS_EDGE_STORE`
   */
  readonly edge?: EdgeStore;
  /** @default the system clock */
  readonly now?: () => Date;
  /**
   * Loads the GCP adapters (`() => import('./gcp-adapters')`): given by the entries that run on GCP, so the
   * Lambda bundle never holds the Google clients.
   * @default none: a GCP selection in the environment is refused at start-up
   */
  readonly loadGcp?: () => Promise<typeof GcpAdapters>;
  /**
   * Sends Compute REST requests for the Cloud Armor edge store (tests pass a stand-in).
   * @default google-auth-library with Application Default Credentials
   */
  readonly computeRequest?: ComputeRequest;
  /**
   * Who acts, named in the Cloud Armor rules the run adds.
   * @default none
   */
  readonly actor?: string;
}

/** The core and the adapters it was built over. */
export interface IncidentRuntime {
  readonly env: IncidentEnv;
  readonly service: IncidentService;
  readonly incidents: IncidentStore;
  readonly directory: KeyDirectory;
  readonly edge: EdgeStore;
  /** Human-readable name of the edge store. */
  readonly edgeName: string;
  readonly notifier: Notifier;
  /** Closes the Google clients' channels (a gRPC channel left open keeps the process alive). */
  close(): Promise<void>;
}

/** The region of an ARN (`arn:aws:sns:<region>:…`). */
function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** Builds the adapters and the core from the environment. */
export async function createIncidentRuntime(
  env: IncidentEnv,
  options: IncidentRuntimeOptions = {},
): Promise<IncidentRuntime> {
  const dataDir = resolve(env.TS_DATA_DIR);
  // The region always comes last: each client must talk to its own region whatever the overrides.
  const config = (region: string) => ({ ...options.awsClientConfig, region });
  // The directory's and the incident table's home: where the control plane writes.
  const homeRegion = REGIONS[PRIMARY_LOCATION].aws;

  const gcpSelected = [
    env.TS_DIRECTORY === 'firestore' && 'TS_DIRECTORY=firestore',
    env.TS_INCIDENT_STORE === 'firestore' && 'TS_INCIDENT_STORE=firestore',
    env.TS_NOTIFIER === 'pubsub' && 'TS_NOTIFIER=pubsub',
    !options.edge && env.TS_EDGE_STORE === 'armor' && 'TS_EDGE_STORE=armor',
  ].filter((s): s is string => typeof s === 'string');
  let gcp: GcpAdapters.GcpIncidentAdapters | undefined;
  if (gcpSelected.length) {
    if (!options.loadGcp)
      throw new Error(
        `${gcpSelected.join(', ')} selects GCP adapters, which this entry does not carry: run it from the CLI`,
      );
    const { createGcpIncidentAdapters } = await options.loadGcp();
    gcp = createGcpIncidentAdapters(env, {
      ...(options.computeRequest ? { computeRequest: options.computeRequest } : {}),
      ...(options.actor ? { actor: options.actor } : {}),
    });
  }

  let itemDirectory: ItemDirectory;
  let directoryName: string;
  if (gcp?.directory) {
    itemDirectory = gcp.directory.store;
    directoryName = gcp.directory.name;
  } else if (env.TS_DIRECTORY === 'dynamodb') {
    const [{ DynamoDBClient }, { DynamoDirectory }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../../shared/directory/dynamo-directory'),
    ]);
    // A global table: the write reaches every region's replica from here.
    itemDirectory = new DynamoDirectory({
      client: new DynamoDBClient(config(homeRegion)),
      tableName: env.TS_TABLE_NAME!,
    });
    directoryName = `dynamodb:${env.TS_TABLE_NAME!}`;
  } else {
    const { LocalDirectory } = await import('../../shared/directory/local-directory');
    const local = new LocalDirectory({ dataDir });
    itemDirectory = local;
    directoryName = `file:${local.file}`;
  }
  const directory = new ItemKeyDirectory(itemDirectory, directoryName);

  let incidents: IncidentStore;
  if (gcp?.incidents) {
    incidents = gcp.incidents;
  } else if (env.TS_INCIDENT_STORE === 'dynamodb') {
    const [{ DynamoDBClient }, { DynamoIncidentStore }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('./aws/dynamo-incident-store'),
    ]);
    incidents = new DynamoIncidentStore({
      client: new DynamoDBClient(config(homeRegion)),
      tableName: env.TS_INCIDENT_TABLE!,
    });
  } else {
    const { FileIncidentStore } = await import('./local/file-incident-store');
    incidents = new FileIncidentStore({ dataDir });
  }

  let edge: EdgeStore;
  let edgeName: string;
  if (options.edge) {
    edge = options.edge;
    edgeName = env.TS_EDGE_STORE === 'kvs' ? env.TS_KVS_ARN! : 'edge store (given)';
  } else if (gcp?.edge) {
    edge = gcp.edge.store;
    edgeName = gcp.edge.name;
  } else if (env.TS_EDGE_STORE === 'kvs') {
    const { KvsEdgeStore } = await import('../../shared/edge-store/kvs-edge-store');
    edge = new KvsEdgeStore({ kvsArn: env.TS_KVS_ARN!, clientConfig: { ...options.awsClientConfig } });
    edgeName = env.TS_KVS_ARN!;
  } else {
    const { FileEdgeStore } = await import('../../shared/edge-store/file-edge-store');
    const file = new FileEdgeStore({ dataDir });
    edge = file;
    edgeName = `file:${file.file}`;
  }

  let notifier: Notifier;
  if (gcp?.notifier) {
    notifier = gcp.notifier;
  } else if (env.TS_NOTIFIER === 'sns') {
    const [{ SNSClient }, { SnsNotifier }] = await Promise.all([
      import('@aws-sdk/client-sns'),
      import('./aws/sns-notifier'),
    ]);
    const topicArn = env.TS_NOTICE_TOPIC_ARN!;
    notifier = new SnsNotifier(new SNSClient(config(regionOfArn(topicArn) ?? homeRegion)), topicArn);
  } else {
    const { OutboxNotifier } = await import('./local/outbox-notifier');
    notifier = new OutboxNotifier(dataDir);
  }

  const service = new IncidentService({
    incidents,
    directory,
    edge,
    notifier,
    ...(options.now ? { now: options.now } : {}),
  });
  const close = async () => {
    await gcp?.close();
  };
  return { env, service, incidents, directory, edge, edgeName, notifier, close };
}
