/**
 * The metrics every purge run publishes, as CloudWatch Embedded Metric Format (EMF) documents: printed on
 * stdout in Lambda, CloudWatch turns them into metrics with no API call and no extra SDK client. The
 * alarm of DESIGN §7 watches `PurgeOverdueAccounts` (> 0: some account passed `expiredAt + 80 days`
 * unpurged); `PurgeOldestUnpurgedExpiredDays` shows how close the oldest one is.
 */
import type { PurgeMetrics } from './purge-job';

/** Names of the metrics, for the alarm construct. */
export const PURGE_METRIC_NAMES = {
  overdueAccounts: 'PurgeOverdueAccounts',
  oldestUnpurgedExpiredDays: 'PurgeOldestUnpurgedExpiredDays',
  eligibleUnpurgedAccounts: 'PurgeEligibleUnpurgedAccounts',
  accountsPurged: 'PurgeAccountsPurged',
  objectVersionsDeleted: 'PurgeObjectVersionsDeleted',
  deleteMarkersDeleted: 'PurgeDeleteMarkersDeleted',
  failedAccounts: 'PurgeFailedAccounts',
  incomplete: 'PurgeRunIncomplete',
} as const satisfies Record<keyof PurgeMetrics, string>;

const UNITS: Record<keyof PurgeMetrics, string> = {
  overdueAccounts: 'Count',
  oldestUnpurgedExpiredDays: 'None',
  eligibleUnpurgedAccounts: 'Count',
  accountsPurged: 'Count',
  objectVersionsDeleted: 'Count',
  deleteMarkersDeleted: 'Count',
  failedAccounts: 'Count',
  incomplete: 'Count',
};

/**
 * Renders a run's metrics as one EMF document (one line of JSON).
 * @param namespace e.g. `trackstack/prod` (`${PRODUCT}/${stage}`)
 * @param dimensions e.g. `{ Location: 'europe' }`
 */
export function purgeMetricsEmf(
  metrics: PurgeMetrics,
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  timestampMs = Date.now(),
): string {
  const keys = Object.keys(PURGE_METRIC_NAMES) as (keyof PurgeMetrics)[];
  const values: Record<string, number> = {};
  for (const k of keys) {
    const v = metrics[k];
    values[PURGE_METRIC_NAMES[k]] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }
  return JSON.stringify({
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: keys.map((k) => ({ Name: PURGE_METRIC_NAMES[k], Unit: UNITS[k] })),
        },
      ],
    },
    ...dimensions,
    ...values,
  });
}
