/**
 * The 72-hour clock as an alarm: every hour the containment function (the incident service's Lambda) counts
 * the incidents affecting personal data whose customer was not notified within
 * `RETENTION.breachNotificationHours` of detection, and writes the count as a metric; an alarm on it tells
 * on-call.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { INCIDENT_METRICS, metricsNamespace, RETENTION, type Stage } from '../../../../../platform';
import { grantOnPrincipal } from '../../grants';
import type { ContainmentFunction } from './containment-function';
import type { IncidentStore } from './incident-store';

/** Properties of {@link NotificationClock}. */
export interface NotificationClockProps {
  /** The stage: the metrics namespace. */
  readonly stage: Stage;
  /** The function that runs the check (the incident service's Lambda). */
  readonly containment: ContainmentFunction;
  /** The incident table it lists, and the topic the alarm notifies. */
  readonly store: IncidentStore;
  /**
   * How often the check runs.
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;
}

/** The hourly check of every incident's notification deadline and the alarm on overdue incidents. */
export class NotificationClock extends Construct {
  /** The schedule that invokes the check. */
  public readonly schedule: events.Rule;
  /** In ALARM while an incident affecting personal data is past its deadline without a notice. */
  public readonly overdueAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: NotificationClockProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.hours(1);
    const fn = props.containment.function;
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Checks the ${RETENTION.breachNotificationHours}-hour notification clock of every incident`,
      schedule: events.Schedule.rate(interval),
      targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 2 })],
    });
    // Listing is a scan of the incident table: the check reads every record, and writes none.
    grantOnPrincipal(fn, {
      sid: 'ListIncidentsForTheClock',
      actions: ['dynamodb:Scan'],
      resourceArns: [props.store.table.tableArn],
    });
    // The function's boundary already allows the scan (`ContainmentFunction`'s `ListIncidentsForTheClock`).
    this.overdueAlarm = new cloudwatch.Alarm(this, 'OverdueAlarm', {
      alarmDescription:
        `An incident affecting personal data was not notified to its customer within ` +
        `${RETENTION.breachNotificationHours} hours of detection: run npm run incident -- list, then notify.`,
      metric: new cloudwatch.Metric({
        namespace: metricsNamespace(props.stage),
        metricName: INCIDENT_METRICS.overdueNotifications,
        statistic: 'Maximum',
        period: interval,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.overdueAlarm.addAlarmAction(new cw_actions.SnsAction(props.store.incidentTopic));
  }
}
