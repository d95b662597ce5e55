/**
 * The Cloud Functions bundle of the ingest service (`ingest-gcp`): built by the project's build, loaded in a
 * child process by the Functions Framework's own command line, as Cloud Functions (2nd gen) runs it, on
 * local-file adapters. Hits go over HTTP through the framework (which parses bodies before the function
 * runs) and must be answered as the node server answers them, and stored; SIGTERM flushes, then exits.
 * The bundle leaves the @google-cloud packages to Cloud Build's npm install, so the child finds them
 * through NODE_PATH in the repository's node_modules, at the versions the bundle's package.json pins.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildService } from '../../../infra/build/bundle';
import { REPO_ROOT } from '../../../infra/build/paths';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID, seedDemo } from '../../../services/ingest/src/local/seed';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { freePort } from '../../../tooling/moto';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

let dir: string;
let bundle: { file: string; bytes: number };
let child: ChildProcess;
let output = '';
let url: string;
let exited: Promise<number | null>;

const dataDir = () => join(dir, 'data');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trackstack-gcf-'));
  bundle = await buildService('ingest-gcp', join(dir, 'dist'));
  await seedDemo(new LocalDirectory({ dataDir: dataDir() }), dataDir());
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', '.bin', 'functions-framework'),
      '--target=handler',
      `--source=${join(dir, 'dist')}`,
      `--port=${port}`,
    ],
    {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        NODE_PATH: join(REPO_ROOT, 'node_modules'),
        TS_STAGE: 'dev',
        TS_DATA_DIR: dataDir(),
        TS_SPOOL_DIR: join(dataDir(), 'spool'),
        TS_TRUST_PROXY: 'google-lb',
        TS_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the Functions Framework did not serve the bundle:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 30_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const headers = {
  'user-agent': BROWSER_USER_AGENT,
  'x-forwarded-for': '198.51.100.31, 34.120.0.1',
  'x-client-geo-country': 'NL',
};
const batch = (name: string) =>
  JSON.stringify({
    accountId: DEMO_ACCOUNT_ID,
    campaignId: DEMO_CAMPAIGN_ID,
    events: [{ type: 'click', name }],
  });

test('the bundle is under 1 MB and its package.json pins the Google packages it imports', () => {
  expect(bundle.bytes).toBeLessThan(1_000_000);
  const pkg = JSON.parse(readFileSync(join(dir, 'dist', 'package.json'), 'utf8')) as {
    main: string;
    dependencies: Record<string, string>;
  };
  const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(pkg.main).toBe('index.js');
  const code = readFileSync(bundle.file, 'utf8');
  for (const name of [
    '@google-cloud/functions-framework',
    '@google-cloud/pubsub',
    '@google-cloud/kms',
    '@google-cloud/firestore',
  ]) {
    expect(code).toContain(`"${name}"`);
    expect(pkg.dependencies[name]).toBe(root.dependencies[name]);
    expect(pkg.dependencies[name]).toMatch(/^\d+\.\d+\.\d+$/);
  }
  // Only Google packages: the AWS SDK's lazy imports are never taken on GCP, and nothing else is external.
  expect(Object.keys(pkg.dependencies).every((n) => n.startsWith('@google-cloud/'))).toBe(true);
});

test('a pixel hit, a JSON /collect and a text/plain beacon are answered as the node server answers, and stored', async () => {
  const pixel = await fetch(`${url}/p.gif?a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=click&n=gcf-pixel`, {
    headers,
  });
  expect(pixel.status).toBe(200);
  expect(pixel.headers.get('content-type')).toBe('image/gif');
  expect(
    Buffer.from(await pixel.arrayBuffer())
      .subarray(0, 6)
      .toString(),
  ).toBe('GIF89a');

  const json = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: batch('gcf-json'),
  });
  expect(json.status).toBe(202);
  expect(await json.json()).toEqual({ received: 1, stored: 1 });

  const beacon = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/plain;charset=UTF-8' },
    body: batch('gcf-beacon'),
  });
  expect(beacon.status).toBe(202);
  expect(await beacon.json()).toEqual({ received: 1, stored: 1 });

  const stored = (await readFileSinkEvents(join(dataDir(), 'events'))).map(
    (r) => JSON.parse(r.data.toString()) as StoredEvent,
  );
  expect(stored.map((e) => e.name).sort()).toEqual(['gcf-beacon', 'gcf-json', 'gcf-pixel']);
  for (const e of stored) expect(e).toMatchObject({ accountId: DEMO_ACCOUNT_ID, country: 'NL' });
  expect(stored.find((e) => e.name === 'gcf-beacon')?.source).toBe('beacon');
});

test('the app, not the framework, judges the bytes: a bad beacon, an oversized body, a wrong type', async () => {
  const notJson = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/plain' },
    body: 'not json',
  });
  expect(notJson.status).toBe(400);
  expect(await notJson.json()).toMatchObject({ field: '(body)', message: '(body): must be valid JSON' });

  // The framework itself accepts bodies of up to 1 GB; the app's own limit must still hold.
  const oversized = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ pad: 'x'.repeat(70_000) }),
  });
  expect(oversized.status).toBe(413);

  const xml = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/xml' },
    body: '<a/>',
  });
  expect(xml.status).toBe(415);

  // The one answer the framework gives itself: a JSON body it cannot parse never reaches the function.
  // Same status as the node server; under NODE_ENV=production its page carries no stack trace.
  const broken = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: '{"events": [',
  });
  expect(broken.status).toBe(400);
  expect(await broken.text()).not.toMatch(/SyntaxError|at JSON\.parse|node_modules/);
});

test('SIGTERM flushes the sink before the framework exits', async () => {
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output).toContain('flushing before exit');
});
