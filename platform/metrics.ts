/**
 * Metric names, namespace and dimensions: what the services publish (CloudWatch Embedded Metric Format on
 * AWS) and what the alarms of the infrastructure watch, written once so the two cannot drift.
 */
import { PRODUCT } from './definition';

/** The namespace of a stage's metrics, e.g. `trackstack/prod`. */
export function metricsNamespace(stage: string): string {
  return `${PRODUCT}/${stage}`;
}

/** Dimension names. Every metric carries `Location`; rejects and key-provider calls one more. */
export const METRIC_DIMENSIONS = {
  location: 'Location',
  reason: 'Reason',
  operation: 'Operation',
} as const;

/** Metrics of the ingest service. */
export const INGEST_METRICS = {
  /** Hits stored. */
  hits: 'Hits',
  /** Records waiting in the disk spool (the sink was unreachable). */
  spoolDepth: 'SpoolDepth',
  /** Spooled records dropped at drain time because their account was purged. */
  spoolDroppedRecords: 'SpoolDroppedRecords',
  /** Longest sink write of the period. */
  sinkLatencyMax: 'SinkLatencyMax',
  /** Hits not stored, by `Reason`. */
  rejects: 'Rejects',
  /** Key-provider (KMS) calls, by `Operation`. */
  keyProviderCalls: 'KeyProviderCalls',
  /** Firehose records accepted; each aggregates one or more events of one account and day. */
  firehoseRecords: 'FirehoseRecords',
  /** Events inside the accepted Firehose records (`FirehoseEvents / FirehoseRecords` is the aggregation factor). */
  firehoseEvents: 'FirehoseEvents',
  /** 5 KiB increments Firehose bills for the accepted records. */
  firehoseBilledIncrements: 'FirehoseBilledIncrements',
} as const;

/** Metrics every purge run publishes; the alarms watch `overdueAccounts` above all. */
export const PURGE_METRICS = {
  /** Expired accounts past `expiredAt + 80 days` unpurged (or unswept), plus records that cannot be judged. */
  overdueAccounts: 'PurgeOverdueAccounts',
  oldestUnpurgedExpiredDays: 'PurgeOldestUnpurgedExpiredDays',
  eligibleUnpurgedAccounts: 'PurgeEligibleUnpurgedAccounts',
  accountsPurged: 'PurgeAccountsPurged',
  objectVersionsDeleted: 'PurgeObjectVersionsDeleted',
  deleteMarkersDeleted: 'PurgeDeleteMarkersDeleted',
  failedAccounts: 'PurgeFailedAccounts',
  incomplete: 'PurgeRunIncomplete',
} as const;

/**
 * Metrics of the incident service's hourly check of the 72-hour clock, in `metricsNamespace(stage)`, without
 * dimensions.
 */
export const INCIDENT_METRICS = {
  /** Incidents affecting personal data whose customer was not notified within the 72 hours. */
  overdueNotifications: 'IncidentNotificationsOverdue',
  /** Incidents affecting personal data, not yet notified, whose deadline is within 12 hours. */
  notificationsDueSoon: 'IncidentNotificationsDueSoon',
} as const;

/**
 * On GCP, where there is no Embedded Metric Format, a service logs each metric as one JSON line with the
 * metric's name in this field (and its value in `value`); log-based metrics select the lines by it
 * (`jsonPayload.<field>="<name>"`).
 */
export const GCP_LOG_METRIC_FIELD = 'metric';
