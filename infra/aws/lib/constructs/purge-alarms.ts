/**
 * Alarms of a location's purge job: the 90-day deletion promise (the README's AWS section) and the job itself.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { RETENTION } from '../../../../platform';
import type { PurgeService } from './purge-service';

/** Consecutive days without a run's metrics before the job counts as stopped. */
export const PURGE_SILENT_DAYS = 2;

/** Properties of {@link PurgeAlarms}. */
export interface PurgeAlarmsProps {
  /** Where alarms notify. */
  readonly topic: sns.ITopic;
  /** The purge job: its function, schedule, dead-letter queue and own (EMF) metrics. */
  readonly purge: PurgeService;
}

/**
 * - Overdue accounts: a run reported an account still unpurged `RETENTION.purgeAlarmAfterDays` (80) days
 *   after it expired (`PurgeOverdueAccounts` > 0), ten days before the promise breaks. The job publishes the
 *   metric once a run, so missing data keeps the last state: the alarm stays on until a run reports none.
 * - Silent job: no run published its metrics for {@link PURGE_SILENT_DAYS} days (missing data breaches), so
 *   a job that stopped running, or crashes before publishing, cannot hide overdue accounts.
 * - Function errors: a run failed (the handler throws when an account failed, after publishing).
 * - Dead letters: an invocation failed every retry, or the schedule could not invoke the function.
 * - Schedule failures: EventBridge could not invoke the function.
 * Each notifies the topic when it fires.
 */
export class PurgeAlarms extends Construct {
  /** Some account is past `expiredAt + 80 days` unpurged. */
  public readonly overdueAccounts: cloudwatch.Alarm;
  /** No run has published metrics for two days. */
  public readonly notReporting: cloudwatch.Alarm;
  /** A run failed. */
  public readonly functionErrors: cloudwatch.Alarm;
  /** A message waits in the dead-letter queue. */
  public readonly deadLetters: cloudwatch.Alarm;
  /** The schedule failed to invoke the function. */
  public readonly scheduleFailures: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PurgeAlarmsProps) {
    super(scope, id);
    const { purge } = props;

    this.overdueAccounts = new cloudwatch.Alarm(this, 'OverdueAccounts', {
      alarmDescription:
        `An expired account is still not purged ${RETENTION.purgeAlarmAfterDays} days after it expired; ` +
        `the platform promises deletion by day ${RETENTION.purgeDeadlineDays}. See the purge function's logs.`,
      metric: purge.metricOverdueAccounts({ period: Duration.hours(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // One datapoint a day: between runs, keep what the last run said.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.notReporting = new cloudwatch.Alarm(this, 'NotReporting', {
      alarmDescription:
        `No purge run has published its metrics for ${PURGE_SILENT_DAYS} days: the daily job is not ` +
        'running or fails before it finishes, so overdue accounts would go unseen.',
      metric: purge.metricOverdueAccounts({
        period: Duration.days(1),
        statistic: cloudwatch.Stats.SAMPLE_COUNT,
      }),
      threshold: 1,
      evaluationPeriods: PURGE_SILENT_DAYS,
      datapointsToAlarm: PURGE_SILENT_DAYS,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.functionErrors = new cloudwatch.Alarm(this, 'FunctionErrors', {
      alarmDescription:
        'A purge run failed: an account could not be purged (see the run in the logs); Lambda retries it.',
      metric: purge.function.function.metricErrors({
        period: Duration.hours(1),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetters = new cloudwatch.Alarm(this, 'DeadLetters', {
      alarmDescription:
        'A purge invocation failed every retry or could not be delivered; it waits in the dead-letter queue.',
      metric: purge.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.scheduleFailures = new cloudwatch.Alarm(this, 'ScheduleFailures', {
      alarmDescription: 'EventBridge could not invoke the purge function on its daily schedule.',
      metric: purge.metricScheduleFailedInvocations({
        period: Duration.hours(1),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const notify = new actions.SnsAction(props.topic);
    for (const alarm of this.alarms) alarm.addAlarmAction(notify);
  }

  /** Every alarm of the construct. */
  public get alarms(): cloudwatch.Alarm[] {
    return [
      this.overdueAccounts,
      this.notReporting,
      this.functionErrors,
      this.deadLetters,
      this.scheduleFailures,
    ];
  }
}
