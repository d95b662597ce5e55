/**
 * Fault test of the bar "SIGTERM: zero lost". The real service runs as a child process on
 * embedded defaults; 64 keep-alive clients fire valid hits (`/p.gif` and `/collect`), each event with a
 * unique name, and the child gets SIGTERM while requests are in flight. It must exit 0, and every event it
 * acknowledged (200 GIF, 202 with everything stored) must be in the file sink, or in the spool, which a
 * second run on the same data dir drains into the sink.
 *
 * Each client binds its own loopback address (127.0.0.N: all of 127/8 is loopback on Linux) and stays under
 * the per-IP burst, so the rate limiter never turns a hit into a GIF that was not stored.
 */
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIMITS } from '../../../platform';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../../../services/ingest/src/local/seed';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import {
  spawnIngest,
  spoolFiles,
  type ChildExit,
  type IngestProcess,
} from '../../support/fault-ingest-process';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

const CLIENTS = 64;
// Stay clear of the per-IP burst (ten seconds' worth of the rate): a throttled pixel still answers 200.
const MAX_REQUESTS_PER_CLIENT = LIMITS.ipRatePerSecond * 10 - 100;
/** Acknowledged events before the signal: enough that the load is flowing at full concurrency. */
const ACKS_BEFORE_SIGNAL = 1500;

interface Answer {
  readonly status?: number;
  readonly contentType?: string;
  readonly body?: string;
  readonly error?: string;
}

function send(
  agent: Agent,
  port: number,
  localAddress: string,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, localAddress, method, path, headers, agent, timeout: 40_000 },
      (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (d: string) => (text += d));
        // A response cut off mid-body is not an acknowledgement the client could rely on.
        res.on('aborted', () => resolve({ status: res.statusCode, error: 'aborted' }));
        res.on('error', () => resolve({ status: res.statusCode, error: 'response-error' }));
        res.on('end', () =>
          resolve({ status: res.statusCode, contentType: res.headers['content-type'], body: text }),
        );
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

async function storedNames(dataDir: string): Promise<string[]> {
  const events = await readFileSinkEvents(join(dataDir, 'events'));
  return events.map((e) => (JSON.parse(e.data.toString('utf8')) as StoredEvent).name ?? '');
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const children: IngestProcess[] = [];
let dataDir: string | undefined;

afterAll(async () => {
  for (const c of children) await c.stop('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('SIGTERM under load: exit 0 and every acknowledged event stored', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-sigterm-'));
  const dir = dataDir;
  // info: the drain's own log lines ("draining before exit", "drained; exiting") explain a failure.
  const p = await spawnIngest(dir, { env: { TS_LOG_LEVEL: 'info' } });
  children.push(p);

  const acked = new Set<string>();
  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  let requests = 0;
  let inFlight = 0;
  let ackedAfterSignal = 0;
  let partialBatches = 0;
  // Set once by the test body and read by the clients' closures, hence a holder object rather than a `let`.
  const timeline: { signalledAt?: number } = {};

  const client = async (c: number) => {
    const localAddress = `127.0.0.${10 + c}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let r = 0; r < MAX_REQUESTS_PER_CLIENT; r++) {
        const pixel = (c + r) % 2 === 0;
        const base = `sig-c${c}-r${r}`;
        const names = pixel ? [base] : Array.from({ length: 1 + (r % 3) }, (_, k) => `${base}-e${k}`);
        requests++;
        inFlight++;
        const answer = pixel
          ? await send(
              agent,
              p.port,
              localAddress,
              'GET',
              `/p.gif?a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=click&n=${base}`,
              { 'user-agent': BROWSER_USER_AGENT },
            )
          : await send(
              agent,
              p.port,
              localAddress,
              'POST',
              '/collect',
              {
                'user-agent': BROWSER_USER_AGENT,
                'content-type': r % 4 === 1 ? 'text/plain;charset=UTF-8' : 'application/json',
              },
              JSON.stringify({
                accountId: DEMO_ACCOUNT_ID,
                campaignId: DEMO_CAMPAIGN_ID,
                events: names.map((name) => ({ type: 'pageview', name })),
              }),
            );
        inFlight--;
        count(answer.error ?? String(answer.status));
        let ok = false;
        if (!answer.error && pixel) ok = answer.status === 200 && answer.contentType === 'image/gif';
        if (!answer.error && !pixel && answer.status === 202) {
          const body = JSON.parse(answer.body ?? '{}') as { received?: number; stored?: number };
          ok = body.received === names.length && body.stored === names.length;
          if (!ok) partialBatches++;
        }
        if (ok) {
          for (const n of names) acked.add(n);
          if (timeline.signalledAt !== undefined) ackedAfterSignal += names.length;
        }
        // The listener is closed: the service is draining or gone, and no later request can be answered.
        if (answer.error === 'ECONNREFUSED') break;
      }
    } finally {
      agent.destroy();
    }
  };

  const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
  await withTimeout(
    (async () => {
      while (acked.size < ACKS_BEFORE_SIGNAL) await new Promise((r) => setTimeout(r, 5));
    })(),
    30_000,
    `${ACKS_BEFORE_SIGNAL} acknowledged events before the signal (output:\n${p.output()})`,
  );
  const inFlightAtSignal = inFlight;
  const ackedBeforeSignal = acked.size;
  const signalledAt = performance.now();
  timeline.signalledAt = signalledAt;
  p.child.kill('SIGTERM');

  let exit: ChildExit;
  try {
    // The drain waits at most 25 s for requests in flight and 5 s for the spool.
    exit = await withTimeout(p.exited, 45_000, 'the service to exit after SIGTERM');
  } catch (err) {
    await p.stop('SIGKILL');
    throw new Error(`${(err as Error).message}\n${p.output()}`);
  }
  const drainMs = performance.now() - signalledAt;
  await withTimeout(Promise.all(clients), 45_000, 'the clients to finish');

  const spoolDir = join(dir, 'spool');
  const spooledAtExit = await spoolFiles(spoolDir);
  let restartExit: ChildExit | undefined;
  if (spooledAtExit.length > 0) {
    // What the first run left in the spool is acknowledged too: a second run on the same data dir drains it.
    const again = await spawnIngest(dir, { env: { TS_LOG_LEVEL: 'info' } });
    children.push(again);
    await withTimeout(
      (async () => {
        while ((await spoolFiles(spoolDir)).length > 0) await new Promise((r) => setTimeout(r, 50));
      })(),
      30_000,
      `the second run to drain the spool (output:\n${again.output()})`,
    );
    restartExit = await again.stop('SIGTERM', 45_000);
  }

  const stored = await storedNames(dir);
  const storedSet = new Set(stored);
  const missing = [...acked].filter((n) => !storedSet.has(n));
  const duplicates = stored.length - storedSet.size;
  const storedUnacked = [...storedSet].filter((n) => !acked.has(n)).length;
  const answers = [...statuses.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  console.log(
    `SIGTERM under load: ${requests} requests from ${CLIENTS} clients; answers ${answers}\n` +
      `  in flight at SIGTERM ${inFlightAtSignal}; acknowledged ${acked.size} events ` +
      `(${ackedBeforeSignal} before the signal, ${ackedAfterSignal} after); partial batches ${partialBatches}\n` +
      `  exit ${JSON.stringify(exit)} ${Math.round(drainMs)} ms after SIGTERM; spool files at exit ${spooledAtExit.length}` +
      `${restartExit ? `, drained by a second run (exit ${JSON.stringify(restartExit)})` : ''}\n` +
      `  stored ${stored.length} events (${storedSet.size} distinct, ${duplicates} duplicates, ` +
      `${storedUnacked} stored but not acknowledged); acknowledged but missing ${missing.length}`,
  );

  expect(inFlightAtSignal).toBeGreaterThan(0);
  expect(exit).toEqual({ code: 0, signal: null });
  if (restartExit) expect(restartExit).toEqual({ code: 0, signal: null });
  expect(partialBatches).toBe(0);
  expect({ missing: missing.slice(0, 20), count: missing.length }).toEqual({ missing: [], count: 0 });
}, 150_000);
