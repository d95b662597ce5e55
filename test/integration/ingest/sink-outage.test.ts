/**
 * Fault test of the bar "sink down: zero acknowledged events lost". A moto_server of this test's
 * own is stopped while records stream through BufferedSink → FirehoseSink, and started again on the same
 * port; every acknowledged record must be in the bucket at the end, exactly once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  FirehoseClient,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Metrics } from '../../../services/ingest/src/metrics';
import { BufferedSink } from '../../../services/ingest/src/sinks/buffered-sink';
import { FirehoseSink } from '../../../services/ingest/src/sinks/firehose-sink';
import type { Sink, SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { DiskSpool } from '../../../services/ingest/src/sinks/spool';
import { motoClientConfig, startMoto, type MotoServer } from '../../../tooling/moto';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Ids of every record in a bucket, one per line of every object. */
async function bucketIds(s3: S3Client, bucket: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => o.Key!);
    // A few GETs at a time: hundreds of small objects one by one would dominate the test's run time.
    for (let i = 0; i < keys.length; i += 16) {
      const bodies = await Promise.all(
        keys
          .slice(i, i + 16)
          .map(async (Key) =>
            (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToString(),
          ),
      );
      for (const body of bodies)
        for (const line of body.split('\n')) if (line) ids.push((JSON.parse(line) as { id: string }).id);
    }
    token = page.NextContinuationToken;
  } while (token);
  return ids;
}

/** Passes calls through and remembers when each one started, to know when none from before a moment is left. */
class WatchedSink implements Sink {
  readonly name: string;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly maxRecordBytes: number;
  readonly running = new Set<number>();
  constructor(private readonly inner: Sink) {
    this.name = inner.name;
    this.maxBatchRecords = inner.maxBatchRecords;
    this.maxBatchBytes = inner.maxBatchBytes;
    this.maxRecordBytes = inner.maxRecordBytes;
  }
  async putBatch(records: readonly SinkRecord[]): Promise<number[]> {
    const started = performance.now();
    this.running.add(started);
    try {
      return await this.inner.putBatch(records);
    } finally {
      this.running.delete(started);
    }
  }
  check(): Promise<void> {
    return this.inner.check();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  startedBefore(t: number): boolean {
    for (const s of this.running) if (s < t) return true;
    return false;
  }
}

describe('sink outage (moto stopped and restarted)', () => {
  let moto: MotoServer | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ts-outage-'));
  });
  afterAll(async () => {
    await moto?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('acknowledges through the spool while the sink is down and loses no acknowledged record', async () => {
    moto = await startMoto();
    const port = moto.port;
    const config = { ...motoClientConfig(moto.endpoint), maxAttempts: 1 };
    const firehose = new FirehoseClient(config);
    const s3 = new S3Client(motoClientConfig(moto.endpoint));
    const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const bucket = `ts-outage-${suffix}`;
    const stream = `ts-outage-${suffix}`;
    const createStream = async () => {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: stream,
          ExtendedS3DestinationConfiguration: {
            BucketARN: `arn:aws:s3:::${bucket}`,
            RoleARN: 'arn:aws:iam::123456789012:role/firehose',
          },
        }),
      );
    };
    await createStream();

    const metrics = new Metrics();
    const sink = new WatchedSink(new FirehoseSink({ client: firehose, streamNames: [stream] }));
    const buffered = new BufferedSink({
      sink,
      spool: new DiskSpool({ dir: join(dir, 'spool') }),
      metrics,
      attemptTimeoutMs: 2_000,
      retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
      drain: { initialDelayMs: 100, maxDelayMs: 400 },
    });

    // The producer: ~2,000 records/s, none awaited in line, like concurrent requests.
    const acked = new Set<string>();
    const refused: unknown[] = [];
    const inFlight = new Set<Promise<void>>();
    let phase: 'up' | 'down' | 'recovered' = 'up';
    const ackedWhileDown: string[] = [];
    let produced = 0;
    let producing = true;
    let maxSpoolDepth = 0;
    const producer = (async () => {
      while (producing) {
        for (let i = 0; i < 10; i++) {
          const id = `o-${produced++}`;
          const p = buffered
            .enqueue({
              accountId: 'acc_outage0001',
              dt: '2025-03-01',
              data: Buffer.from(JSON.stringify({ id, accountId: 'acc_outage0001', t: Date.now() }) + '\n'),
            })
            .then(
              () => {
                acked.add(id);
                if (phase === 'down') ackedWhileDown.push(id);
              },
              (err: unknown) => void refused.push(err),
            )
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        maxSpoolDepth = Math.max(maxSpoolDepth, buffered.spoolDepth);
        await sleep(5);
      }
    })();

    await sleep(1_000);
    expect(acked.size).toBeGreaterThan(0);

    // moto keeps its state in memory, so what the first server received is read before it goes. Deleting
    // the stream first makes a clean cut: once no call from before the delete is running, nothing more
    // can reach the first server's bucket.
    await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
    const cut = performance.now();
    await waitFor(() => !sink.startedBefore(cut), 5_000, 'calls from before the cut');
    const beforeStop = await bucketIds(s3, bucket);
    phase = 'down';
    await moto.stop();
    moto = undefined;

    await sleep(2_000);
    expect(buffered.sinkAvailable).toBe(false);

    moto = await startMoto(undefined, port);
    await createStream();
    phase = 'recovered';
    await sleep(1_000);

    producing = false;
    await producer;
    await Promise.all([...inFlight]);
    await buffered.flush();
    await waitFor(() => buffered.spoolDepth === 0, 15_000, 'the spool to drain');
    await buffered.close();
    const afterRestart = await bucketIds(s3, bucket);
    firehose.destroy();
    s3.destroy();

    expect(refused).toEqual([]);
    expect(acked.size).toBe(produced);
    // Acknowledged while nothing was listening: only the spool can have taken them.
    expect(ackedWhileDown.length).toBeGreaterThan(100);
    expect(maxSpoolDepth).toBeGreaterThan(100);
    expect(metrics.spoolDepth).toBe(0);

    const delivered = [...beforeStop, ...afterRestart];
    expect(delivered.length).toBe(acked.size);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(new Set(delivered)).toEqual(acked);
  }, 30_000);
});
