/**
 * Jest global setup: one real moto_server for the whole suite. Its endpoint reaches every test worker
 * through MOTO_ENDPOINT. If moto_server is missing the suite fails here, saying how to install it.
 */
import { startMoto, type MotoServer } from '../../tooling/moto';

declare global {
  var __MOTO__: MotoServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const moto = await startMoto();
  globalThis.__MOTO__ = moto;
  process.env.MOTO_ENDPOINT = moto.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_REGION = 'us-east-1';
  // Keep the SDK from reading a developer's profile or instance metadata.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  delete process.env.AWS_PROFILE;
}
