/**
 * Alarms of a location's ingest path: the function, the event stream and the disk spool.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { EventStream } from './event-stream';
import type { IngestService } from './ingest-service';

const PERIOD = Duration.minutes(5);
// A condition that lasts three periods is an outage of the stream, not a blip.
const SUSTAINED_PERIODS = 3;

/** Properties of {@link IngestAlarms}. */
export interface IngestAlarmsProps {
  /** Where alarms notify. */
  readonly topic: sns.ITopic;
  /** The ingest service: its function and its own (EMF) metrics. */
  readonly ingest: IngestService;
  /** The event stream the function writes into. */
  readonly eventStream: EventStream;
}

/**
 * Alarms on function errors and throttles, Firehose delivery failures and staleness, and the ingest
 * spool's backlog (the `SpoolDepth` EMF metric): each notifies the topic when it fires.
 */
export class IngestAlarms extends Construct {
  /** Invocation errors: the handler never fails on client input, so any error is a defect or an outage. */
  public readonly functionErrors: cloudwatch.Alarm;
  /** Throttled invocations: the reserved concurrency is exhausted and hits are being refused. */
  public readonly functionThrottles: cloudwatch.Alarm;
  /** Deliveries into S3 failing for a quarter of an hour. */
  public readonly deliveryFailures: cloudwatch.Alarm;
  /** The oldest undelivered record is older than three buffering intervals. */
  public readonly deliveryFreshness: cloudwatch.Alarm;
  /** Events spooled on local disk (the stream refused them) for a quarter of an hour. */
  public readonly spoolBacklog: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: IngestAlarmsProps) {
    super(scope, id);
    const stream = props.eventStream;
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
    this.deliveryFailures = new cloudwatch.Alarm(this, 'DeliveryFailures', {
      alarmDescription: 'Firehose is failing to deliver events into the event bucket.',
      metric: stream.metricDeliveryToS3Success({ period: PERIOD, statistic: cloudwatch.Stats.AVERAGE }),
      threshold: 1,
      evaluationPeriods: SUSTAINED_PERIODS,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deliveryFreshness = new cloudwatch.Alarm(this, 'DeliveryFreshness', {
      alarmDescription: 'Events wait in Firehose far longer than its buffering interval.',
      metric: stream.metricDeliveryToS3DataFreshness({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: stream.bufferingInterval.toSeconds() * 3,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
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
      this.deliveryFailures,
      this.deliveryFreshness,
      this.spoolBacklog,
    ];
  }
}
