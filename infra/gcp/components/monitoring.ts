/**
 * Detection on GCP: Data Access audit logs for Cloud KMS and Cloud Storage (who read or used a key, who
 * read an object), and alert policies to the stage's notification channel: function errors, a purge
 * overdue at day 80 (and a purge that stopped reporting), KMS key state changes and IAM policy changes,
 * the last two counted from the Admin Activity audit logs by log-based metrics.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { GCP_LOG_METRIC_FIELD, PURGE_METRICS, type Stage } from '../../../platform';

/** Properties of {@link Monitoring}. */
export interface MonitoringProps {
  readonly project: string;
  readonly stage: Stage;
  /**
   * Address the alerts go to.
   * @default - none: the alert policies exist, without a channel (the console shows them)
   */
  readonly alarmEmail?: string;
  /** Days the project's `_Default` log bucket keeps logs (the functions' logs among them). */
  readonly logRetentionDays: number;
}

/** The purge function logs each run figure as a JSON line naming the figure in this field. */
const PURGE_METRIC_FIELD = `jsonPayload.${GCP_LOG_METRIC_FIELD}`;

/** Log filters of the audit events that raise an alert, by metric suffix. */
const AUDIT_FILTERS = {
  'kms-key-state':
    'protoPayload.serviceName="cloudkms.googleapis.com" AND protoPayload.methodName:("DestroyCryptoKeyVersion" OR "UpdateCryptoKeyVersion" OR "UpdateCryptoKeyPrimaryVersion" OR "RestoreCryptoKeyVersion")',
  'iam-policy-change': 'protoPayload.methodName:"SetIamPolicy"',
} as const;

/** Audit logs, log-based metrics and alert policies of the stage. */
export class Monitoring extends pulumi.ComponentResource {
  /** The e-mail channel, when the stack names an address. */
  public readonly channel?: gcp.monitoring.NotificationChannel;
  /** Alert policies by purpose. */
  public readonly alerts: Readonly<Record<string, gcp.monitoring.AlertPolicy>>;

  constructor(name: string, props: MonitoringProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:Monitoring', name, {}, opts);
    const { project, stage } = props;
    const child = { parent: this };
    for (const service of ['cloudkms.googleapis.com', 'storage.googleapis.com'])
      new gcp.projects.IAMAuditConfig(
        `${name}-audit-${service.split('.')[0] ?? service}`,
        {
          project,
          service,
          auditLogConfigs: [{ logType: 'ADMIN_READ' }, { logType: 'DATA_READ' }, { logType: 'DATA_WRITE' }],
        },
        child,
      );
    // The functions log to the project's _Default bucket; a stage has its own project, so this is the
    // stage's log retention (the counterpart of the Lambda log groups' retention).
    new gcp.logging.ProjectBucketConfig(
      `${name}-log-retention`,
      { project, location: 'global', bucketId: '_Default', retentionDays: props.logRetentionDays },
      child,
    );
    if (props.alarmEmail)
      this.channel = new gcp.monitoring.NotificationChannel(
        `${name}-email`,
        {
          project,
          displayName: `Trackstack ${stage} alarms`,
          type: 'email',
          labels: { email_address: props.alarmEmail },
        },
        child,
      );
    const channels = this.channel ? [this.channel.name] : [];
    const logMetric = (id: string, filter: string, valueField?: string) =>
      new gcp.logging.Metric(
        `${name}-${id}`,
        {
          project,
          name: `trackstack-${stage}-${id}`,
          filter,
          metricDescriptor: valueField
            ? { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit: '1' }
            : { metricKind: 'DELTA', valueType: 'INT64', unit: '1' },
          ...(valueField && {
            valueExtractor: `EXTRACT(${valueField})`,
            bucketOptions: { exponentialBuckets: { numFiniteBuckets: 16, growthFactor: 2, scale: 1 } },
          }),
        },
        child,
      );
    const alert = (
      id: string,
      displayName: string,
      conditions: gcp.monitoring.AlertPolicyArgs['conditions'],
    ) =>
      new gcp.monitoring.AlertPolicy(
        `${name}-${id}`,
        {
          project,
          displayName: `Trackstack ${stage}: ${displayName}`,
          combiner: 'OR',
          conditions,
          notificationChannels: channels,
          severity: 'CRITICAL',
        },
        child,
      );
    const above = (metric: gcp.logging.Metric, aligner: string, threshold = 0) => ({
      displayName: 'above threshold',
      conditionThreshold: {
        filter: pulumi.interpolate`metric.type="logging.googleapis.com/user/${metric.name}"`,
        comparison: 'COMPARISON_GT',
        thresholdValue: threshold,
        duration: '0s',
        aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: aligner }],
      },
    });

    const overdue = logMetric(
      'purge-overdue',
      `${PURGE_METRIC_FIELD}="${PURGE_METRICS.overdueAccounts}"`,
      'jsonPayload.value',
    );
    const errors = {
      displayName: 'function 5xx answers',
      conditionThreshold: {
        filter: `resource.type="cloud_run_revision" AND metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="5xx" AND resource.labels.service_name=starts_with("trackstack-${stage}-")`,
        comparison: 'COMPARISON_GT',
        thresholdValue: 5,
        duration: '300s',
        aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM' }],
      },
    };
    this.alerts = {
      functionErrors: alert('function-errors', 'function errors', [errors]),
      purgeOverdue: alert('purge-overdue', 'an expired account unpurged at day 80', [
        above(overdue, 'ALIGN_PERCENTILE_99'),
        {
          displayName: 'the purge stopped reporting',
          conditionAbsent: {
            filter: pulumi.interpolate`metric.type="logging.googleapis.com/user/${overdue.name}"`,
            // Two days without a run's figures: one daily run may fail and be retried the next day.
            duration: '172800s',
            aggregations: [{ alignmentPeriod: '3600s', perSeriesAligner: 'ALIGN_COUNT' }],
          },
        },
      ]),
      kmsKeyState: alert('kms-key-state', 'KMS key state changed', [
        above(logMetric('kms-key-state', AUDIT_FILTERS['kms-key-state']), 'ALIGN_SUM'),
      ]),
      iamPolicyChange: alert('iam-policy-change', 'IAM policy changed', [
        above(logMetric('iam-policy-change', AUDIT_FILTERS['iam-policy-change']), 'ALIGN_SUM'),
      ]),
    };
    this.registerOutputs({});
  }
}
