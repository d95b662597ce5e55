/**
 * Lambda entry of the edge health check (scheduled every minute). Placeholder until the check lands: it
 * validates its environment and does nothing else.
 */
import { parseEdgeHealthEnv } from '../../../platform';

/** The scheduled handler. */
export async function handler(): Promise<void> {
  parseEdgeHealthEnv(process.env);
}
