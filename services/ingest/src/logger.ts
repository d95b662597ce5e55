/** Structured JSON logging (pino). Requests carry an id that is echoed in `x-request-id`. */
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Creates the service logger.
 * @param level pino level; `silent` in tests
 */
export function createLogger(
  level: pino.LevelWithSilent = 'info',
  base: Record<string, unknown> = {},
): Logger {
  return pino({
    level,
    base: { service: 'ingest', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Personal fields must never reach logs, even by accident.
    redact: {
      paths: ['ip', 'userAgent', 'clickId', '*.ip', '*.userAgent', '*.clickId', 'apiKey', '*.apiKey'],
      censor: '[redacted]',
    },
  });
}
