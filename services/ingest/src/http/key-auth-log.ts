/**
 * The log line of each API-key authentication on `/postback` (`KEY_AUTH_LOG` in the platform's incident
 * contract): one pino line at `info` per attempt, which the per-key detection rules (CloudWatch Contributor
 * Insights) group by key id, client IP and country. It names the key by its public id only: the presented
 * key never reaches the logger (and the logger scrubs `tsk_…` secrets from every line besides).
 */
import { KEY_AUTH_FAILURES, KEY_AUTH_LOG } from '../../../../platform/contracts/incidents';

export { KEY_AUTH_FAILURES };
import type { Logger } from '../../../shared/logger';

/** One reason of {@link KEY_AUTH_FAILURES}. */
export type KeyAuthFailure = (typeof KEY_AUTH_FAILURES)[number];

/** What one attempt's line says. */
export interface KeyAuthAttempt {
  /** The public id of the presented key; `undefined` when no id could be parsed (missing, malformed). */
  readonly keyId: string | undefined;
  /** `undefined` for a success. */
  readonly failure: KeyAuthFailure | undefined;
  readonly clientIp: string | undefined;
  readonly country: string | undefined;
  readonly requestId: string;
}

/**
 * Writes the line. Absent values are left out of the JSON (pino drops `undefined`), so a malformed key's
 * line has no `keyId` at all rather than a marker a per-key rule would count as one busy key.
 */
export function logKeyAuth(logger: Logger, attempt: KeyAuthAttempt): void {
  logger.info(
    {
      [KEY_AUTH_LOG.keyId]: attempt.keyId,
      [KEY_AUTH_LOG.outcome]:
        attempt.failure === undefined ? KEY_AUTH_LOG.outcomes.ok : KEY_AUTH_LOG.outcomes.failed,
      // The contract names no field for these two yet; `requestId` is the name every other line uses.
      reason: attempt.failure,
      [KEY_AUTH_LOG.clientIp]: attempt.clientIp,
      [KEY_AUTH_LOG.country]: attempt.country,
      requestId: attempt.requestId,
    },
    KEY_AUTH_LOG.message,
  );
}
