/** The moto endpoint that the global setup started; throws when a test runs without it. */
export function motoEndpoint(): string {
  const endpoint = process.env.MOTO_ENDPOINT;
  if (!endpoint)
    throw new Error(
      'MOTO_ENDPOINT is not set: run the tests through jest, whose global setup starts moto_server.',
    );
  return endpoint;
}
