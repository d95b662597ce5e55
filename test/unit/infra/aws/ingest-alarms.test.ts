/**
 * The ingest path's alarms (`IngestAlarms`): per event stream, delivery, the dynamic-partitioning metrics and
 * throttled records, on a bare stack of a location with two streams, the ingest service and the alarm topic.
 * The alarms of the whole regional stack are counted in regional-stack.test.ts.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { LIMITS, names } from '../../../../platform';
import { AlarmTopic } from '../../../../infra/aws/lib/constructs/alarm-topic';
import { EventStream } from '../../../../infra/aws/lib/constructs/event-stream';
import { IngestAlarms, PARTITION_WARNING_SHARE } from '../../../../infra/aws/lib/constructs/ingest-alarms';
import { awsNames } from '../../../../infra/aws/lib/naming';
import { bareIngest, type Json, ref, stageConfig, temporaryOutdir } from './support';

const outdir = temporaryOutdir('cdk-ingest-alarms');
const config = stageConfig();
const streamNames = [names.eventStream('dev', 'europe'), names.eventStream('dev', 'europe', 1)];

/** The location's ingest path with a second stream and the alarms over both. */
function build(activePartitionQuota?: number) {
  const built = bareIngest('europe', outdir, config);
  const second = new EventStream(built.stack, 'EventStream1', {
    deliveryStreamName: streamNames[1]!,
    destinationBucket: built.eventStore.bucket,
    encryptionKey: built.key.key,
    errorLogGroupName: awsNames.logGroup('dev', 'europe', 'event-stream'),
    logRetentionDays: config.logRetentionDays,
    shareWith: built.eventStream,
  });
  const topic = new AlarmTopic(built.stack, 'AlarmTopic', { encryptionKey: built.key.key });
  const alarms = new IngestAlarms(built.stack, 'Alarms', {
    topic: topic.topic,
    ingest: built.ingest,
    eventStreams: [built.eventStream, second],
    activePartitionQuota,
  });
  return { ...built, alarms, template: Template.fromStack(built.stack) };
}

/** The Firehose alarms of one stream, by metric name. */
function streamAlarms(template: Template, stream: string): Record<string, Json> {
  const found = Object.values(
    template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Namespace: 'AWS/Firehose', Dimensions: [{ Name: 'DeliveryStreamName', Value: stream }] },
    }),
  ).map((r) => (r as { Properties: Json }).Properties);
  return Object.fromEntries(found.map((a) => [a.MetricName as string, a]));
}

let built: ReturnType<typeof build>;

beforeAll(() => {
  built = build();
});

describe('event stream alarms', () => {
  test('every stream has its delivery, partition and throttling alarms, all notifying the topic', () => {
    const topic = ref(built.template, 'AWS::SNS::Topic');
    for (const stream of streamNames) {
      const alarms = streamAlarms(built.template, stream);
      expect(Object.keys(alarms).sort()).toEqual([
        'DeliveryToS3.DataFreshness',
        'DeliveryToS3.Success',
        'PartitionCount',
        'PartitionCountExceeded',
        'ThrottledRecords',
      ]);
      for (const alarm of Object.values(alarms)) expect(alarm.AlarmActions).toEqual([topic]);
    }
    expect(built.alarms.streams.map((s) => s.stream.deliveryStreamName)).toEqual(streamNames);
    // Two function alarms, five per stream, the spool's.
    expect(built.alarms.alarms).toHaveLength(2 + 5 * streamNames.length + 1);
  });

  test('records going to the error prefix page at once: PartitionCountExceeded at 1 in one period', () => {
    for (const stream of streamNames) {
      expect(streamAlarms(built.template, stream).PartitionCountExceeded).toMatchObject({
        Statistic: 'Maximum',
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  test('active partitions warn past 80% of the default quota, throttled records at the first one', () => {
    const alarms = streamAlarms(built.template, streamNames[1]!);
    expect(alarms.PartitionCount).toMatchObject({
      Statistic: 'Maximum',
      Threshold: LIMITS.firehoseActivePartitions * PARTITION_WARNING_SHARE,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms.PartitionCount!.Threshold).toBe(400);
    expect(alarms.ThrottledRecords).toMatchObject({
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test('a raised quota moves the partition warning with it', () => {
    const raised = build(LIMITS.firehoseMaxActivePartitions);
    for (const stream of streamNames) {
      expect(streamAlarms(raised.template, stream).PartitionCount!.Threshold).toBe(4000);
    }
  });

  test('no stream, or a quota that is not a positive whole number, is refused', () => {
    const { stack, ingest, eventStream, key } = bareIngest('apac', outdir, config);
    const topic = new AlarmTopic(stack, 'AlarmTopic', { encryptionKey: key.key }).topic;
    expect(() => new IngestAlarms(stack, 'NoStream', { topic, ingest, eventStreams: [] })).toThrow(
      /NoStream\] eventStreams: none to watch/,
    );
    expect(
      () =>
        new IngestAlarms(stack, 'HalfQuota', {
          topic,
          ingest,
          eventStreams: [eventStream],
          activePartitionQuota: 0.5,
        }),
    ).toThrow(/HalfQuota\] activePartitionQuota must be a positive whole number, got 0.5/);
  });
});
