/**
 * The only module that listens. Starts the ingest service as a plain node HTTP server (the lean pixel path
 * in front of the express app) and drains it on SIGTERM/SIGINT: no new connections, every request in flight
 * answered, every acknowledged event flushed to the sink or spool, then exit.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IngestEnv } from '../../../platform/contracts/ingest-env';
import { SlotSet } from '../../shared/slot-set';
import { createRuntime, type Runtime } from './runtime';

/** A running server. */
export interface RunningServer {
  readonly server: Server;
  readonly runtime: Runtime;
  /** `http://host:port` */
  readonly url: string;
  /** Stops accepting, finishes in-flight requests, flushes the sink. Idempotent. */
  shutdown(): Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  readonly env: IngestEnv;
  /** @default 8080 */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** Runtime to serve; built from `env` when omitted. */
  readonly runtime?: Runtime;
}

/** Starts the server and resolves once it listens. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const runtime =
    options.runtime ??
    (await createRuntime(options.env, {
      // A container may run on GCP too; the Lambda bundle never includes this file, so never these clients.
      gcp: () => import('./gcp-adapters').then((m) => m.gcpAdapters),
    }));
  // Not a `Set`: see SlotSet for what a churning hash table costs the garbage collector.
  const inFlight = new SlotSet<ServerResponse>();
  let draining = false;
  const listener = runtime.listener;
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const slot = inFlight.add(res);
    res.once('close', () => inFlight.delete(slot));
    if (draining) res.setHeader('connection', 'close');
    listener(req, res);
  });
  // Slow or idle clients must not hold the process open or exhaust sockets.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let done: Promise<void> | undefined;
  const shutdown = () =>
    (done ??= (async () => {
      draining = true;
      // Responses still being worked on close their connection when done, so keep-alive clients do not
      // send another request on a socket that is about to be closed under them.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + 25_000;
      while (inFlight.size > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        server.closeIdleConnections();
      }
      await runtime.close();
      server.closeAllConnections();
      await closed;
    })());
  return { server, runtime, url: `http://${host}:${address.port}`, shutdown };
}

/** Shuts down on SIGTERM and SIGINT, then exits. */
export function exitOnSignals(running: RunningServer): void {
  const onSignal = (signal: NodeJS.Signals) => {
    running.runtime.logger.info({ signal }, 'draining before exit');
    running
      .shutdown()
      .then(() => {
        running.runtime.logger.info('drained; exiting');
        process.exit(0);
      })
      .catch((err: unknown) => {
        running.runtime.logger.fatal({ err }, 'drain failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
