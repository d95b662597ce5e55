/**
 * The key behind a per-key anomaly alarm, from its Contributor Insights rule (GetInsightRuleReport) over the
 * minutes before the alarm fired. The rules key their contributions by the ingest's `KEY_AUTH_LOG.keyId`
 * first. A rule keyed by the key alone (requests per key) has the key as its top contributor; a rule keyed
 * by (key, client IP) or (key, country) alarms on distinct pairs, so the key is the one with the most pairs
 * among the report's contributors, not the busiest single pair.
 */
import {
  GetInsightRuleReportCommand,
  type CloudWatchClient,
  type InsightRuleContributor,
} from '@aws-sdk/client-cloudwatch';
import { ID_PATTERNS } from '../../../../platform';

/** How far back from the alarm the report looks: a few of the rules' one-minute periods. */
export const REPORT_WINDOW_MS = 10 * 60_000;

/** Contributors a report returns at most (CloudWatch's own maximum). */
export const REPORT_CONTRIBUTORS = 100;

/**
 * The key id of the rule's top contributor in the window ending at `at`, or `undefined` when the rule had
 * none (or its top contributor is not a key id).
 */
export async function topContributorKey(
  client: CloudWatchClient,
  ruleName: string,
  at: Date,
): Promise<string | undefined> {
  let out;
  try {
    out = await client.send(
      new GetInsightRuleReportCommand({
        RuleName: ruleName,
        StartTime: new Date(at.getTime() - REPORT_WINDOW_MS),
        // One period past the alarm, so the minute that tripped it is inside the window.
        EndTime: new Date(at.getTime() + 60_000),
        Period: 60,
        MaxContributorCount: REPORT_CONTRIBUTORS,
        OrderBy: 'Sum',
      }),
    );
  } catch (err) {
    throw new Error(`cannot read the Contributor Insights rule ${ruleName}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return keyOfReport(out.Contributors ?? []);
}

/**
 * The key a report points at: with single-key contributors the first (the report is ordered by sum); with
 * (key, …) pairs the key with the most distinct pairs, the larger total breaking a tie.
 */
export function keyOfReport(contributors: readonly InsightRuleContributor[]): string | undefined {
  const perKey = new Map<string, { pairs: number; sum: number }>();
  for (const c of contributors) {
    const keyId = c.Keys?.[0];
    if (!keyId || !ID_PATTERNS.apiKeyId.test(keyId)) continue;
    const seen = perKey.get(keyId) ?? { pairs: 0, sum: 0 };
    perKey.set(keyId, { pairs: seen.pairs + 1, sum: seen.sum + (c.ApproximateAggregateValue ?? 0) });
  }
  let best: string | undefined;
  let bestScore = { pairs: 0, sum: -1 };
  for (const [keyId, score] of perKey)
    if (score.pairs > bestScore.pairs || (score.pairs === bestScore.pairs && score.sum > bestScore.sum)) {
      best = keyId;
      bestScore = score;
    }
  return best;
}
