/**
 * Baseline (a): a bare node `http` server answering the three loaded routes with what the service answers
 * (the 43-byte GIF with its caching headers; 202 and the same JSON for a beacon or a postback, once the body
 * is read) and doing nothing else: the ceiling any node endpoint of these routes can reach on this machine.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PIXEL_GIF } from '../../services/ingest/src/http/respond';
import { baselineJson, routeOf } from '../lib/bench-routes';
import { announceReady, stopWhenParentLets } from './child-protocol';

const pixelHeaders = {
  'content-type': 'image/gif',
  'content-length': String(PIXEL_GIF.length),
  'cache-control': 'no-store, max-age=0',
};

let seq = 0;

function answerJson(res: ServerResponse, payload: string): void {
  res.writeHead(202, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const route = routeOf(req.method, req.url);
  if (route === 'pixel') {
    res.writeHead(200, pixelHeaders);
    res.end(PIXEL_GIF);
    return;
  }
  if (route === 'beacon' || route === 'postback') {
    // The body is read and assembled whole before answering, as any endpoint that parses it must; parsing
    // it is the service's work, not the floor's.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      answerJson(res, body.length > 0 ? baselineJson(route, ++seq) : '{}');
    });
    return;
  }
  res.writeHead(404);
  res.end();
});

server.listen(0, '127.0.0.1', () => announceReady((server.address() as AddressInfo).port));
stopWhenParentLets(() => {
  server.closeAllConnections();
  server.close();
});
