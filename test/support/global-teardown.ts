/** Jest global teardown: stops the suite's moto_server and GCP emulators. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all([globalThis.__MOTO__?.stop(), globalThis.__GCP_EMULATORS__?.stop()]);
}
