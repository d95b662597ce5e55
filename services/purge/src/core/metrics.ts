/**
 * The metrics every purge run publishes, as CloudWatch Embedded Metric Format (EMF) documents: printed on
 * stdout in Lambda, CloudWatch turns them into metrics with no API call and no extra SDK client. The
 * alarm watches `PurgeOverdueAccounts` (> 0: some account passed `expiredAt + 80 days` unpurged);
 * `PurgeOldestUnpurgedExpiredDays` shows how close the oldest one is. The names are the platform's.
 */
import { PURGE_METRICS } from '../../../../platform';
import { emfDocument } from '../../../shared/emf';
import type { PurgeMetrics } from './run-report';

// Every figure of a run has a published name.
const NAMES: Readonly<Record<keyof PurgeMetrics, string>> = PURGE_METRICS;

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
 * @param namespace `metricsNamespace(stage)`
 * @param dimensions e.g. `{ Location: 'europe' }`
 */
export function purgeMetricsEmf(
  metrics: PurgeMetrics,
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  timestampMs = Date.now(),
): string {
  const keys = Object.keys(NAMES) as (keyof PurgeMetrics)[];
  return emfDocument(
    namespace,
    dimensions,
    keys.map((k) => {
      const v = metrics[k];
      return { name: NAMES[k], unit: UNITS[k], value: typeof v === 'boolean' ? (v ? 1 : 0) : v };
    }),
    timestampMs,
  );
}
