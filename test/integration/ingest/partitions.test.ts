/**
 * A 501st account: more accounts active at once than one Firehose stream's default quota of active
 * partitions (LIMITS.firehoseActivePartitions, 500), through the real sinks on both paths this machine has.
 *
 * What it shows:
 * - moto (Firehose + S3, the real SDK clients): three streams configured like the event stream (dynamic
 *   partitioning by account and day, `\n` record de-aggregation), events of 520 accounts sent through
 *   BufferedSink → FirehoseSink. Every acknowledged event is delivered exactly once, by the stream
 *   `eventStreamIndex(account, 3)`, and splitting the delivered bytes on `\n` (what de-aggregation does)
 *   gives each event back as a whole JSON document of its own account; the 501st account's events are all
 *   there, and each stream carried fewer than 500 partitions while all of them together carried over 1,000.
 * - local (TS_SINK=file, BufferedSink → FileSink): every event in a segment under
 *   `account=<its account>/dt=<its day>/`.
 *
 * What moto cannot show (moto 5 writes one object per PutRecordBatch with the records' bytes
 * concatenated, under the stream's Prefix taken literally, `!{partitionKeyFromQuery:…}` and all): that
 * Firehose de-aggregates a record into its events, evaluates the partition keys and writes each event
 * under `account=<id>/dt=<day>/`, and that a stream with under 500 active partitions never sends records
 * to `errors/activePartitionExceeded/`. Only a real account proves those three: the partition quota, the
 * de-aggregation, the prefix.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  type ProcessorParameterName,
  type ProcessorType,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EVENT_OBJECTS, eventStreamIndex, LIMITS } from '../../../platform';
import {
  ERROR_PREFIX,
  EVENT_PREFIX,
  EVENT_STREAM_PROCESSORS,
} from '../../../infra/aws/lib/constructs/event-stream';
import { Metrics } from '../../../services/ingest/src/metrics';
import { BufferedSink } from '../../../services/ingest/src/sinks/buffered-sink';
import { FileSink } from '../../../services/ingest/src/sinks/file-sink';
import { FirehoseSink } from '../../../services/ingest/src/sinks/firehose-sink';
import type { Sink, SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { DiskSpool } from '../../../services/ingest/src/sinks/spool';
import { motoClientConfig } from '../../../tooling/moto';
import { motoEndpoint } from '../../support/env';

const ACCOUNTS = 520;
const STREAMS = 3;
const DAYS = ['2026-12-02', '2026-12-03'] as const;
const account = (n: number) => `acc_part_${String(n).padStart(4, '0')}`;
/** The account that is the 501st to send anything. */
const ACCOUNT_501 = account(500);

interface StoredEvent {
  readonly id: string;
  readonly accountId: string;
  readonly dt: string;
}

/**
 * Four events per account, accounts interleaved so that all 520 are active in every batch; sizes vary,
 * and the 501st account also sends one 6 KiB event, which travels in a record of its own.
 */
function events(): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let round = 0; round < 4; round++)
    for (let a = 0; a < ACCOUNTS; a++) {
      const accountId = account(a);
      const dt = DAYS[round === 0 ? 0 : 1];
      const id = `${accountId}-${round}`;
      const size = accountId === ACCOUNT_501 && round === 2 ? 6 * 1024 : 200 + ((a * 31 + round * 17) % 400);
      const head = JSON.stringify({ id, accountId, dt, pad: '' });
      const pad = 'p'.repeat(size - head.length - 1);
      out.push({ accountId, dt, data: Buffer.from(JSON.stringify({ id, accountId, dt, pad }) + '\n') });
    }
  return out;
}

/** Sends the events through BufferedSink into `sink` and waits until every one is acknowledged. */
async function sendAll(sink: Sink, spoolDir: string, records: readonly SinkRecord[], metrics?: Metrics) {
  const buffered = new BufferedSink({ sink, spool: new DiskSpool({ dir: spoolDir }), metrics });
  await Promise.all(records.map((r) => buffered.enqueue(r)));
  await buffered.close();
  expect(buffered.spoolDepth).toBe(0);
}

const parseLines = (text: string): StoredEvent[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as StoredEvent);

const idsOf = (records: readonly SinkRecord[]) =>
  records.map((r) => (JSON.parse(r.data.toString()) as StoredEvent).id).sort();

describe('a 501st account', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ts-partitions-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('moto: every event of 520 accounts delivered once by its account’s stream, whole after splitting on newlines', async () => {
    const endpoint = motoEndpoint();
    const firehose = new FirehoseClient({ ...motoClientConfig(endpoint), maxAttempts: 1 });
    const s3 = new S3Client(motoClientConfig(endpoint));
    try {
      const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
      const bucket = `ts-partitions-${run}`;
      const names = Array.from({ length: STREAMS }, (_, i) => `ts-partitions-${run}${i ? `-${i}` : ''}`);
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      for (const name of names)
        await firehose.send(
          new CreateDeliveryStreamCommand({
            DeliveryStreamName: name,
            DeliveryStreamType: 'DirectPut',
            ExtendedS3DestinationConfiguration: {
              BucketARN: `arn:aws:s3:::${bucket}`,
              RoleARN: 'arn:aws:iam::123456789012:role/firehose',
              Prefix: EVENT_PREFIX,
              ErrorOutputPrefix: ERROR_PREFIX,
              DynamicPartitioningConfiguration: { Enabled: true },
              ProcessingConfiguration: {
                Enabled: true,
                // The construct's own processors, in the SDK's spelling.
                Processors: EVENT_STREAM_PROCESSORS.map((p) => ({
                  Type: p.type as ProcessorType,
                  Parameters: (
                    (p.parameters ?? []) as { parameterName: string; parameterValue: string }[]
                  ).map((q) => ({
                    ParameterName: q.parameterName as ProcessorParameterName,
                    ParameterValue: q.parameterValue,
                  })),
                })),
              },
            },
          }),
        );

      const metrics = new Metrics();
      const sink = new FirehoseSink({ client: firehose, streamNames: names, metrics });
      await expect(sink.check()).resolves.toBeUndefined();
      const records = events();
      await sendAll(sink, join(dir, 'spool'), records, metrics);

      const delivered: (StoredEvent & { stream: string })[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          // moto takes the Prefix literally: the partition keys are not evaluated.
          expect(o.Key!.startsWith(EVENT_PREFIX)).toBe(true);
          const stream =
            /\/\d{2}\/(ts-partitions-[^/]+?)-\d+-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$/.exec(
              o.Key!,
            )?.[1];
          expect(names).toContain(stream);
          const body = await (
            await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))
          ).Body!.transformToString();
          for (const e of parseLines(body)) delivered.push({ ...e, stream: stream! });
        }
        token = page.NextContinuationToken;
      } while (token);

      // Every acknowledged event exactly once, each line a whole event of the account its id names.
      expect(delivered.map((e) => e.id).sort()).toEqual(idsOf(records));
      for (const e of delivered) {
        expect(e.id.startsWith(`${e.accountId}-`)).toBe(true);
        expect(e.stream).toBe(names[eventStreamIndex(e.accountId, STREAMS)]);
      }
      const of501 = delivered.filter((e) => e.accountId === ACCOUNT_501);
      expect(of501.map((e) => e.id).sort()).toEqual([0, 1, 2, 3].map((r) => `${ACCOUNT_501}-${r}`));
      expect(of501.map((e) => e.dt).sort()).toEqual([DAYS[0], DAYS[1], DAYS[1], DAYS[1]]);

      // More partitions than one stream's quota in all; under it on each stream.
      const partitions = (list: readonly StoredEvent[]) =>
        new Set(list.map((e) => `${e.accountId}/${e.dt}`)).size;
      expect(partitions(delivered)).toBe(ACCOUNTS * DAYS.length);
      expect(new Set(delivered.map((e) => e.accountId)).size).toBeGreaterThan(
        LIMITS.firehoseActivePartitions,
      );
      for (const name of names)
        expect(partitions(delivered.filter((e) => e.stream === name))).toBeLessThan(
          LIMITS.firehoseActivePartitions,
        );

      // Aggregated: fewer Firehose records than events, all of them counted.
      const s = metrics.snapshot();
      expect(s.firehoseEvents).toBe(records.length);
      expect(s.firehoseRecords).toBeLessThan(records.length);
    } finally {
      firehose.destroy();
      s3.destroy();
    }
  });

  it('local (TS_SINK=file): every event of 520 accounts under its own account and day', async () => {
    const root = join(dir, 'events');
    const records = events();
    await sendAll(new FileSink({ rootDir: root }), join(dir, 'spool'), records);

    const stored: StoredEvent[] = [];
    const accountDirs = await readdir(root);
    expect(accountDirs).toHaveLength(ACCOUNTS);
    for (const accountDir of accountDirs) {
      expect(accountDir.startsWith(EVENT_OBJECTS.accountKey)).toBe(true);
      const accountId = accountDir.slice(EVENT_OBJECTS.accountKey.length);
      for (const dayDir of await readdir(join(root, accountDir))) {
        const dt = dayDir.slice(EVENT_OBJECTS.dayKey.length);
        for (const file of await readdir(join(root, accountDir, dayDir)))
          for (const e of parseLines(await readFile(join(root, accountDir, dayDir, file), 'utf8'))) {
            expect(e.accountId).toBe(accountId);
            expect(e.dt).toBe(dt);
            stored.push(e);
          }
      }
    }
    expect(stored.map((e) => e.id).sort()).toEqual(idsOf(records));
    const of501 = stored.filter((e) => e.accountId === ACCOUNT_501);
    expect(of501).toHaveLength(4);
    expect(accountDirs).toContain(EVENT_OBJECTS.accountPrefix(ACCOUNT_501).slice(0, -1));
  });
});
