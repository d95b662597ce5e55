/**
 * A plain Node HTTP listener around the {@link PushHandler}, for a writer outside the Functions Framework:
 * local runs and the integration tests, where the Pub/Sub emulator pushes to it. It does what the Functions
 * Framework does before the handler: reads the body (bounded) and parses it as JSON.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PushHandler, PushReply } from './core/push-handler';

/** Largest push body read: a 10 MB Pub/Sub message, base64-encoded, and its envelope. */
export const MAX_PUSH_BODY_BYTES = 14 * 1024 * 1024;

/** Sends a {@link PushReply} on a Node (or express) response. */
export function sendReply(res: ServerResponse, reply: PushReply): void {
  if (reply.body) {
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(text);
  } else {
    res.writeHead(reply.status).end();
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PUSH_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A request listener answering Pub/Sub pushes with `handler`. */
export function pushListener(handler: PushHandler): RequestListener {
  return (req, res) => {
    void (async () => {
      const raw = await readBody(req);
      if (!raw) {
        sendReply(res, { status: 400, body: { error: '(body) is too large', field: '(body)' } });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        sendReply(res, { status: 400, body: { error: '(body) must be JSON', field: '(body)' } });
        return;
      }
      sendReply(res, await handler.handle(req.method, body));
    })().catch(() => {
      if (!res.headersSent) sendReply(res, { status: 500, body: { error: 'internal error' } });
      else res.destroy();
    });
  };
}

/** A listening push endpoint. */
export interface PushServer {
  /** `http://<host>:<port>/`, the push endpoint to give a subscription. */
  readonly url: string;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}

/**
 * Serves `handler` over HTTP (a local writer, or a test's push endpoint for the Pub/Sub emulator).
 * @param port 0 for a free one
 * @param host the loopback address by default: nothing here authenticates the caller
 */
export async function listenForPushes(
  handler: PushHandler,
  port = 0,
  host = '127.0.0.1',
): Promise<PushServer> {
  const server = createServer(pushListener(handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
