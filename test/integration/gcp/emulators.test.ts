/** The emulator tooling: what it says when the SDK is missing, and that the global setup's emulators answer. */
import {
  GCP_EMULATORS_INSTALL_HINT,
  GcpEmulatorError,
  assertGcpEmulatorsInstalled,
  startGcpEmulators,
} from '../../../tooling/gcp-emulators';
import { gcpEmulators } from './emulators';

describe('GCP emulators', () => {
  it('fails with the install hint, starting nothing, when gcloud is not on PATH', async () => {
    const env = { ...process.env, PATH: '/nonexistent' };
    expect(() => assertGcpEmulatorsInstalled(env)).toThrow(GcpEmulatorError);
    await expect(startGcpEmulators('trackstack-test', env)).rejects.toThrow(GCP_EMULATORS_INSTALL_HINT);
  });

  it('exposes hosts that answer, from the global setup', async () => {
    const { pubsubHost, firestoreHost } = gcpEmulators();
    for (const host of [pubsubHost, firestoreHost]) {
      expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect((await fetch(`http://${host}/`)).status).toBe(200);
    }
  });
});
