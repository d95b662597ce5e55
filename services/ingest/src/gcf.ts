/**
 * Cloud Functions (2nd gen) entry of the ingest service: an HTTP function for the Functions Framework,
 * registered as `handler`. The runtime is built once per instance, at the first request, and every request
 * goes through the runtime's `listener`, the lean pixel path in front of the express app, so GCP serves
 * hits exactly as the node server does.
 *
 * Two things of the Functions Framework are undone here:
 * - It parses every body before the function runs (its own body-parser, keeping the bytes as
 *   `req.rawBody`), which leaves the request stream drained: the app would then see no body, and its
 *   content-hash check and size limit would never run. A request whose body was read is handed to the app as
 *   a fresh request that replays `rawBody`, so the app parses the very bytes the client sent.
 * - On SIGTERM (sent by Cloud Run before it stops an instance) it exits at once. The events acknowledged
 *   but not yet published would die with the instance, whose `/tmp` spool is memory, so the sink is
 *   flushed first and the framework's own handling runs after.
 */
import { http } from '@google-cloud/functions-framework';
import { IncomingMessage, type ServerResponse } from 'node:http';
import { parseIngestEnv, type IngestEnv } from '../../../platform/contracts/ingest-env';
import { createRuntime, type GcpAdapters, type Runtime } from './runtime';

/** Where the disk spool lives unless `TS_SPOOL_DIR` says otherwise: `/tmp` is the only writable folder. */
export const GCF_SPOOL_DIR = '/tmp/spool';
/** Cloud Run allows 10 s between SIGTERM and SIGKILL; the flush gets most of it. */
const FLUSH_BUDGET_MS = 8_000;

/** Loads the GCP adapters; named here, so only the bundles of the GCP entries carry the Google clients. */
export const loadGcpAdapters = (): Promise<GcpAdapters> =>
  import('./gcp-adapters').then((m) => m.gcpAdapters);

/** The request as the Functions Framework hands it over: parsed, with the bytes it read. */
type FrameworkRequest = IncomingMessage & { rawBody?: Buffer; originalUrl?: string };

/** The environment of this instance, with the Cloud Functions spool default. */
export function gcfEnv(raw: NodeJS.ProcessEnv = process.env): IngestEnv {
  const env = parseIngestEnv(raw);
  return { ...env, TS_SPOOL_DIR: env.TS_SPOOL_DIR ?? GCF_SPOOL_DIR };
}

/**
 * The request the app should read: the framework's own when it read no body, otherwise a copy whose stream
 * replays the bytes the framework read, with the same method, target, headers and socket (the client
 * address and TLS state stay those of the connection).
 */
export function replayableRequest(req: FrameworkRequest): IncomingMessage {
  if (!req.readableEnded && req.rawBody === undefined) return req;
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method;
  copy.url = req.originalUrl ?? req.url;
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.headers = req.headers;
  copy.rawHeaders = req.rawHeaders;
  // Marked complete: a fully read copy must not count as aborted, which would destroy the shared socket.
  copy.complete = true;
  if (req.rawBody && req.rawBody.length > 0) copy.push(req.rawBody);
  copy.push(null);
  return copy;
}

let signalsTaken = false;

/**
 * Puts the sink flush in front of the framework's SIGTERM/SIGINT handling. Called at the first request:
 * the framework registers its handlers when its server starts listening, which is before any request,
 * and they exit synchronously, so they must be taken off and run after the flush.
 */
function flushBeforeExit(rt: Runtime): void {
  if (signalsTaken) return;
  signalsTaken = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const previous = process.listeners(signal);
    for (const listener of previous) process.removeListener(signal, listener);
    process.once(signal, () => {
      rt.logger.info({ signal }, 'flushing before exit');
      let timer: NodeJS.Timeout | undefined;
      void Promise.race([
        rt.close(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, FLUSH_BUDGET_MS);
        }),
      ])
        .catch((err: unknown) => rt.logger.error({ err }, 'flush before exit failed'))
        .finally(() => {
          clearTimeout(timer);
          if (previous.length === 0) process.exit(0);
          for (const listener of previous) (listener as (s: NodeJS.Signals) => void)(signal);
        });
    });
  }
}

/** Options of {@link gcfHandler}. */
export interface GcfHandlerOptions {
  /**
   * Builds the runtime at the first request.
   * @default `createRuntime(gcfEnv(), { gcp: loadGcpAdapters })`, from this instance's environment
   */
  readonly createRuntime?: () => Promise<Runtime>;
  /**
   * Flush the sink on SIGTERM/SIGINT before the framework's own handling (which exits at once). Off for a
   * handler that does not own the process, such as one a test mounts beside others.
   * @default true
   */
  readonly flushOnSignals?: boolean;
}

/** An HTTP function serving every route of the ingest service, with its runtime built once. */
export function gcfHandler(
  options: GcfHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const build = options.createRuntime ?? (() => createRuntime(gcfEnv(), { gcp: loadGcpAdapters }));
  let runtime: Promise<Runtime> | undefined;
  return (req, res) => {
    runtime ??= build();
    runtime.then(
      (rt) => {
        if (options.flushOnSignals ?? true) flushBeforeExit(rt);
        rt.listener(replayableRequest(req as FrameworkRequest), res);
      },
      (err: unknown) => {
        // A runtime that cannot be built (bad environment, unreachable secret) answers 503 and is built
        // again at the next request instead of being cached as failed.
        runtime = undefined;
        console.error('ingest runtime failed to start', err);
        if (!res.headersSent) {
          res.statusCode = 503;
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({ error: 'unavailable', message: 'the service is starting or misconfigured' }),
          );
        }
      },
    );
  };
}

/** The HTTP function Cloud Functions runs (`--target=handler`): every route of the ingest service. */
export const handler = gcfHandler();

http('handler', handler);
