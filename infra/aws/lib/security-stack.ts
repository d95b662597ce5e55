/**
 * The security stack of a stage, in the primary region (us-east-1, the directory home and CloudFront's
 * region): the audit trail and its alarms, the incident store and topics, the containment function and the
 * rules that route the per-key alarms and GuardDuty findings of every region to on-call.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import {
  metricsNamespace,
  names,
  PRIMARY_LOCATION,
  REGIONS,
  RETENTION,
  type StageConfig,
} from '../../../platform';
import { AuditTrail } from './constructs/security/audit-trail';
import { ContainmentFunction } from './constructs/security/containment-function';
import { IncidentStore } from './constructs/security/incident-store';
import { GUARD_DUTY_FINDINGS, keyAlarmStateChanges } from './constructs/security/security-events';
import { securityNames } from './constructs/security/security-names';
import { NotificationClock } from './constructs/security/notification-clock';
import { TrailAlarms } from './constructs/security/trail-alarms';

/** Properties of {@link SecurityStack}. */
export interface SecurityStackProps extends StackProps {
  /** The validated configuration of the stage. */
  readonly config: StageConfig;
  /** The edge store (the edge stack's KeyValueStore, same region), where the function revokes keys. */
  readonly keyValueStore: cloudfront.IKeyValueStore;
}

/**
 * One per stage, in the primary location's region: where the edge store's stack is and, whenever the
 * stage deploys that location, the directory home (the function updates the directory in its own region).
 */
export class SecurityStack extends Stack {
  /** The trail, its key, bucket and log group. */
  public readonly auditTrail: AuditTrail;
  /** The metric filters and alarms on the trail. */
  public readonly trailAlarms: TrailAlarms;
  /** The incident table, key and topics. */
  public readonly incidents: IncidentStore;
  /**
   * The containment function (invoked by the per-key alarms only with `autoContain`); none in a stage
   * without the primary location, whose directory has no replica in this region.
   */
  public readonly containment?: ContainmentFunction;
  /** The hourly check of the 72-hour clock and its alarm (with the containment function only). */
  public readonly notificationClock?: NotificationClock;
  /** Routes every location's per-key alarms to the incident topic. */
  public readonly keyAlarmRoute: events.Rule;
  /** Routes GuardDuty findings (medium and above) to the incident topic, with `guardDuty`. */
  public readonly guardDutyRoute?: events.Rule;

  constructor(scope: Construct, id: string, props: SecurityStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { stage } = config;
    if (this.region !== REGIONS[PRIMARY_LOCATION].aws) {
      throw new Error(`[${this.node.path}] env.region must be ${REGIONS[PRIMARY_LOCATION].aws}`);
    }
    // The function updates the directory in its own region: only a stage that deploys the primary
    // location has a replica here. A (dev) stage without it gets the trail, alarms and store, no function.
    const directoryHere = config.locations.includes(PRIMARY_LOCATION);
    if (config.autoContain && !directoryHere) {
      throw new Error(
        `[${this.node.path}] autoContain needs the directory in ${REGIONS[PRIMARY_LOCATION].aws}: ` +
          `the stage's locations must include ${PRIMARY_LOCATION}`,
      );
    }

    this.auditTrail = new AuditTrail(this, 'AuditTrail', {
      trailName: securityNames.trail(stage),
      bucketName: names.auditTrailBucket(stage, this.account),
      logGroupName: securityNames.trailLogGroup(stage),
      keyAlias: securityNames.keyAlias(stage),
      retentionDays: RETENTION.auditTrailRetentionDays,
    });
    this.incidents = new IncidentStore(this, 'Incidents', {
      tableName: names.incidentTable(stage),
      incidentTopicName: names.incidentTopic(stage),
      noticeTopicName: names.customerNoticeTopic(stage),
      keyAlias: `${securityNames.keyAlias(stage)}-incidents`,
      alarmEmail: config.alarmEmail,
    });
    this.trailAlarms = new TrailAlarms(this, 'TrailAlarms', {
      logGroup: this.auditTrail.logGroup,
      metricNamespace: `${metricsNamespace(stage)}/security`,
      topic: this.incidents.incidentTopic,
    });

    this.containment = directoryHere
      ? new ContainmentFunction(this, 'Containment', {
          stage,
          locations: config.locations,
          store: this.incidents,
          keyValueStore: props.keyValueStore,
          encryptionKey: this.incidents.key,
          logRetentionDays: config.logRetentionDays,
          autoContain: config.autoContain,
        })
      : undefined;
    this.notificationClock = this.containment
      ? new NotificationClock(this, 'NotificationClock', {
          stage,
          containment: this.containment,
          store: this.incidents,
        })
      : undefined;

    const onCall = new targets.SnsTopic(this.incidents.incidentTopic);
    this.keyAlarmRoute = new events.Rule(this, 'KeyAlarmsToOnCall', {
      description: 'Every per-API-key alarm of every location entering ALARM notifies on-call',
      eventPattern: keyAlarmStateChanges(stage),
      targets: [onCall],
    });
    if (config.guardDuty) {
      this.guardDutyRoute = new events.Rule(this, 'GuardDutyToOnCall', {
        description: 'GuardDuty findings of medium severity or higher, from every location, notify on-call',
        eventPattern: GUARD_DUTY_FINDINGS,
        targets: [onCall],
      });
    }

    new CfnOutput(this, 'IncidentTableName', { value: this.incidents.table.tableName });
    new CfnOutput(this, 'IncidentTopicArn', { value: this.incidents.incidentTopic.topicArn });
    new CfnOutput(this, 'NoticeTopicArn', { value: this.incidents.noticeTopic.topicArn });
    new CfnOutput(this, 'AuditTrailBucketName', { value: this.auditTrail.bucket.bucketName });
    if (this.containment) {
      new CfnOutput(this, 'ContainmentFunctionName', {
        value: this.containment.function.function.functionName,
      });
    }
  }
}
