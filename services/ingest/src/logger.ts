/** Structured JSON logging (pino). Requests carry an id that is echoed in `x-request-id`. */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * An API key anywhere in a log line: a field, an error message, a URL an SDK echoed. The key id (public)
 * is kept so an operator can tell which key it was; the secret is not.
 */
const API_KEY_IN_TEXT = /\b(tsk_[a-z0-9]{16}_)[A-Za-z0-9]{40}\b/g;

/** Replaces the secret half of every API key in `text`. */
export function redactApiKeys(text: string): string {
  return text.replace(API_KEY_IN_TEXT, '$1[redacted]');
}

/**
 * Creates the service logger.
 * @param level pino level; `silent` in tests
 * @param destination where lines go (tests capture them)
 * @default destination: stdout
 */
export function createLogger(
  level: pino.LevelWithSilent = 'info',
  base: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'ingest', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Personal fields must never reach logs, even by accident.
    redact: {
      paths: ['ip', 'userAgent', 'clickId', '*.ip', '*.userAgent', '*.clickId', 'apiKey', '*.apiKey'],
      censor: '[redacted]',
    },
    // Keys can hide in any string (an error message quoting a URL), so the finished line is scrubbed too.
    hooks: { streamWrite: redactApiKeys },
  };
  return destination ? pino(options, destination) : pino(options);
}
