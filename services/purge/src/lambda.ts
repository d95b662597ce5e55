/**
 * AWS Lambda entry of the purge job, invoked daily by an EventBridge schedule in each regional stack.
 *
 * Each invocation runs within the smaller of `TS_TIME_BUDGET_SECONDS` and the invocation's remaining time
 * less a 30 s reserve, then prints the run's metrics as one EMF line (the 80-day alarm watches it). When
 * an account failed, the handler throws after publishing them: the asynchronous invocation is retried
 * and, failing again, lands in the dead-letter queue, so a stuck purge is seen.
 *
 * Event: anything (the scheduled event's fields are ignored); `{ "dryRun": true }` runs a dry run.
 */
import { METRIC_DIMENSIONS, metricsNamespace } from '../../../platform';
import { purgeMetricsEmf } from './core/metrics';
import type { PurgeRunReport } from './core/run-report';
import { parsePurgeEnv } from '../../../platform/contracts/purge-env';
import { createPurgeRuntime, purgeLogger, type PurgeRuntime } from './runtime';

/** Time kept in reserve at the end of an invocation for the last batch, the metrics and the logs. */
export const LAMBDA_RESERVE_MS = 30_000;

/** What the handler resolves with: the run's figures, no personal data. */
export interface PurgeHandlerResult {
  readonly runId: string;
  readonly mode: PurgeRunReport['mode'];
  readonly purged: readonly string[];
  readonly paused: readonly string[];
  readonly busy: readonly string[];
  readonly notStarted: readonly string[];
  /** Purged accounts swept once more this run. */
  readonly swept: readonly string[];
  readonly metrics: PurgeRunReport['metrics'];
}

/** Raised after a run in which some account failed (the run's metrics are already published). */
export class PurgeRunFailed extends Error {
  constructor(report: PurgeRunReport) {
    const failed = [...report.outcomes, ...report.sweeps].filter((o) => o.result === 'failed');
    super(
      `purge run ${report.runId}: ${failed.length} account(s) failed: ${failed
        .map((o) => `${o.accountId} at ${o.step ?? 'claim'}: ${o.message ?? ''}`)
        .join('; ')}`,
    );
    this.name = 'PurgeRunFailed';
  }
}

let runtime: Promise<PurgeRuntime> | undefined;

/** The Lambda handler. */
export const handler = async (
  event: unknown,
  context?: { getRemainingTimeInMillis?: () => number },
): Promise<PurgeHandlerResult> => {
  const env = parsePurgeEnv(process.env);
  runtime ??= createPurgeRuntime(env, {
    logger: purgeLogger(env.TS_LOG_LEVEL, { stage: env.TS_STAGE, location: env.TS_LOCATION }),
  });
  let rt: PurgeRuntime;
  try {
    rt = await runtime;
  } catch (err) {
    // Do not keep a failed start for the life of the execution environment.
    runtime = undefined;
    throw err;
  }
  const remaining = context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
  const timeBudgetMs = Math.max(
    0,
    Math.min(env.TS_TIME_BUDGET_SECONDS * 1000, remaining - LAMBDA_RESERVE_MS),
  );
  const dryRun =
    typeof event === 'object' && event !== null && (event as { dryRun?: unknown }).dryRun === true;
  const report = await rt.job.run({ dryRun, timeBudgetMs });
  // Written directly, not through console.log: with Lambda's JSON log format, console output is wrapped
  // in a JSON envelope that CloudWatch would not read as EMF.
  process.stdout.write(
    `${purgeMetricsEmf(report.metrics, metricsNamespace(env.TS_STAGE), {
      [METRIC_DIMENSIONS.location]: env.TS_LOCATION,
    })}\n`,
  );
  if (report.metrics.failedAccounts > 0) throw new PurgeRunFailed(report);
  return summarizeRun(report);
};

/** The run's figures and account ids, as the Lambda and Cloud Functions entries answer them. */
export function summarizeRun(report: PurgeRunReport): PurgeHandlerResult {
  const ids = (result: string) => report.outcomes.filter((o) => o.result === result).map((o) => o.accountId);
  return {
    runId: report.runId,
    mode: report.mode,
    purged: ids('purged'),
    paused: ids('paused'),
    busy: ids('busy'),
    notStarted: report.notStarted,
    swept: report.sweeps.filter((o) => o.result === 'swept').map((o) => o.accountId),
    metrics: report.metrics,
  };
}

/** Forgets the cached runtime (tests that change the environment between invocations). */
export function resetPurgeHandler(): void {
  runtime = undefined;
}
