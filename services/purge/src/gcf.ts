/**
 * Cloud Functions (2nd gen) entry of the purge job: a private HTTP function Cloud Scheduler calls daily
 * with an OIDC token (the platform checks the token before the request reaches this code). Each request
 * is one bounded run within `TS_TIME_BUDGET_SECONDS` (the function's timeout, up to 3,600 s, must exceed
 * it by the last batch's time), answered 200 with the run's summary when it completed or stopped at the
 * budget, 500 when an account failed or the job could not start: Cloud Scheduler then retries, and the run
 * is idempotent and resumable.
 *
 * Every run writes one JSON log line per purge figure, `{"metric":"PurgeOverdueAccounts","value":0,…}`,
 * which Cloud Logging reads as a structured entry: the log-based metric counts the entries whose
 * `jsonPayload.metric` is `PurgeOverdueAccounts` and extracts `jsonPayload.value`, the same figure the
 * Lambda publishes as EMF (the 80-day alarm fires above 0).
 *
 * Body: `{ "dryRun": true }` makes a dry run; anything else (Cloud Scheduler's body) is ignored.
 */
import * as functions from '@google-cloud/functions-framework';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { GCP_LOG_METRIC_FIELD, PURGE_METRICS } from '../../../platform';
import { parsePurgeEnv, type PurgeEnv } from '../../../platform/contracts/purge-env';
import type { PurgeMetrics } from './core/run-report';
import { PurgeRunFailed, summarizeRun } from './lambda';
import { createPurgeRuntime, purgeLogger, type PurgeRuntime } from './runtime';

/** The field naming the metric in each metric log line (the platform's, re-exported for tests). */
export const GCP_METRIC_FIELD = GCP_LOG_METRIC_FIELD;

/**
 * The structured log lines of a run's figures, one per figure: `severity` (`WARNING` for an overdue
 * count above 0, so it stands out in the log explorer too), `metric`, `value`, `stage`, `location`,
 * `runId`, and a `message`.
 */
export function purgeMetricLogLines(
  metrics: PurgeMetrics,
  fields: { readonly stage: string; readonly location: string; readonly runId: string },
): string[] {
  return (Object.keys(PURGE_METRICS) as (keyof PurgeMetrics)[]).map((k) => {
    const value = Number(metrics[k]);
    const name = PURGE_METRICS[k];
    const alarming = k === 'overdueAccounts' && value > 0;
    return JSON.stringify({
      severity: alarming ? 'WARNING' : 'INFO',
      message: `purge metric ${name}=${value}`,
      [GCP_METRIC_FIELD]: name,
      value,
      ...fields,
    });
  });
}

let runtime: Promise<PurgeRuntime> | undefined;

function start(env: PurgeEnv): Promise<PurgeRuntime> {
  runtime ??= createPurgeRuntime(env, {
    logger: purgeLogger(env.TS_LOG_LEVEL, { stage: env.TS_STAGE, location: env.TS_LOCATION }),
  });
  return runtime;
}

/** The HTTP function: one bounded run per request. */
export const handler: HttpFunction = async (req, res) => {
  let env: PurgeEnv;
  let rt: PurgeRuntime;
  try {
    env = parsePurgeEnv(process.env);
    rt = await start(env);
  } catch (err) {
    // Do not keep a failed start for the life of the instance; the scheduler's retry starts afresh.
    runtime = undefined;
    process.stdout.write(
      `${JSON.stringify({ severity: 'ERROR', message: `the purge job cannot start: ${(err as Error).message}` })}\n`,
    );
    res.status(500).json({ error: 'the purge job cannot start' });
    return;
  }
  const dryRun = (req.body as { dryRun?: unknown } | undefined)?.dryRun === true;
  try {
    const report = await rt.job.run({ dryRun, timeBudgetMs: env.TS_TIME_BUDGET_SECONDS * 1000 });
    // Written directly: one JSON object per line is what Cloud Logging parses into jsonPayload.
    for (const line of purgeMetricLogLines(report.metrics, {
      stage: env.TS_STAGE,
      location: env.TS_LOCATION,
      runId: report.runId,
    }))
      process.stdout.write(`${line}\n`);
    if (report.metrics.failedAccounts > 0) {
      const failure = new PurgeRunFailed(report);
      process.stdout.write(`${JSON.stringify({ severity: 'ERROR', message: failure.message })}\n`);
      res.status(500).json({ error: 'an account failed; the run is retried', ...summarizeRun(report) });
      return;
    }
    res.status(200).json(summarizeRun(report));
  } catch (err) {
    process.stdout.write(
      `${JSON.stringify({ severity: 'ERROR', message: `purge run failed: ${(err as Error).message}` })}\n`,
    );
    res.status(500).json({ error: 'the purge run failed; it is retried' });
  }
};

/** Forgets the cached runtime (tests that change the environment between requests). */
export async function resetPurgeGcfHandler(): Promise<void> {
  const rt = runtime;
  runtime = undefined;
  await (await rt?.catch(() => undefined))?.close();
}

functions.http('handler', handler);
