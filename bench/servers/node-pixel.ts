/**
 * Baseline (a): a bare node `http` server answering `GET /p.gif` with the service's 43-byte GIF and the
 * same caching headers, and nothing else: the ceiling any node pixel endpoint can reach on this machine.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PIXEL_GIF } from '../../services/ingest/src/http/respond';
import { announceReady, stopWhenParentLets } from './child-protocol';

const headers = {
  'content-type': 'image/gif',
  'content-length': String(PIXEL_GIF.length),
  'cache-control': 'no-store, max-age=0',
};

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/p.gif')) {
    res.writeHead(200, headers);
    res.end(PIXEL_GIF);
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
