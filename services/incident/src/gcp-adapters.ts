/**
 * The incident service's GCP adapters, built from the environment: the Firestore directory and incident
 * collection (one client: they share the stage's database), the Pub/Sub notifier and the Cloud Armor edge
 * store. Only the GCP-capable entry (the CLI) loads this module and hands it to `createIncidentRuntime`,
 * so the containment Lambda's bundle does not pull in the Google clients.
 */
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { names, type IncidentEnv } from '../../../platform';
import { FirestoreDirectory } from '../../shared/directory/firestore-directory';
import type { ItemDirectory } from '../../shared/directory/item-directory';
import { ArmorEdgeStore, type ComputeRequest } from '../../shared/edge-store/armor-edge-store';
import type { EdgeStore } from '../../shared/edge-store/edge-store';
import type { IncidentStore, Notifier } from './core/ports';
import { FirestoreIncidentStore } from './gcp/firestore-incident-store';
import { PubSubNotifier } from './gcp/pubsub-notifier';

/** What the GCP selections of the environment built; a part is absent when another adapter was chosen. */
export interface GcpIncidentAdapters {
  readonly directory?: { readonly store: ItemDirectory; readonly name: string };
  readonly incidents?: IncidentStore;
  readonly edge?: { readonly store: EdgeStore; readonly name: string };
  readonly notifier?: Notifier;
  /** Closes the clients' gRPC channels. */
  close(): Promise<void>;
}

/** Builds the adapters the environment selects on GCP. */
export function createGcpIncidentAdapters(
  env: IncidentEnv,
  options: { readonly computeRequest?: ComputeRequest; readonly actor?: string } = {},
): GcpIncidentAdapters {
  const project = env.TS_GCP_PROJECT!;
  const firestore =
    env.TS_DIRECTORY === 'firestore' || env.TS_INCIDENT_STORE === 'firestore'
      ? new Firestore({ projectId: project, databaseId: env.TS_FIRESTORE_DATABASE! })
      : undefined;
  const pubsub = env.TS_NOTIFIER === 'pubsub' ? new PubSub({ projectId: project }) : undefined;
  const collection = names.gcpDirectoryCollection();
  const armor =
    env.TS_EDGE_STORE === 'armor'
      ? new ArmorEdgeStore({
          project,
          policy: env.TS_ARMOR_POLICY!,
          ...(options.computeRequest ? { request: options.computeRequest } : {}),
          ...(options.actor ? { actor: options.actor } : {}),
        })
      : undefined;
  return {
    ...(firestore && env.TS_DIRECTORY === 'firestore'
      ? {
          directory: {
            store: new FirestoreDirectory({ client: firestore, collection }),
            name: `firestore:${env.TS_FIRESTORE_DATABASE!}/${collection}`,
          },
        }
      : {}),
    ...(firestore && env.TS_INCIDENT_STORE === 'firestore'
      ? {
          incidents: new FirestoreIncidentStore({
            client: firestore,
            collection: names.gcpIncidentCollection(),
          }),
        }
      : {}),
    ...(armor ? { edge: { store: armor, name: armor.description } } : {}),
    ...(pubsub ? { notifier: new PubSubNotifier(pubsub, env.TS_NOTICE_TOPIC!) } : {}),
    close: async () => {
      await Promise.all([firestore?.terminate(), pubsub?.close()]);
    },
  };
}
