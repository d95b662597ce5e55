/**
 * Ingest on the GCP path, end to end: the ingest runtime (local key file and local directory, its sink
 * replaced by the real PubSubSink) takes a pixel hit and a beacon over HTTP and publishes them to the Pub/Sub
 * emulator; the emulator pushes them to the writer, which stores them as objects (file adapter: no Cloud
 * Storage emulator here); the test reads the objects back and decrypts the personal fields with the
 * runtime's data keys, to the values sent. Nothing between the HTTP request and the stored object is mocked.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { EVENT_OBJECTS, parseIngestEnv, parseWriterEnv } from '../../../platform';
import { seedDemo, type SeedResult } from '../../../services/ingest/src/local/seed';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { createRuntime, type Runtime } from '../../../services/ingest/src/runtime';
import { readFileSinkEvents, type FileSinkEvent } from '../../../services/ingest/src/sinks/file-sink';
import { PubSubSink } from '../../../services/ingest/src/sinks/pubsub-sink';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { listenForPushes, type PushServer } from '../../../services/writer/src/http-listener';
import { createWriterRuntime, type WriterRuntime } from '../../../services/writer/src/runtime';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';
import { gcpEmulators } from './emulators';

const { projectId } = gcpEmulators();
const client = new PubSub({ projectId });
const suffix = randomBytes(4).toString('hex');
const topicName = `events-e2e-${suffix}`;
const subscriptionName = `${topicName}-writer`;

let ingestDir: string;
let writerDir: string;
let seed: SeedResult;
let runtime: Runtime;
let ingest: Server;
let ingestUrl: string;
let writer: WriterRuntime;
let pushServer: PushServer;

beforeAll(async () => {
  ingestDir = await mkdtemp(join(tmpdir(), 'trackstack-e2e-ingest-'));
  writerDir = await mkdtemp(join(tmpdir(), 'trackstack-e2e-writer-'));
  seed = await seedDemo(new LocalDirectory({ dataDir: ingestDir }), ingestDir);

  writer = await createWriterRuntime(
    parseWriterEnv({
      TS_DATA_DIR: writerDir,
      TS_LOG_LEVEL: 'silent',
      TS_EVENT_SUBSCRIPTION: `projects/${projectId}/subscriptions/${subscriptionName}`,
      TS_BATCH_MAX_WAIT_MS: '50',
    }),
  );
  pushServer = await listenForPushes(writer.handler);
  const [topic] = await client.createTopic(topicName);
  await topic.createSubscription(subscriptionName, { pushConfig: { pushEndpoint: pushServer.url } });

  const env = parseIngestEnv({ TS_DATA_DIR: ingestDir, TS_LOCAL_MODE: 'true', TS_LOG_LEVEL: 'silent' });
  runtime = await createRuntime(env, { sink: new PubSubSink({ client, topicName }) });
  ingest = createServer(runtime.listener);
  await new Promise<void>((resolve) => ingest.listen(0, '127.0.0.1', resolve));
  ingestUrl = `http://127.0.0.1:${(ingest.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => ingest.close(() => resolve()));
  await runtime.close();
  await client
    .subscription(subscriptionName)
    .delete()
    .catch(() => undefined);
  await writer.close();
  await pushServer.close();
  await client.close();
  await rm(ingestDir, { recursive: true, force: true });
  await rm(writerDir, { recursive: true, force: true });
});

/** The writer's objects' events, once `names` are all there (or 30 s passed). */
async function storedByName(
  names: readonly string[],
): Promise<Map<string, FileSinkEvent & { ev: StoredEvent }>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const events = (await readFileSinkEvents(join(writerDir, 'events'))).map((e) => ({
      ...e,
      ev: JSON.parse(e.data.toString('utf8')) as StoredEvent,
    }));
    const byName = new Map(events.map((e) => [e.ev.name ?? '', e]));
    if (names.every((n) => byName.has(n)) || Date.now() > deadline) return byName;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ingest → Pub/Sub → writer → object', () => {
  it('stores a pixel hit and a beacon under the account, whose personal fields decrypt to what was sent', async () => {
    const pixelPage = `https://shop.example/landing?utm_source=mail&email=${suffix}%40example.com`;
    const pixel = await fetch(
      `${ingestUrl}/p.gif?a=${seed.accountId}&c=${seed.campaignId}&n=e2e-pixel` +
        `&u=${encodeURIComponent(pixelPage)}&cid=click-${suffix}`,
      { headers: { 'user-agent': BROWSER_USER_AGENT } },
    );
    expect(pixel.status).toBe(200);
    const beaconPage = `https://shop.example/cart?session=${suffix}`;
    const beacon = await fetch(`${ingestUrl}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_USER_AGENT },
      body: JSON.stringify({
        accountId: seed.accountId,
        campaignId: seed.campaignId,
        events: [{ type: 'click', name: 'e2e-beacon', url: beaconPage }],
      }),
    });
    expect(beacon.status).toBe(202);
    expect(await beacon.json()).toEqual({ received: 1, stored: 1 });
    // What the runtime acknowledged reaches the sink: here, the Pub/Sub topic.
    await runtime.sink.flush();

    const stored = await storedByName(['e2e-pixel', 'e2e-beacon']);
    const hit = stored.get('e2e-pixel');
    const click = stored.get('e2e-beacon');
    expect(hit?.ev).toMatchObject({
      accountId: seed.accountId,
      campaignId: seed.campaignId,
      consent: 'full',
    });
    expect(click?.ev).toMatchObject({ accountId: seed.accountId, type: 'click', source: 'beacon' });
    for (const e of [hit!, click!]) {
      expect(e.accountId).toBe(seed.accountId);
      expect(e.dt).toBe(e.ev.receivedAt.slice(0, 10));
      expect(e.segment).toContain(
        join(writerDir, 'events', EVENT_OBJECTS.partitionPrefix(seed.accountId, e.dt)),
      );
    }
    // Only the path is in clear; the rest is in the encrypted personal fields.
    expect(JSON.stringify(hit!.ev)).not.toContain(`${suffix}%40example.com`);
    expect(JSON.stringify(click!.ev)).not.toContain(`session=${suffix}`);
    expect(await runtime.dataKeys.decryptFields(seed.accountId, hit!.ev.pii!)).toMatchObject({
      url: pixelPage,
      clickId: `click-${suffix}`,
      userAgent: BROWSER_USER_AGENT,
    });
    expect(await runtime.dataKeys.decryptFields(seed.accountId, click!.ev.pii!)).toMatchObject({
      url: beaconPage,
      userAgent: BROWSER_USER_AGENT,
    });
  });
});
