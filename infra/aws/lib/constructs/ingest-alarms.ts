/**
 * Alarms of a location's ingest path: the function, the event streams and the disk spool.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { LIMITS } from '../../../../platform';
import type { EventStream } from './event-stream';
import type { IngestService } from './ingest-service';

const PERIOD = Duration.minutes(5);
// A condition that lasts three periods is an outage of the stream, not a blip.
const SUSTAINED_PERIODS = 3;
/** The share of a stream's active-partition quota past which it is time to add streams or ask for more. */
export const PARTITION_WARNING_SHARE = 0.8;

/** Properties of {@link IngestAlarms}. */
export interface IngestAlarmsProps {
  /** Where alarms notify. */
  readonly topic: sns.ITopic;
  /** The ingest service: its function and its own (EMF) metrics. */
  readonly ingest: IngestService;
  /** The event streams the function writes into: each gets the alarms of {@link EventStreamAlarms}. */
  readonly eventStreams: readonly EventStream[];
  /**
   * Each stream's active-partition quota (the stage's `firehoseActivePartitionQuota`): the partition alarm
   * fires at {@link PARTITION_WARNING_SHARE} of it.
   * @default LIMITS.firehoseActivePartitions (500)
   */
  readonly activePartitionQuota?: number;
}

/** The alarms of one event stream. */
export interface EventStreamAlarms {
  /** The stream. */
  readonly stream: EventStream;
  /** Deliveries into S3 failing for a quarter of an hour. */
  readonly deliveryFailures: cloudwatch.Alarm;
  /** The oldest undelivered record is older than three buffering intervals. */
  readonly deliveryFreshness: cloudwatch.Alarm;
  /**
   * The stream went over its active-partition quota: records are landing under the error prefix, outside
   * their account's prefix, where the purge and the customer cannot find them. Pages.
   */
  readonly partitionsExceeded: cloudwatch.Alarm;
  /** The stream's active partitions passed 80% of its quota: add streams or ask AWS for a higher quota. */
  readonly partitionsNearQuota: cloudwatch.Alarm;
  /** The stream refused records for its throughput quota (records, requests or bytes per second). */
  readonly throttledRecords: cloudwatch.Alarm;
}

/**
 * Alarms on function errors and throttles; per event stream, on delivery failures and staleness, the
 * dynamic-partitioning metrics (`PartitionCountExceeded`, `PartitionCount` near the quota) and throttled
 * records; and on the ingest spool's backlog (the `SpoolDepth` EMF metric): each notifies the topic.
 *
 * Records written under the error prefix have no metric of their own (S3 request metrics by prefix would
 * need a metrics configuration on the bucket, and count requests, not records). The alarms stand for its
 * causes instead: `PartitionCountExceeded` (the quota: it pages), `DeliveryToS3.Success` (deliveries that
 * failed after retries); records whose partition keys cannot be read have none, and the ingest sink only
 * writes JSON with both keys. The partition warning compares with the configured quota, not with the
 * `ActivePartitionsLimit` metric, so that it still fires when that metric is missing.
 */
export class IngestAlarms extends Construct {
  /** Invocation errors: the handler never fails on client input, so any error is a defect or an outage. */
  public readonly functionErrors: cloudwatch.Alarm;
  /** Throttled invocations: the reserved concurrency is exhausted and hits are being refused. */
  public readonly functionThrottles: cloudwatch.Alarm;
  /** The alarms of each event stream, in stream-index order. */
  public readonly streams: readonly EventStreamAlarms[];
  /** Events spooled on local disk (the stream refused them) for a quarter of an hour. */
  public readonly spoolBacklog: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: IngestAlarmsProps) {
    super(scope, id);
    const fn = props.ingest.function.function;

    this.functionErrors = new cloudwatch.Alarm(this, 'FunctionErrors', {
      alarmDescription: 'The ingest function failed invocations; client input never causes this.',
      metric: fn.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.functionThrottles = new cloudwatch.Alarm(this, 'FunctionThrottles', {
      alarmDescription: 'The ingest function was throttled: raise its reserved concurrency.',
      metric: fn.metricThrottles({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const quota = props.activePartitionQuota ?? LIMITS.firehoseActivePartitions;
    if (!Number.isInteger(quota) || quota < 1) {
      throw new Error(
        `[${this.node.path}] activePartitionQuota must be a positive whole number, got ${quota}`,
      );
    }
    if (props.eventStreams.length === 0) throw new Error(`[${this.node.path}] eventStreams: none to watch`);
    // Stream 0 keeps the construct ids its alarms always had; the others are numbered.
    this.streams = props.eventStreams.map((stream, i) =>
      this.addStreamAlarms(stream, i === 0 ? '' : `${i}`, quota),
    );
    this.spoolBacklog = new cloudwatch.Alarm(this, 'SpoolBacklog', {
      alarmDescription: 'Ingest instances hold events in their disk spool because the stream refuses them.',
      metric: props.ingest.metricSpoolDepth({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      evaluationPeriods: SUSTAINED_PERIODS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const notify = new actions.SnsAction(props.topic);
    for (const alarm of this.alarms) alarm.addAlarmAction(notify);
  }

  /** Every alarm of the construct. */
  public get alarms(): cloudwatch.Alarm[] {
    return [
      this.functionErrors,
      this.functionThrottles,
      ...this.streams.flatMap((s) => [
        s.deliveryFailures,
        s.deliveryFreshness,
        s.partitionsExceeded,
        s.partitionsNearQuota,
        s.throttledRecords,
      ]),
      this.spoolBacklog,
    ];
  }

  private addStreamAlarms(stream: EventStream, suffix: string, quota: number): EventStreamAlarms {
    const name = stream.deliveryStreamName;
    return {
      stream,
      deliveryFailures: new cloudwatch.Alarm(this, `DeliveryFailures${suffix}`, {
        alarmDescription: `Firehose is failing to deliver events of ${name} into the event bucket.`,
        metric: stream.metricDeliveryToS3Success({ period: PERIOD, statistic: cloudwatch.Stats.AVERAGE }),
        threshold: 1,
        evaluationPeriods: SUSTAINED_PERIODS,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      deliveryFreshness: new cloudwatch.Alarm(this, `DeliveryFreshness${suffix}`, {
        alarmDescription: `Events wait in ${name} far longer than its buffering interval.`,
        metric: stream.metricDeliveryToS3DataFreshness({
          period: PERIOD,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: stream.bufferingInterval.toSeconds() * 3,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      partitionsExceeded: new cloudwatch.Alarm(this, `PartitionCountExceeded${suffix}`, {
        alarmDescription:
          `${name} is over its active-partition quota: events are being written under the error prefix ` +
          '(activePartitionExceeded), outside their account prefix. Add streams (stage config eventStreams) ' +
          'or have AWS raise the quota.',
        metric: stream.metricPartitionCountExceeded({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      partitionsNearQuota: new cloudwatch.Alarm(this, `PartitionCount${suffix}`, {
        alarmDescription:
          `${name} holds more than ${PARTITION_WARNING_SHARE * 100}% of its ${quota} active partitions: add ` +
          'streams (stage config eventStreams) or have AWS raise the quota before events reach the error prefix.',
        metric: stream.metricPartitionCount({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: Math.floor(quota * PARTITION_WARNING_SHARE),
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      throttledRecords: new cloudwatch.Alarm(this, `ThrottledRecords${suffix}`, {
        alarmDescription:
          `${name} refused records for its throughput quota; the function retries and spools them. ` +
          'Add streams or have AWS raise the stream quota.',
        metric: stream.metricThrottledRecords({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
  }
}
