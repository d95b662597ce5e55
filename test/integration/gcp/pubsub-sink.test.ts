/**
 * PubSubSink against the real Pub/Sub emulator of the Google Cloud SDK (started by the jest global
 * setup): the real @google-cloud/pubsub client over gRPC, nothing mocked.
 */
import { randomBytes } from 'node:crypto';
import { PubSub, type Message } from '@google-cloud/pubsub';
import {
  PUBSUB_ATTRIBUTES,
  PubSubPublishError,
  PubSubSink,
} from '../../../services/ingest/src/sinks/pubsub-sink';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { gcpEmulators, pullMessages } from './emulators';

const { projectId } = gcpEmulators();
// The client finds the emulator through PUBSUB_EMULATOR_HOST and then needs no credentials.
const client = new PubSub({ projectId });
const suffix = randomBytes(4).toString('hex');

const record = (i: number, accountId: string): SinkRecord => ({
  data: Buffer.from(`${JSON.stringify({ i, accountId })}\n`),
  accountId,
  dt: '2024-05-01',
});

/** Pulls until `count` messages arrived (or 20 s passed), acknowledging each. */
function pull(subscription: string, count: number): Promise<Message[]> {
  return pullMessages(client, subscription, count);
}

async function topicWithSubscription(name: string): Promise<{ topic: string; subscription: string }> {
  const topic = `events-${name}-${suffix}`;
  const [created] = await client.createTopic(topic);
  await created.createSubscription(`${topic}-sub`);
  return { topic, subscription: `${topic}-sub` };
}

afterAll(async () => {
  await client.close();
});

describe('PubSubSink on the Pub/Sub emulator', () => {
  it('publishes a batch, one message per record, with accountId and dt attributes', async () => {
    const { topic, subscription } = await topicWithSubscription('batch');
    const sink = new PubSubSink({ client, topicName: topic });
    await expect(sink.check()).resolves.toBeUndefined();
    const records = Array.from({ length: 120 }, (_, i) =>
      record(i, i % 2 ? 'acc_pubsub0001' : 'acc_pubsub0002'),
    );
    expect(await sink.putBatch(records)).toEqual([]);
    await sink.close();

    const messages = await pull(subscription, records.length);
    expect(messages).toHaveLength(records.length);
    const received = messages
      .map((m) => ({
        data: m.data.toString(),
        accountId: m.attributes[PUBSUB_ATTRIBUTES.accountId],
        dt: m.attributes[PUBSUB_ATTRIBUTES.dt],
      }))
      .sort((a, b) => a.data.localeCompare(b.data));
    const sent = records
      .map((r) => ({ data: r.data.toString(), accountId: r.accountId, dt: r.dt }))
      .sort((a, b) => a.data.localeCompare(b.data));
    expect(received).toEqual(sent);
  });

  it('reports every record of a batch to a missing topic as not published, and loses none once it exists', async () => {
    const topic = `events-missing-${suffix}`;
    const sink = new PubSubSink({ client, topicName: topic, publishTimeoutMs: 5000 });
    await expect(sink.check()).rejects.toThrow(/does not exist/);
    const records = [record(1, 'acc_pubsub0003'), record(2, 'acc_pubsub0003')];
    const failure = sink.putBatch(records);
    await expect(failure).rejects.toBeInstanceOf(PubSubPublishError);
    await expect(failure).rejects.toThrow(/none of 2 records/);

    // What BufferedSink does with a failed batch: send the same records again once the topic is back.
    const [created] = await client.createTopic(topic);
    await created.createSubscription(`${topic}-sub`);
    expect(await sink.putBatch(records)).toEqual([]);
    const messages = await pull(`${topic}-sub`, 2);
    expect(messages.map((m) => m.data.toString()).sort()).toEqual(records.map((r) => r.data.toString()));
  });

  it('refuses a batch above its limits before publishing anything', async () => {
    const sink = new PubSubSink({ client, topicName: `events-limits-${suffix}` });
    const tooMany = Array.from({ length: sink.maxBatchRecords + 1 }, (_, i) => record(i, 'acc_pubsub0004'));
    await expect(sink.putBatch(tooMany)).rejects.toThrow(RangeError);
    const big = { ...record(0, 'acc_pubsub0004'), data: Buffer.alloc(sink.maxRecordBytes + 1) };
    await expect(sink.putBatch([big])).rejects.toThrow(/record 0 has/);
    expect(() => new PubSubSink({ client, topicName: 'projects/p/topics/t' })).toThrow(/short name/);
  });
});
