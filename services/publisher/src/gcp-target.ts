/**
 * Where `publish-config --stage <s> --cloud gcp --project <p>` reads and writes: the directory in the
 * stage's Firestore database (`names.gcpDirectoryDatabase`, collection `names.gcpDirectoryCollection`), the
 * stage's one config bucket (`names.gcpConfigBucket`) and Cloud CDN on its URL map (`names.gcpUrlMap`).
 * No edge store: GCP's load balancer cannot route by account, so home locations are enforced by the ingest
 * service (421 from the directory's `homeLocation`) and there is nothing to write at the edge.
 */
import { names, type Stage } from '../../../platform';
import type { GcsBucketLike } from '../../shared/campaign-config/gcs-config-store';
import type { ComputeRequest } from '../../shared/edge-store/armor-edge-store';
import type { PublishTarget } from './target';

/** Options of {@link createGcpTarget}. */
export interface GcpTargetOptions {
  readonly stage: Stage;
  /** The GCP project. */
  readonly project: string;
  /**
   * The config bucket (tests pass a stand-in).
   * @default `@google-cloud/storage`'s bucket `names.gcpConfigBucket(stage, project)`
   */
  readonly bucket?: GcsBucketLike;
  /**
   * Sends Compute REST requests (tests pass a stand-in).
   * @default google-auth-library with Application Default Credentials
   */
  readonly computeRequest?: ComputeRequest;
}

/** A target with the clients to close when the run ends. */
export type GcpPublishTarget = PublishTarget & { close(): Promise<void> };

/** Builds the GCP stage's target (no cloud call is made until the run reads or writes). */
export async function createGcpTarget(options: GcpTargetOptions): Promise<GcpPublishTarget> {
  const { stage, project } = options;
  const [{ Firestore }, { FirestoreDirectory }, { GcsConfigStore }, gcp] = await Promise.all([
    import('@google-cloud/firestore'),
    import('../../shared/directory/firestore-directory'),
    import('../../shared/campaign-config/gcs-config-store'),
    import('./gcp'),
  ]);
  const database = names.gcpDirectoryDatabase(stage);
  const firestore = new Firestore({ projectId: project, databaseId: database });
  const collection = names.gcpDirectoryCollection();
  let bucket = options.bucket;
  if (!bucket) {
    const { Storage } = await import('@google-cloud/storage');
    bucket = new Storage({ projectId: project }).bucket(names.gcpConfigBucket(stage, project));
  }
  let request = options.computeRequest;
  const urlMap = names.gcpUrlMap(stage);
  const configBucket = bucket;
  return {
    directory: new FirestoreDirectory({ client: firestore, collection }),
    directoryName: `firestore:${database}/${collection}`,
    store: new GcsConfigStore({ bucket: configBucket }),
    publishSnippet: (dryRun) => gcp.publishSnippetToGcs(configBucket, { dryRun }),
    invalidate: async (paths) => {
      request ??= await googleComputeRequest();
      return gcp.invalidateUrlMap(request, project, urlMap, paths);
    },
    cdnName: `URL map ${urlMap}`,
    close: () => firestore.terminate(),
  };
}

/** Compute REST requests with Application Default Credentials (cloud-platform scope). */
async function googleComputeRequest(): Promise<ComputeRequest> {
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  return async (req) =>
    (await auth.request({ method: req.method, url: req.url, ...(req.data ? { data: req.data } : {}) })).data;
}
