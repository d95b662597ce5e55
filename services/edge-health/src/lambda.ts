/**
 * AWS Lambda entry of the edge health check, invoked every minute by an EventBridge schedule in the edge
 * stack. Each invocation probes every location through the CDN and updates the KeyValueStore's `down` key
 * when a location failed (or recovered) in every probe of the run; see `check-health.ts` for the rules.
 *
 * Event: anything (the scheduled event's fields are ignored). Resolves with the run's report.
 */
import { parseEdgeHealthEnv } from '../../../platform';
import type { HealthReport } from './check-health';
import { createEdgeHealthRuntime, type EdgeHealthRuntime } from './runtime';

let runtime: Promise<EdgeHealthRuntime> | undefined;

/** The scheduled handler. */
export async function handler(): Promise<HealthReport> {
  runtime ??= createEdgeHealthRuntime(parseEdgeHealthEnv(process.env));
  let rt: EdgeHealthRuntime;
  try {
    rt = await runtime;
  } catch (err) {
    // Do not keep a failed start for the life of the execution environment.
    runtime = undefined;
    throw err;
  }
  return rt.run();
}

/** Forgets the cached runtime (tests that change the environment between invocations). */
export function resetEdgeHealthHandler(): void {
  runtime = undefined;
}
