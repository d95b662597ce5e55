/**
 * The purge job's GCP adapters, composed from the environment: the Firestore directory, each location's
 * Cloud Storage event bucket, the config bucket and the receipts bucket. Loaded lazily by the runtime, so
 * the AWS Lambda bundle and the local CLI never load the Google clients.
 */
import type { Firestore } from '@google-cloud/firestore';
import { names, type Location } from '../../../../platform';
import { eventBuckets, type PurgeEnv } from '../../../../platform/contracts/purge-env';
import type { ItemDirectory } from '../../../shared/directory/item-directory';
import type { GcsBucketLike as ConfigBucketLike } from '../../../shared/campaign-config/gcs-config-store';
import type { EventObjectStore, PublishedConfigStore, ReceiptStore } from '../core/ports';
import { GcsEventObjectStore, type GcsBucketLike } from './gcs-event-store';
import { GcsReceiptStore, type GcsReceiptBucketLike } from './gcs-receipt-store';

/** What the adapters need of `@google-cloud/storage`'s `Storage`: a bucket handle by name. */
export interface GcsStorageLike {
  bucket(name: string): GcsBucketLike & GcsReceiptBucketLike & ConfigBucketLike;
}

/** Clients handed in (tests: the Firestore emulator, a stand-in Storage); created from the env otherwise. */
export interface PurgeGcpClients {
  /** @default a Firestore client of `TS_GCP_PROJECT` / `TS_FIRESTORE_DATABASE` */
  readonly firestore?: Firestore;
  /** @default a `Storage` client with the ambient credentials */
  readonly storage?: GcsStorageLike;
}

/** A directory the runtime owns, with how to let its client go. */
export interface OwnedDirectory {
  readonly directory: ItemDirectory;
  readonly description: string;
  /** Terminates the client if the runtime created it. */
  readonly close: () => Promise<void>;
}

/** The Firestore directory (`names.gcpDirectoryCollection()` in `TS_FIRESTORE_DATABASE` of `TS_GCP_PROJECT`). */
export async function firestoreDirectory(
  env: PurgeEnv,
  clients: PurgeGcpClients = {},
): Promise<OwnedDirectory> {
  const { FirestoreDirectory } = await import('../../../shared/directory/firestore-directory');
  let client = clients.firestore;
  let close = async (): Promise<void> => undefined;
  if (!client) {
    const { Firestore } = await import('@google-cloud/firestore');
    if (!env.TS_GCP_PROJECT) throw new Error('TS_GCP_PROJECT is required when TS_DIRECTORY=firestore');
    const created = new Firestore({ projectId: env.TS_GCP_PROJECT, databaseId: env.TS_FIRESTORE_DATABASE });
    client = created;
    close = () => created.terminate();
  }
  const collection = names.gcpDirectoryCollection();
  return {
    directory: new FirestoreDirectory({ client, collection }),
    description: `firestore:${env.TS_GCP_PROJECT ?? ''}/${env.TS_FIRESTORE_DATABASE}/${collection}`,
    close,
  };
}

/** The Storage client: the one handed in, or a new one with the ambient credentials. */
export async function gcsStorage(clients: PurgeGcpClients = {}): Promise<GcsStorageLike> {
  if (clients.storage) return clients.storage;
  const { Storage } = await import('@google-cloud/storage');
  // The real Bucket has every method the adapters name (checked here by the compiler).
  const storage: GcsStorageLike = new Storage();
  return storage;
}

/** Each location's event bucket (`TS_EVENT_BUCKET_<LOCATION>`) as an event store. */
export function gcsEventStores(env: PurgeEnv, storage: GcsStorageLike): EventObjectStore[] {
  return (Object.entries(eventBuckets(env)) as [Location, string][]).map(
    ([location, bucket]) => new GcsEventObjectStore({ bucket: storage.bucket(bucket), location }),
  );
}

/** The GCP config bucket's published campaign configs (every generation under `config/<accountId>/`). */
export async function gcsPublishedConfigs(
  bucket: string,
  storage: GcsStorageLike,
): Promise<PublishedConfigStore> {
  const { GcsConfigStore } = await import('../../../shared/campaign-config/gcs-config-store');
  return new GcsConfigStore({ bucket: storage.bucket(bucket) });
}

/** The receipts bucket (locked retention policy) as the write-once receipt store. */
export function gcsReceiptStore(bucket: string, storage: GcsStorageLike): ReceiptStore {
  return new GcsReceiptStore(storage.bucket(bucket));
}
