/**
 * Lambda entry of automatic containment. Placeholder until the incident core lands: it validates its
 * environment and does nothing else.
 */
import { parseIncidentEnv } from '../../../platform';

/** The alarm-triggered handler. */
export async function handler(): Promise<void> {
  parseIncidentEnv(process.env);
}
