/**
 * Baseline (b): a bare express 5 app with one route returning the service's 43-byte GIF, written the way
 * an express app usually is (`res.send`, default settings). The benchmark measures the pixel path against it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { PIXEL_GIF } from '../../services/ingest/src/http/respond';
import { announceReady, stopWhenParentLets } from './child-protocol';

const app = express();
app.get('/p.gif', (_req, res) => {
  res.set('cache-control', 'no-store, max-age=0').type('gif').send(PIXEL_GIF);
});

const server = createServer(app);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as AddressInfo).port));
stopWhenParentLets(() => {
  server.closeAllConnections();
  server.close();
});
