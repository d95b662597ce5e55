/**
 * Jest global setup: one real moto_server and one pair of GCP emulators (Pub/Sub, Firestore) for the whole
 * suite. Their endpoints reach every test worker through MOTO_ENDPOINT, PUBSUB_EMULATOR_HOST and
 * FIRESTORE_EMULATOR_HOST. If moto_server or the Google Cloud SDK is missing the suite fails here, saying
 * how to install it.
 */
import { startGcpEmulators, type GcpEmulators } from '../../tooling/gcp-emulators';
import { startMoto, type MotoServer } from '../../tooling/moto';

declare global {
  var __MOTO__: MotoServer | undefined;
  var __GCP_EMULATORS__: GcpEmulators | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Started beside moto rather than lazily per test file: both emulators answer within ~2-5 s together,
  // once per run, and workers cannot share an emulator that one of them started.
  const [moto, gcp] = await Promise.allSettled([startMoto(), startGcpEmulators()]);
  if (moto.status === 'rejected' || gcp.status === 'rejected') {
    if (moto.status === 'fulfilled') await moto.value.stop();
    if (gcp.status === 'fulfilled') await gcp.value.stop();
    throw moto.status === 'rejected' ? moto.reason : (gcp as PromiseRejectedResult).reason;
  }
  globalThis.__MOTO__ = moto.value;
  process.env.MOTO_ENDPOINT = moto.value.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_REGION = 'us-east-1';
  // Keep the SDK from reading a developer's profile or instance metadata.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  delete process.env.AWS_PROFILE;

  globalThis.__GCP_EMULATORS__ = gcp.value;
  // The @google-cloud clients read these themselves and then skip credentials altogether.
  process.env.PUBSUB_EMULATOR_HOST = gcp.value.pubsubHost;
  process.env.FIRESTORE_EMULATOR_HOST = gcp.value.firestoreHost;
  process.env.GCP_EMULATOR_PROJECT = gcp.value.projectId;
  // Off Google Cloud: keep google-auth-library from probing a metadata server that is not there.
  process.env.METADATA_SERVER_DETECTION = 'none';
}
