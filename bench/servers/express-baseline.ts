/**
 * Baseline (b): a bare express 5 app with the three loaded routes, written the way an express app usually
 * is (`res.send`, `express.text`/`express.json`, default settings), answering what the service answers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { PIXEL_GIF } from '../../services/ingest/src/http/respond';
import { baselineJson } from '../lib/bench-routes';
import { announceReady, stopWhenParentLets } from './child-protocol';

let seq = 0;
const app = express();
app.get('/p.gif', (_req, res) => {
  res.set('cache-control', 'no-store, max-age=0').type('gif').send(PIXEL_GIF);
});
app.post('/collect', express.text({ type: 'text/plain' }), (_req, res) => {
  res.status(202).set('cache-control', 'no-store').type('json').send(baselineJson('beacon', ++seq));
});
app.post('/postback', express.json(), (_req, res) => {
  res.status(202).set('cache-control', 'no-store').type('json').send(baselineJson('postback', ++seq));
});

const server = createServer(app);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as AddressInfo).port));
stopWhenParentLets(() => {
  server.closeAllConnections();
  server.close();
});
