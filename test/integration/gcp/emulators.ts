/**
 * The GCP emulators the jest global setup started, for the integration tests under `test/integration/gcp`.
 * A test that runs without them fails with the install hint; it never skips.
 */
import { GCP_EMULATORS_INSTALL_HINT } from '../../../tooling/gcp-emulators';

/** The emulator hosts and project from the environment the global setup exported. */
export function gcpEmulators(): { pubsubHost: string; firestoreHost: string; projectId: string } {
  const pubsubHost = process.env.PUBSUB_EMULATOR_HOST;
  const firestoreHost = process.env.FIRESTORE_EMULATOR_HOST;
  const projectId = process.env.GCP_EMULATOR_PROJECT;
  if (!pubsubHost || !firestoreHost || !projectId) {
    throw new Error(
      'PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST or GCP_EMULATOR_PROJECT is not set: run the tests ' +
        `through jest, whose global setup starts the emulators. ${GCP_EMULATORS_INSTALL_HINT}`,
    );
  }
  return { pubsubHost, firestoreHost, projectId };
}
