/**
 * The key behind a per-key anomaly alarm: the top contributor of its Contributor Insights rule
 * (GetInsightRuleReport) over the minutes before the alarm fired. The rules key their contributions by
 * the ingest's `KEY_AUTH_LOG.keyId` first, so the contributor's first key is the API key id.
 */
import { GetInsightRuleReportCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ID_PATTERNS } from '../../../../platform';

/** How far back from the alarm the report looks: a few of the rules' one-minute periods. */
export const REPORT_WINDOW_MS = 10 * 60_000;

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
        MaxContributorCount: 1,
        OrderBy: 'Sum',
      }),
    );
  } catch (err) {
    throw new Error(`cannot read the Contributor Insights rule ${ruleName}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const keyId = out.Contributors?.[0]?.Keys?.[0];
  return keyId && ID_PATTERNS.apiKeyId.test(keyId) ? keyId : undefined;
}
