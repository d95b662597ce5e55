import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { quantile, runInterleavedRounds } from '../../../bench/lib/autocannon-rounds';

describe('runInterleavedRounds', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === '/ok' ? 200 : 404);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('counts every answer by status, and measures the CPU per request of a target with a pid only', async () => {
    const { runs, totals } = await runInterleavedRounds({
      targets: [
        {
          key: 'ok',
          url,
          request: { method: 'GET', path: '/ok', headers: {} },
          ackStatus: 200,
          pid: process.pid,
        },
        { key: 'missing', url, request: { method: 'GET', path: '/missing', headers: {} }, ackStatus: 200 },
      ],
      rounds: 1,
      roundSeconds: 1,
      warmupSeconds: 1,
      connections: 4,
      serverPids: [],
    });
    const [ok] = runs.get('ok')!;
    const [missing] = runs.get('missing')!;
    expect(ok!.acknowledged).toBe(ok!.responses);
    expect(missing!.acknowledged).toBe(0);
    expect(missing!.otherStatus).toBe(missing!.responses);
    // This process is both client and server here: its CPU per answered request is positive and finite.
    expect(ok!.serverCpuUs).toBeGreaterThan(0);
    expect(Number.isFinite(ok!.serverCpuUs)).toBe(true);
    expect(missing!.serverCpuUs).toBeUndefined();
    expect(totals.get('ok')!.acknowledged).toBeGreaterThanOrEqual(ok!.acknowledged);
  }, 30_000);

  it('quantile is the nearest rank, NaN when empty', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
