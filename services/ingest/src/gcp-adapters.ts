/**
 * The ingest service's GCP adapters (Pub/Sub sink, Cloud KMS key provider, Firestore directory) with the
 * clients they need. Only the entries that may run on GCP (`gcf.ts`, `server.ts`) load this module, and
 * hand it to {@link createRuntime}: the runtime itself never names it, so the Lambda bundle, built from
 * `lambda.ts`, carries no Google client, as the GCP bundle carries no AWS SDK.
 */
import { names } from '../../../platform';
import type { IngestEnv } from '../../../platform/contracts/ingest-env';
import type { GcpAdapters, OwnedAdapter } from './runtime';
import type { Metrics } from './metrics';
import type { KeyProvider } from './crypto/key-provider';
import type { Directory } from '../../shared/directory/directory';
import type { Sink } from './sinks/sink';

/** Longest the Pub/Sub client retries one publish before BufferedSink takes over. */
export const PUBSUB_PUBLISH_TIMEOUT_MS = 5_000;

/** A value the environment schema already requires in this configuration. */
function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new Error(`unreachable: the environment schema requires ${name}`);
  return value;
}

/** The Cloud KMS key provider of `TS_CLOUD_KMS_KEY`. */
async function keyProvider(env: IngestEnv, metrics: Metrics): Promise<OwnedAdapter<KeyProvider>> {
  // Each client loads only when the environment selects it: cold starts stay light.
  const [{ KeyManagementServiceClient }, { CloudKmsKeyProvider }] = await Promise.all([
    import('@google-cloud/kms'),
    import('./crypto/cloud-kms-key-provider'),
  ]);
  const client = new KeyManagementServiceClient();
  return {
    value: new CloudKmsKeyProvider({
      client,
      keyName: required(env.TS_CLOUD_KMS_KEY, 'TS_CLOUD_KMS_KEY'),
      metrics,
    }),
    close: () => client.close(),
  };
}

/** The Firestore directory: database `TS_FIRESTORE_DATABASE` of `TS_GCP_PROJECT`, the platform's collection. */
async function directory(env: IngestEnv): Promise<OwnedAdapter<Directory>> {
  const [{ Firestore }, { FirestoreDirectory }] = await Promise.all([
    import('@google-cloud/firestore'),
    import('../../shared/directory/firestore-directory'),
  ]);
  const client = new Firestore({
    projectId: required(env.TS_GCP_PROJECT, 'TS_GCP_PROJECT'),
    databaseId: env.TS_FIRESTORE_DATABASE,
  });
  return {
    value: new FirestoreDirectory({ client, collection: names.gcpDirectoryCollection() }),
    close: () => client.terminate(),
  };
}

/** The Pub/Sub sink of `TS_PUBSUB_TOPIC` in `TS_GCP_PROJECT`. */
async function sink(env: IngestEnv): Promise<OwnedAdapter<Sink>> {
  const [{ PubSub }, { PubSubSink }] = await Promise.all([
    import('@google-cloud/pubsub'),
    import('./sinks/pubsub-sink'),
  ]);
  const client = new PubSub({ projectId: required(env.TS_GCP_PROJECT, 'TS_GCP_PROJECT') });
  return {
    // As for Firehose: BufferedSink retries and spools, so the client gives up on a publish after a few
    // seconds instead of holding the batch (and the spool) back through an outage.
    value: new PubSubSink({
      client,
      topicName: required(env.TS_PUBSUB_TOPIC, 'TS_PUBSUB_TOPIC'),
      publishTimeoutMs: PUBSUB_PUBLISH_TIMEOUT_MS,
    }),
    close: () => client.close(),
  };
}

/** The GCP adapters, for {@link RuntimeOverrides.gcp}. */
export const gcpAdapters: GcpAdapters = { keyProvider, directory, sink };
