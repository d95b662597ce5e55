/**
 * The cold-start probe: a fresh node that requires a bundle and, for the Lambda ingest bundle, invokes its
 * handler with a Function URL pixel event. A stand-in bundle records what it received, so the test sees
 * that the probe sends a pixel hit and reports the handler's status, and that a failing bundle is an error.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLD_PIXEL_QUERY, coldStart, functionUrlEvent } from '../../../bench/lib/cold-start';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trackstack-cold-'));
  // Answers 200 only to a GET /p.gif Function URL event with the probe's query and a Lambda context.
  await writeFile(
    join(dir, 'ok.js'),
    `exports.handler = async (event, context) => ({
       statusCode: event.requestContext.http.method === 'GET' && event.rawPath === '/p.gif' &&
         event.rawQueryString === ${JSON.stringify(COLD_PIXEL_QUERY)} &&
         context.getRemainingTimeInMillis() > 0 && process.env.PROBE_ENV === 'yes' ? 200 : 400,
     });`,
  );
  await writeFile(join(dir, 'broken.js'), `throw new Error('bundle cannot load');`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('the Lambda probe requires the bundle, then invokes its handler with a Function URL pixel hit', () => {
  const result = coldStart(join(dir, 'ok.js'), 'lambda-function-url', dir, { PROBE_ENV: 'yes' });
  expect(result.firstStatus).toBe(200);
  expect(result.requireMs).toBeGreaterThan(0);
  expect(result.firstRequestMs).toBeGreaterThanOrEqual(0);
});

test('a require-only probe reports no first request', () => {
  const result = coldStart(join(dir, 'ok.js'), 'none', dir, {});
  expect(result.firstRequestMs).toBeUndefined();
  expect(result.requireMs).toBeGreaterThan(0);
});

test('a bundle that throws while loading is reported with its error', () => {
  expect(() => coldStart(join(dir, 'broken.js'), 'none', dir, {})).toThrow(/bundle cannot load/);
});

test('the Function URL event carries the path, the query and a browser user agent', () => {
  const event = functionUrlEvent('/p.gif', 'a=1', 0) as {
    rawPath: string;
    rawQueryString: string;
    headers: Record<string, string>;
    requestContext: { http: { method: string; path: string }; timeEpoch: number };
  };
  expect(event).toMatchObject({ version: '2.0', rawPath: '/p.gif', rawQueryString: 'a=1' });
  expect(event.requestContext.http).toMatchObject({ method: 'GET', path: '/p.gif' });
  expect(event.headers['user-agent']).toMatch(/Mozilla/);
});
