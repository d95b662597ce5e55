/**
 * The GCP emulators the jest global setup started, for the integration tests under `test/integration/gcp`.
 * A test that runs without them fails with the install hint; it never skips.
 */
import type { Message, PubSub } from '@google-cloud/pubsub';
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

/**
 * Pulls from a subscription of the Pub/Sub emulator until `count` messages arrived or `timeoutMs` passed,
 * acknowledging each; a test then asserts on what arrived, so a shortfall fails there with the messages seen.
 */
export async function pullMessages(
  client: PubSub,
  subscription: string,
  count: number,
  timeoutMs = 20_000,
): Promise<Message[]> {
  const sub = client.subscription(subscription);
  const got: Message[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, timeoutMs);
    sub.on('error', reject);
    sub.on('message', (m: Message) => {
      m.ack();
      got.push(m);
      if (got.length >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await sub.close();
  return got;
}
