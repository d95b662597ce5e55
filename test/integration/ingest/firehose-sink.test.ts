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
import { LIMITS } from '../../../platform';
import { Metrics } from '../../../services/ingest/src/metrics';
import { BufferedSink } from '../../../services/ingest/src/sinks/buffered-sink';
import { FirehoseSink } from '../../../services/ingest/src/sinks/firehose-sink';
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

  it('delivers more than 500 records through BufferedSink, each exactly once, in batches within the limits', async () => {
    const bucket = unique('ts-fh');
    const stream = unique('ts-fh');
    await createStream(bucket, stream);
    const sink = new FirehoseSink({ client: firehose, streamName: stream });
    await expect(sink.check()).resolves.toBeUndefined();

    const metrics = new Metrics();
    const buffered = new BufferedSink({ sink, spool: new DiskSpool({ dir: join(dir, 'spool') }), metrics });
    const ids = Array.from({ length: 1234 }, (_, i) => `fh-${i}`);
    await Promise.all(
      ids.map((id, i) => buffered.enqueue(rec(id, i % 2 ? 'acc_firehose01' : 'acc_firehose02'))),
    );
    await buffered.close();
    expect(buffered.spoolDepth).toBe(0);

    const objects = await readBucket(s3, bucket);
    // moto 5 writes one object per PutRecordBatch: the records' bytes concatenated, under
    // <Prefix>YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>.
    expect(objects.length).toBe(metrics.snapshot().sinkWrites);
    expect(objects.length).toBeGreaterThanOrEqual(Math.ceil(ids.length / LIMITS.firehoseMaxRecords));
    for (const o of objects) {
      expect(o.key).toMatch(
        new RegExp(`^events/\\d{4}/\\d{2}/\\d{2}/\\d{2}/${stream}-\\d+-[\\d-]+-[0-9a-f-]{36}$`),
      );
      expect(linesOf(o.body).length).toBeLessThanOrEqual(LIMITS.firehoseMaxRecords);
    }
    const delivered = objects.flatMap((o) =>
      linesOf(o.body).map((l) => JSON.parse(l) as { id: string; accountId: string }),
    );
    expect(delivered).toHaveLength(ids.length);
    expect(delivered.map((d) => d.id).sort()).toEqual([...ids].sort());
    expect(delivered.find((d) => d.id === 'fh-1')?.accountId).toBe('acc_firehose01');
  });

  it('check() rejects for a missing or deleted stream', async () => {
    const stream = unique('ts-fh-missing');
    const sink = new FirehoseSink({ client: firehose, streamName: stream });
    await expect(sink.check()).rejects.toThrow();
    const bucket = unique('ts-fh');
    await createStream(bucket, stream);
    await expect(sink.check()).resolves.toBeUndefined();
    await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
    await expect(sink.check()).rejects.toThrow();
  });

  it('asserts the PutRecordBatch limits instead of sending an oversized batch', async () => {
    const sink = new FirehoseSink({ client: firehose, streamName: 'never-called' });
    const many = Array.from({ length: LIMITS.firehoseMaxRecords + 1 }, (_, i) => rec(`m${i}`));
    await expect(sink.putBatch(many)).rejects.toBeInstanceOf(RangeError);
    const big = { ...rec('big'), data: Buffer.alloc(LIMITS.firehoseMaxRecordBytes + 1, 0x61) };
    await expect(sink.putBatch([big])).rejects.toBeInstanceOf(RangeError);
    const heavy = Array.from({ length: 5 }, () => ({
      ...rec('h'),
      data: Buffer.alloc(LIMITS.firehoseMaxRecordBytes, 0x61),
    }));
    await expect(sink.putBatch(heavy)).rejects.toBeInstanceOf(RangeError);
    expect(() => new FirehoseSink({ client: firehose, streamName: '' })).toThrow();
  });

  describe('partial failures', () => {
    // moto never fails single records, so a tiny HTTP server speaking the Firehose JSON protocol answers
    // instead: the real SDK client parses its response.
    let server: Server;
    let requests: { Records: { Data: string }[] }[];
    beforeAll(async () => {
      requests = [];
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { Records: { Data: string }[] };
          requests.push(body);
          const responses = body.Records.map((_, i) =>
            i % 3 === 1
              ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
              : { RecordId: `r${i}` },
          );
          res.setHeader('content-type', 'application/x-amz-json-1.1');
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
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    it('returns the indexes of records with an ErrorCode', async () => {
      const port = (server.address() as AddressInfo).port;
      const client = new FirehoseClient({ ...motoClientConfig(`http://127.0.0.1:${port}`), maxAttempts: 1 });
      const sink = new FirehoseSink({ client, streamName: 'partial' });
      const failed = await sink.putBatch(Array.from({ length: 7 }, (_, i) => rec(`p${i}`)));
      expect(failed).toEqual([1, 4]);
      expect(requests).toHaveLength(1);
      expect(Buffer.from(requests[0]!.Records[2]!.Data, 'base64').toString()).toBe(rec('p2').data.toString());
      client.destroy();
    });
  });
});
