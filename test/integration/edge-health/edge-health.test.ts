/**
 * The edge health check end to end on one machine: a real node HTTP server stands in for the CDN (its
 * `/_health/<location>` answers are switched between up, down and slow), the Lambda handler runs from
 * the environment with the local edge store (`<TS_DATA_DIR>/edge-store.json`), and the routing function's
 * input (the store's `down` key) is read back from the file.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDGE_STORE, LOCATIONS, type Location } from '../../../platform';
import { handler, resetEdgeHealthHandler } from '../../../services/edge-health/src/lambda';
import { EDGE_STORE_FILE } from '../../../services/shared/edge-store/file-edge-store';

type Mode = 'up' | 'down' | 'slow';
/** How each location answers; a list is answered one entry per probe, its last entry repeating. */
const modes: Record<Location, Mode | Mode[]> = { americas: 'up', europe: 'up', apac: 'up' };
const hits: string[] = [];
let server: Server;
let dataDir: string;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const location = LOCATIONS.find((l) => req.url === `/_health/${l}`);
    const current = location ? modes[location] : 'down';
    const mode = Array.isArray(current) ? (current.length > 1 ? current.shift()! : current[0]!) : current;
    if (mode === 'slow') {
      // Answers after the probe's timeout has passed.
      setTimeout(() => res.writeHead(200).end('{"ok":true}'), 600).unref();
      return;
    }
    res
      .writeHead(mode === 'up' ? 200 : 503, { 'content-type': 'application/json' })
      .end(`{"ok":${mode === 'up'}}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  dataDir = await mkdtemp(join(tmpdir(), 'edge-health-'));
  const { port } = server.address() as AddressInfo;
  Object.assign(process.env, {
    TS_STAGE: 'local',
    TS_EDGE_URL: `http://127.0.0.1:${port}/`,
    TS_EDGE_STORE: 'file',
    TS_DATA_DIR: dataDir,
    TS_LOCATIONS: 'americas,europe,apac',
    TS_PROBES: '3',
    TS_PROBE_INTERVAL_MS: '20',
    TS_PROBE_TIMEOUT_MS: '300',
    TS_LOG_LEVEL: 'silent',
  });
  resetEdgeHealthHandler();
});

afterAll(async () => {
  process.env = saved;
  resetEdgeHealthHandler();
  await new Promise<void>((r) => server.close(() => r()));
  server.closeAllConnections();
  await rm(dataDir, { recursive: true, force: true });
});

async function storeFile(): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(join(dataDir, EDGE_STORE_FILE), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

describe('edge health check (local store, real HTTP)', () => {
  it('keeps the store empty while every location answers', async () => {
    const report = await handler();
    expect(report.down).toEqual([]);
    expect(report.changed).toBe(false);
    expect(hits.filter((h) => h === '/_health/apac')).toHaveLength(3);
    expect(await storeFile()).toEqual({});
  });

  it('marks a location that answers 503 down, and one that answers too late down too', async () => {
    modes.europe = 'down';
    modes.apac = 'slow';
    const report = await handler();
    expect(report.down).toEqual(['europe', 'apac']);
    expect((await storeFile())[EDGE_STORE.downKey]).toBe('europe,apac');
    const apac = report.locations.find((l) => l.location === 'apac')!;
    expect(apac.results.every((r) => r.error === 'no answer within 300 ms')).toBe(true);
  });

  it('keeps a location down while it recovers only partly, and brings it back after a clean run', async () => {
    modes.apac = 'up';
    // europe stays down; apac answers again: one clean run brings apac back.
    let report = await handler();
    expect(report.down).toEqual(['europe']);
    expect((await storeFile())[EDGE_STORE.downKey]).toBe('europe');

    // europe flaps: one probe of three fails, so it stays down (hysteresis).
    modes.europe = ['up', 'down', 'up'];
    report = await handler();
    expect(report.locations.find((l) => l.location === 'europe')).toMatchObject({
      ok: 2,
      before: 'down',
      after: 'down',
    });
    expect(report.changed).toBe(false);

    report = await handler();
    expect(report.down).toEqual([]);
    expect(await storeFile()).toEqual({});
  });

  it('refuses a bad environment with a message naming the variable', async () => {
    resetEdgeHealthHandler();
    const url = process.env.TS_EDGE_URL;
    process.env.TS_EDGE_STORE = 'kvs';
    try {
      await expect(handler()).rejects.toThrow(/TS_KVS_ARN: is required when TS_EDGE_STORE=kvs/);
    } finally {
      process.env.TS_EDGE_STORE = 'file';
      process.env.TS_EDGE_URL = url;
      resetEdgeHealthHandler();
    }
  });
});
