import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  FirehoseClient,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { eventStreamIndex, LIMITS } from '../../../platform';
import { Metrics } from '../../../services/ingest/src/metrics';
import { BufferedSink } from '../../../services/ingest/src/sinks/buffered-sink';
import {
  FIREHOSE_SINK_MAX_BATCH_EVENTS,
  FirehoseSink,
} from '../../../services/ingest/src/sinks/firehose-sink';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { DiskSpool } from '../../../services/ingest/src/sinks/spool';
import { motoClientConfig } from '../../../tooling/moto';
import { motoEndpoint } from '../../support/env';

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const rec = (id: string, accountId = 'acc_firehose01'): SinkRecord => ({
  accountId,
  dt: '2025-03-01',
  data: Buffer.from(JSON.stringify({ id, accountId, dt: '2025-03-01' }) + '\n'),
});

/** Every object of a bucket as `{ key, body }`. */
async function readBucket(s3: S3Client, bucket: string): Promise<{ key: string; body: string }[]> {
  const out: { key: string; body: string }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out.push({ key: o.Key!, body: await got.Body!.transformToString() });
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

const linesOf = (body: string) => body.split('\n').filter((l) => l !== '');

describe('FirehoseSink against moto', () => {
  const endpoint = motoEndpoint();
  const firehose = new FirehoseClient({ ...motoClientConfig(endpoint), maxAttempts: 1 });
  const s3 = new S3Client(motoClientConfig(endpoint));
  let dir: string;

  async function createStream(bucket: string, stream: string): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${bucket}`,
          RoleARN: 'arn:aws:iam::123456789012:role/firehose',
          Prefix: 'events/',
        },
      }),
    );
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ts-firehose-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterAll(() => {
    firehose.destroy();
    s3.destroy();
  });

  it('delivers more than 500 events through BufferedSink, each exactly once, aggregated into fewer records', async () => {
    const bucket = unique('ts-fh');
    const stream = unique('ts-fh');
    await createStream(bucket, stream);
    const metrics = new Metrics();
    const sink = new FirehoseSink({ client: firehose, streamNames: [stream], metrics });
    await expect(sink.check()).resolves.toBeUndefined();

    const buffered = new BufferedSink({ sink, spool: new DiskSpool({ dir: join(dir, 'spool') }), metrics });
    const ids = Array.from({ length: 1234 }, (_, i) => `fh-${i}`);
    await Promise.all(
      ids.map((id, i) => buffered.enqueue(rec(id, i % 2 ? 'acc_firehose01' : 'acc_firehose02'))),
    );
    await buffered.close();
    expect(buffered.spoolDepth).toBe(0);

    const objects = await readBucket(s3, bucket);
    // moto 5 writes one object per PutRecordBatch: the records' bytes concatenated, under
    // <Prefix>YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>. Two accounts and batches far
    // below 500 aggregated records: one call per batch.
    expect(objects.length).toBe(metrics.snapshot().sinkWrites);
    for (const o of objects) {
      expect(o.key).toMatch(
        new RegExp(`^events/\\d{4}/\\d{2}/\\d{2}/\\d{2}/${stream}-\\d+-[\\d-]+-[0-9a-f-]{36}$`),
      );
    }
    // Splitting on newlines, as the stream's de-aggregation does, gives every event back whole.
    const delivered = objects.flatMap((o) =>
      linesOf(o.body).map((l) => JSON.parse(l) as { id: string; accountId: string }),
    );
    expect(delivered).toHaveLength(ids.length);
    expect(delivered.map((d) => d.id).sort()).toEqual([...ids].sort());
    expect(delivered.find((d) => d.id === 'fh-1')?.accountId).toBe('acc_firehose01');
    // ~60-byte events: up to 85 in a 5 KiB record.
    const s = metrics.snapshot();
    expect(s.firehoseEvents).toBe(ids.length);
    expect(s.firehoseRecords).toBeLessThan(ids.length / 20);
  });

  it('check() rejects for a missing or deleted stream', async () => {
    const stream = unique('ts-fh-missing');
    const sink = new FirehoseSink({ client: firehose, streamNames: [stream] });
    await expect(sink.check()).rejects.toThrow(stream);
    const bucket = unique('ts-fh');
    await createStream(bucket, stream);
    await expect(sink.check()).resolves.toBeUndefined();
    const other = unique('ts-fh-other');
    await createStream(unique('ts-fh'), other);
    const both = new FirehoseSink({ client: firehose, streamNames: [other, stream] });
    await expect(both.check()).resolves.toBeUndefined();
    await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
    await expect(sink.check()).rejects.toThrow();
    await expect(both.check()).rejects.toThrow(
      new RegExp(`^1 of 2 delivery streams not ready \\(${stream}: `),
    );
  });

  it('asserts the PutRecordBatch limits instead of sending an oversized batch', async () => {
    const sink = new FirehoseSink({ client: firehose, streamNames: ['never-called'] });
    const many = Array.from({ length: FIREHOSE_SINK_MAX_BATCH_EVENTS + 1 }, (_, i) => rec(`m${i}`));
    await expect(sink.putBatch(many)).rejects.toBeInstanceOf(RangeError);
    const big = { ...rec('big'), data: Buffer.alloc(LIMITS.firehoseMaxRecordBytes + 1, 0x61) };
    await expect(sink.putBatch([big])).rejects.toBeInstanceOf(RangeError);
    const heavy = Array.from({ length: 5 }, () => ({
      ...rec('h'),
      data: Buffer.alloc(LIMITS.firehoseMaxRecordBytes, 0x61),
    }));
    await expect(sink.putBatch(heavy)).rejects.toBeInstanceOf(RangeError);
    expect(() => new FirehoseSink({ client: firehose, streamNames: [''] })).toThrow(
      'streamNames[0] is empty',
    );
    expect(() => new FirehoseSink({ client: firehose, streamNames: [] })).toThrow(/got 0/);
  });

  describe('partial failures', () => {
    // moto never fails single records or one stream alone, so a tiny HTTP server speaking the Firehose JSON
    // protocol answers instead, by stream name: `partial-*` refuses every third record, `down-*` refuses
    // the whole call, any other takes everything. The real SDK client parses its answers.
    let server: Server;
    let requests: { DeliveryStreamName: string; Records: { Data: string }[] }[];
    let client: FirehoseClient;
    beforeAll(async () => {
      requests = [];
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as (typeof requests)[number];
          requests.push(body);
          res.setHeader('content-type', 'application/x-amz-json-1.1');
          if (body.DeliveryStreamName.startsWith('down-')) {
            res.statusCode = 400;
            res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such stream' }));
            return;
          }
          const responses = body.Records.map((_, i) =>
            body.DeliveryStreamName.startsWith('partial-') && i % 3 === 1
              ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
              : { RecordId: `r${i}` },
          );
          res.end(
            JSON.stringify({
              FailedPutCount: responses.filter((r) => 'ErrorCode' in r).length,
              Encrypted: false,
              RequestResponses: responses,
            }),
          );
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      client = new FirehoseClient({ ...motoClientConfig(`http://127.0.0.1:${port}`), maxAttempts: 1 });
    });
    beforeEach(() => {
      requests = [];
    });
    afterAll(async () => {
      client.destroy();
      await new Promise((r) => server.close(r));
    });

    it('returns the indexes of every event inside a record with an ErrorCode', async () => {
      const sink = new FirehoseSink({ client, streamNames: ['partial-1'] });
      // Seven accounts, two events each: seven aggregated records, in order of their accounts' first event.
      const batch = Array.from({ length: 14 }, (_, i) => rec(`p${i}`, `acc_p${i % 7}`));
      const failed = await sink.putBatch(batch);
      // Records 1 and 4 (accounts acc_p1 and acc_p4) are refused: events 1, 8 and 4, 11.
      expect(failed).toEqual([1, 4, 8, 11]);
      expect(requests).toHaveLength(1);
      expect(requests[0]!.Records).toHaveLength(7);
      expect(Buffer.from(requests[0]!.Records[2]!.Data, 'base64').toString()).toBe(
        rec('p2', 'acc_p2').data.toString() + rec('p9', 'acc_p2').data.toString(),
      );
    });

    it('resolves with the events of a refused stream when another stream took its call; rejects when none did', async () => {
      const streams = ['ok-0', 'down-1', 'ok-2'];
      const sink = new FirehoseSink({ client, streamNames: streams });
      const batch = Array.from({ length: 90 }, (_, i) => rec(`d${i}`, `acc_d${i % 30}`));
      const onDown = batch.flatMap((r, i) => (eventStreamIndex(r.accountId, 3) === 1 ? [i] : []));
      expect(onDown.length).toBeGreaterThan(0);
      expect(await sink.putBatch(batch)).toEqual(onDown);
      expect(requests.map((r) => r.DeliveryStreamName).sort()).toEqual([...streams].sort());

      const allDown = new FirehoseSink({ client, streamNames: ['down-a', 'down-b'] });
      await expect(allDown.putBatch(batch)).rejects.toThrow(/every PutRecordBatch of the batch failed/);
    });
  });
});
