/**
 * The node server's drain: a request still being read when shutdown starts is answered (and its events
 * stored) with `Connection: close`, so a keep-alive client does not send its next request on a socket
 * about to close. Driven over a raw socket so the request can be held open across the shutdown.
 */
import { connect, type Socket } from 'node:net';
import { beaconBody, BEACON_EVENTS, sha256Hex } from '../../../bench/lib/bench-routes';
import { countStoredEvents } from '../../../bench/lib/stored-events';
import { CONTENT_SHA256_HEADER } from '../../../platform/contracts/edge';
import { DEMO_ACCOUNT_ID } from '../../../services/ingest/src/local/seed';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

let ingest: IngestHarness | undefined;
afterEach(async () => {
  await ingest?.close();
  ingest = undefined;
});

function readResponse(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) resolve(text);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

describe('node server drain', () => {
  it('answers a request in flight at shutdown with Connection: close, and stores its events', async () => {
    ingest = await startIngest();
    const { port } = new URL(ingest.url);
    const body = beaconBody();
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const response = readResponse(socket);
    // Headers and half the body: the request is in flight, its handler waiting for the rest.
    socket.write(
      `POST /collect?a=${DEMO_ACCOUNT_ID} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\n` +
        `user-agent: ${BROWSER_USER_AGENT}\r\norigin: https://shop.example\r\n` +
        `content-type: text/plain\r\n${CONTENT_SHA256_HEADER}: ${sha256Hex(body)}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n` +
        body.slice(0, 20),
    );
    await new Promise((r) => setTimeout(r, 100));
    const shutdown = ingest.server.shutdown();
    socket.write(body.slice(20));
    const text = await response;
    await shutdown;
    expect(text).toMatch(/^HTTP\/1\.1 202 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect((await countStoredEvents(ingest.dataDir)).total).toBe(BEACON_EVENTS);
    socket.destroy();
  });
});
