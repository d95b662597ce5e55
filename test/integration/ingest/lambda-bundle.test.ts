/**
 * The esbuild bundle that Lambda runs: built for real, loaded in a fresh node process, and invoked with
 * Function URL (payload v2) events through the serverless-express adapter.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIngest } from '../../../infra/build/bundle';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID, seedDemo } from '../../../services/ingest/src/local/seed';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

let dir: string;
let bundle: { file: string; bytes: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trackstack-bundle-'));
  bundle = await buildIngest(join(dir, 'dist'));
  await seedDemo(new LocalDirectory({ dataDir: join(dir, 'data') }), join(dir, 'data'));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Invokes the bundle's handler in a fresh node with the given events; returns the Lambda results. */
function invoke(
  events: unknown[],
): { statusCode: number; body: string; isBase64Encoded: boolean; headers: Record<string, string> }[] {
  const script = `
    const { handler } = require(${JSON.stringify(bundle.file)});
    (async () => {
      const out = [];
      for (const e of JSON.parse(process.argv[1])) out.push(await handler(e, { awsRequestId: 'test' }));
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify(events)], {
    env: { PATH: process.env.PATH, TS_DATA_DIR: join(dir, 'data'), TS_LOG_LEVEL: 'silent', TS_STAGE: 'dev' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`bundle invocation failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof invoke>;
}

function urlEvent(
  method: string,
  path: string,
  query = '',
  body?: string,
  headers: Record<string, string> = {},
) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    headers: {
      'user-agent': BROWSER_USER_AGENT,
      host: 'abc.lambda-url.eu-west-1.on.aws',
      ...headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'Mozilla/5.0' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '23/Nov/2026:12:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}

test('the bundle is one minified file under 1 MB', () => {
  expect(bundle.bytes).toBeLessThan(1_000_000);
});

test('a Function URL pixel hit returns the GIF, and bad input gets the English field error', () => {
  const [pixel, bad, collect] = invoke([
    urlEvent('GET', '/p.gif', `a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=impression`),
    urlEvent('GET', '/p.gif', `a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=purchase`),
    urlEvent(
      'POST',
      '/collect',
      '',
      JSON.stringify({ accountId: DEMO_ACCOUNT_ID, campaignId: DEMO_CAMPAIGN_ID, events: 'many' }),
      {
        'content-type': 'application/json',
      },
    ),
  ]);
  expect(pixel?.statusCode).toBe(200);
  expect(pixel?.isBase64Encoded).toBe(true);
  expect(
    Buffer.from(pixel?.body ?? '', 'base64')
      .subarray(0, 6)
      .toString(),
  ).toBe('GIF89a');
  expect(bad?.statusCode).toBe(400);
  expect(JSON.parse(bad?.body ?? '{}')).toMatchObject({ field: 'type' });
  expect(collect?.statusCode).toBe(400);
  expect(JSON.parse(collect?.body ?? '{}')).toMatchObject({
    field: 'events',
    message: expect.stringMatching(/expected array/i),
  });
});
