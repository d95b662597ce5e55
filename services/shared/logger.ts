/**
 * Structured JSON logging (pino) for every service: one line of JSON per entry on stdout, which CloudWatch
 * Logs and Cloud Logging keep searchable, with personal fields redacted by path and API-key secrets
 * scrubbed from every finished line.
 */
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

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The service, the `service` field of every line, e.g. `ingest`. */
  readonly service: string;
  /**
   * pino level; `silent` in tests.
   * @default 'info'
   */
  readonly level?: pino.LevelWithSilent;
  /**
   * Fields on every line, e.g. stage and location.
   * @default none
   */
  readonly base?: Readonly<Record<string, unknown>>;
  /**
   * Where lines go (tests capture them).
   * @default stdout
   */
  readonly destination?: DestinationStream;
}

/** Creates a service's logger. */
export function createLogger(options: LoggerOptions): Logger {
  const { level = 'info', base = {}, destination } = options;
  const pinoOptions: pino.LoggerOptions = {
    level,
    base: { service: options.service, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Personal fields must never reach logs, even by accident.
    redact: {
      paths: ['ip', 'userAgent', 'clickId', '*.ip', '*.userAgent', '*.clickId', 'apiKey', '*.apiKey'],
      censor: '[redacted]',
    },
    // Keys can hide in any string (an error message quoting a URL), so the finished line is scrubbed too.
    hooks: { streamWrite: redactApiKeys },
  };
  return destination ? pino(pinoOptions, destination) : pino(pinoOptions);
}
