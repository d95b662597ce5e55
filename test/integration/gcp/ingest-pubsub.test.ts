/**
 * The ingest service configured for GCP, against the real Pub/Sub and Firestore emulators (started by the
 * jest global setup): the runtime builds its own @google-cloud clients from `TS_SINK=pubsub` and
 * `TS_DIRECTORY=firestore`, and a pixel hit and a `/collect` batch go through the runtime's listener over
 * HTTP, first from the node server, then through the Cloud Functions entry (`gcf.ts`) mounted in the
 * Functions Framework's own server, which parses bodies before the function runs. The key provider is the
 * local one: Cloud KMS has no emulator (its adapter is unit-tested on a stand-in). Every acknowledged event
 * is then pulled from the topic's subscription.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { names } from '../../../platform';
import { CONTENT_SHA256_HEADER } from '../../../platform/contracts/edge';
import { parseIngestEnv, type IngestEnv } from '../../../platform/contracts/ingest-env';
import { DataKeyService } from '../../../services/ingest/src/crypto/data-keys';
import { LocalKeyProvider, defaultKeyFile } from '../../../services/ingest/src/crypto/local-key-provider';
import { seedDemo } from '../../../services/ingest/src/local/seed';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { gcfHandler, loadGcpAdapters } from '../../../services/ingest/src/gcf';
import { createRuntime, type Runtime } from '../../../services/ingest/src/runtime';
import { startServer, type RunningServer } from '../../../services/ingest/src/server';
import { PUBSUB_ATTRIBUTES } from '../../../services/ingest/src/sinks/pubsub-sink';
import { FirestoreDirectory } from '../../../services/shared/directory/firestore-directory';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';
import { gcpEmulators, pullMessages } from './emulators';

const { projectId } = gcpEmulators();
const suffix = randomBytes(4).toString('hex');
const topic = `ingest-events-${suffix}`;
const subscription = `${topic}-sub`;
// A database of its own: the collection name is fixed (names.gcpDirectoryCollection()) and the emulator's
// state is shared by every test file of the run.
const database = `ingest-${suffix}`;

const pubsub = new PubSub({ projectId });
const firestore = new Firestore({ projectId, databaseId: database });
const directory = new FirestoreDirectory({ client: firestore, collection: names.gcpDirectoryCollection() });
let dataDir: string;
let running: RunningServer;
let seed: Awaited<ReturnType<typeof seedDemo>>;
let env: IngestEnv;
let gcfRuntime: Promise<Runtime> | undefined;
let gcfServer: Server | undefined;

beforeAll(async () => {
  const [created] = await pubsub.createTopic(topic);
  await created.createSubscription(subscription);
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-gcp-ingest-'));
  seed = await seedDemo(directory, dataDir);
  env = parseIngestEnv({
    TS_STAGE: 'dev',
    TS_LOCATION: 'europe',
    TS_SINK: 'pubsub',
    TS_PUBSUB_TOPIC: topic,
    TS_GCP_PROJECT: projectId,
    TS_DIRECTORY: 'firestore',
    TS_FIRESTORE_DATABASE: database,
    TS_TRUST_PROXY: 'google-lb',
    TS_DATA_DIR: dataDir,
    TS_LOG_LEVEL: 'silent',
  });
  running = await startServer({ env, port: 0 });
}, 30_000);

afterAll(async () => {
  await running?.shutdown();
  await new Promise((resolve) => (gcfServer ? gcfServer.close(resolve) : resolve(undefined)));
  await (await gcfRuntime)?.close();
  await pubsub.close();
  await firestore.terminate();
  await rm(dataDir, { recursive: true, force: true });
});

/** Pulls until `count` messages arrived (or 15 s passed), acknowledging each. */
function pull(count: number): Promise<Message[]> {
  return pullMessages(pubsub, subscription, count, 15_000);
}

const lbHeaders = {
  'user-agent': BROWSER_USER_AGENT,
  // What the Google load balancer sends: the client's address, then its own; and the client's country.
  'x-forwarded-for': '198.51.100.23, 34.120.0.1',
  'x-client-geo-country': 'DE',
};

test('readiness checks the Pub/Sub topic and the Firestore directory', async () => {
  const res = await fetch(`${running.url}/readyz`);
  expect(await res.json()).toEqual({
    status: 'ready',
    checks: { sink: 'ok', keyProvider: 'ok', directory: 'ok' },
  });
});

test('a pixel hit and a /collect batch reach the topic, partitioned by attributes, personal fields sealed', async () => {
  const pixel = await fetch(
    `${running.url}/p.gif?a=${seed.accountId}&c=${seed.campaignId}&e=click&n=gcp-pixel&cid=gclid-42`,
    { headers: lbHeaders },
  );
  expect(pixel.status).toBe(200);
  const collect = await fetch(`${running.url}/collect`, {
    method: 'POST',
    headers: { ...lbHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({
      accountId: seed.accountId,
      campaignId: seed.campaignId,
      events: [
        { type: 'click', name: 'gcp-collect-1' },
        { type: 'click', name: 'gcp-collect-2' },
      ],
    }),
  });
  expect(collect.status).toBe(202);
  expect(await collect.json()).toEqual({ received: 2, stored: 2 });

  const messages = await pull(3);
  const events = messages.map((m) => {
    const lines = m.data.toString().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const ev = JSON.parse(lines[0]!) as StoredEvent;
    expect(m.attributes[PUBSUB_ATTRIBUTES.accountId]).toBe(ev.accountId);
    expect(m.attributes[PUBSUB_ATTRIBUTES.dt]).toBe(ev.dt);
    expect(m.data.toString()).not.toContain('198.51.100.23');
    expect(m.data.toString()).not.toContain(BROWSER_USER_AGENT);
    return ev;
  });
  expect(events.map((e) => e.name).sort()).toEqual(['gcp-collect-1', 'gcp-collect-2', 'gcp-pixel']);
  for (const ev of events) expect(ev).toMatchObject({ accountId: seed.accountId, country: 'DE' });

  // A separate reader: the data key is wrapped in the Firestore directory, the master key is local.
  const reader = new DataKeyService({
    provider: new LocalKeyProvider({ keyFile: defaultKeyFile(dataDir) }),
    directory,
    location: 'europe',
  });
  const pixelEvent = events.find((e) => e.name === 'gcp-pixel')!;
  expect(await reader.decryptFields(seed.accountId, pixelEvent.pii!)).toMatchObject({
    ip: '198.51.100.23',
    userAgent: BROWSER_USER_AGENT,
    clickId: 'gclid-42',
  });
});

test('through the Functions Framework entry: a pixel, a JSON and a text/plain /collect and a postback', async () => {
  // The entry as Cloud Functions runs it, but with a runtime of this test and the process's signals left
  // alone (the jest worker owns them).
  http(
    'ingest-gcf-test',
    gcfHandler({
      createRuntime: () => (gcfRuntime ??= createRuntime(env, { gcp: loadGcpAdapters })),
      flushOnSignals: false,
    }),
  );
  gcfServer = getTestServer('ingest-gcf-test');
  await new Promise<void>((resolve) => gcfServer!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(gcfServer.address() as AddressInfo).port}`;
  const batch = (name: string) =>
    JSON.stringify({
      accountId: seed.accountId,
      campaignId: seed.campaignId,
      events: [{ type: 'click', name }],
    });

  const pixel = await fetch(`${url}/p.gif?a=${seed.accountId}&c=${seed.campaignId}&e=click&n=gcf-pixel`, {
    headers: lbHeaders,
  });
  expect(pixel.status).toBe(200);
  expect(pixel.headers.get('content-type')).toBe('image/gif');
  for (const [type, name] of [
    ['application/json', 'gcf-json'],
    ['text/plain;charset=UTF-8', 'gcf-beacon'],
  ] as const) {
    const res = await fetch(`${url}/collect`, {
      method: 'POST',
      headers: { ...lbHeaders, 'content-type': type },
      body: batch(name),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ received: 1, stored: 1 });
  }
  const postback = await fetch(`${url}/postback`, {
    method: 'POST',
    headers: { authorization: `Bearer ${seed.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ campaignId: seed.campaignId, clickId: 'gcf-order-1', value: 12 }),
  });
  expect(postback.status).toBe(202);
  // The app, not the framework's parser, judges the body: its own size limit and JSON check still hold.
  const oversized = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...lbHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ pad: 'x'.repeat(70_000) }),
  });
  expect(oversized.status).toBe(413);
  const notJson = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...lbHeaders, 'content-type': 'text/plain' },
    body: 'not json',
  });
  expect(await notJson.json()).toMatchObject({ field: '(body)' });

  // The body hash the snippet declares is checked against the bytes the client sent.
  const body = batch('gcf-hashed');
  const wrongHash = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { ...lbHeaders, 'content-type': 'text/plain', [CONTENT_SHA256_HEADER]: 'a'.repeat(64) },
    body,
  });
  expect(wrongHash.status).toBe(400);
  expect(await wrongHash.json()).toMatchObject({ field: CONTENT_SHA256_HEADER });
  const rightHash = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: {
      ...lbHeaders,
      'content-type': 'text/plain',
      [CONTENT_SHA256_HEADER]: createHash('sha256').update(body).digest('hex'),
    },
    body,
  });
  expect(rightHash.status).toBe(202);

  const events = (await pull(5)).map((m) => JSON.parse(m.data.toString()) as StoredEvent);
  expect(events.map((e) => e.name ?? e.source).sort()).toEqual([
    'gcf-beacon',
    'gcf-hashed',
    'gcf-json',
    'gcf-pixel',
    'postback',
  ]);
  expect(events.find((e) => e.source === 'postback')).toMatchObject({
    type: 'conversion',
    accountId: seed.accountId,
  });
});
