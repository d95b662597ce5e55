/** Jest global teardown: stops the suite's moto_server. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__MOTO__?.stop();
}
