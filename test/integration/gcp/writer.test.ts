/**
 * The writer on the Pub/Sub emulator: the real ingest PubSubSink publishes, the emulator PUSHES each message
 * over HTTP (a push subscription, as in the cloud) to the writer's handler on a local server, and the objects
 * land in the local file adapter under each account's prefix. Nothing is mocked; only Cloud Storage is
 * replaced by the file adapter (no emulator for it here; the Cloud Storage adapter has unit tests against a
 * stand-in client).
 *
 * Grouping itself is asserted by the unit tests, not here: the emulator pushes at most two requests at once
 * (measured), where Pub/Sub's push flow control opens many, so behind the emulator most objects hold one
 * event. What this test proves is the path: the emulator's push envelope, the subscription check, partitioning
 * by the sink's attributes, and acknowledgement (no redelivery once answered 204).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { EVENT_OBJECTS, parseWriterEnv } from '../../../platform';
import { listFileSinkSegments, readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { PubSubSink } from '../../../services/ingest/src/sinks/pubsub-sink';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';
import type { PushReply } from '../../../services/writer/src/core/push-handler';
import { listenForPushes, type PushServer } from '../../../services/writer/src/http-listener';
import { createWriterRuntime, type WriterRuntime } from '../../../services/writer/src/runtime';
import { gcpEmulators } from './emulators';

const { projectId } = gcpEmulators();
const client = new PubSub({ projectId });
const suffix = randomBytes(4).toString('hex');
const topicName = `events-writer-${suffix}`;
const subscriptionName = `${topicName}-push`;

let dataDir: string;
let writer: WriterRuntime;
let server: PushServer;
const replies: PushReply['status'][] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-writer-'));
  writer = await createWriterRuntime(
    parseWriterEnv({
      TS_DATA_DIR: dataDir,
      TS_LOG_LEVEL: 'silent',
      TS_EVENT_SUBSCRIPTION: `projects/${projectId}/subscriptions/${subscriptionName}`,
      TS_BATCH_MAX_WAIT_MS: '50',
    }),
  );
  // Records each status the writer answered, to see what the emulator was told.
  const handle = writer.handler.handle.bind(writer.handler);
  writer.handler.handle = async (method, body) => {
    const reply = await handle(method, body);
    replies.push(reply.status);
    return reply;
  };
  server = await listenForPushes(writer.handler);
  const [topic] = await client.createTopic(topicName);
  await topic.createSubscription(subscriptionName, {
    pushConfig: { pushEndpoint: server.url },
    ackDeadlineSeconds: 10,
  });
});

afterAll(async () => {
  await client
    .subscription(subscriptionName)
    .delete()
    .catch(() => undefined);
  await writer.close();
  await server.close();
  await client.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Polls the file tree until `predicate` holds of its records, or 30 s pass. */
async function eventually(predicate: (records: SinkRecord[]) => boolean): Promise<SinkRecord[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const records = await readFileSinkEvents(join(dataDir, 'events'));
    if (predicate(records) || Date.now() > deadline) return records;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ACCOUNTS = ['acc_writerint01', 'acc_writerint02', 'acc_writerint03'] as const;

describe('the writer behind a push subscription of the Pub/Sub emulator', () => {
  it("stores every published event under its account's and day's prefix, exactly once", async () => {
    const sink = new PubSubSink({ client, topicName });
    const sent: SinkRecord[] = Array.from({ length: 30 }, (_, i) => {
      const accountId = ACCOUNTS[i % ACCOUNTS.length]!;
      const dt = i % 2 ? '2026-12-02' : '2026-12-03';
      return { accountId, dt, data: Buffer.from(`${JSON.stringify({ id: `ev-${i}`, accountId, dt })}\n`) };
    });
    expect(await sink.putBatch(sent)).toEqual([]);
    await sink.close();

    const acked = () => replies.filter((s) => s === 204).length;
    const stored = await eventually((r) => r.length >= sent.length && acked() >= sent.length);
    const view = (r: SinkRecord) => `${r.accountId}|${r.dt}|${r.data.toString()}`;
    // Each record where its attributes say, exactly once, and with its bytes intact.
    expect(stored.map(view).sort()).toEqual(sent.map(view).sort());
    for (const r of stored) {
      const body = JSON.parse(r.data.toString()) as { accountId: string; dt: string };
      expect([r.accountId, r.dt]).toEqual([body.accountId, body.dt]);
    }
    const segments = await listFileSinkSegments(join(dataDir, 'events'));
    for (const s of segments) {
      expect(s.path).toContain(join(dataDir, 'events', EVENT_OBJECTS.partitionPrefix(s.accountId, s.dt)));
    }
    // Grouped: far fewer objects than events (6 partitions; the emulator's push pace decides the rest).
    expect(acked()).toBe(sent.length);
  });

  it('refuses a message without the partition attributes (400), storing nothing of it', async () => {
    const before = (await readFileSinkEvents(join(dataDir, 'events'))).length;
    await client.topic(topicName).publishMessage({ data: Buffer.from('{"id":"orphan"}\n') });
    const deadline = Date.now() + 20_000;
    while (!replies.includes(400) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(replies).toContain(400);
    const after = await readFileSinkEvents(join(dataDir, 'events'));
    expect(after).toHaveLength(before);
    expect(after.some((r) => r.data.toString().includes('orphan'))).toBe(false);
  });
});
