/**
 * `npm run local -- --ip-rate 5` really limits: the flag's variable, given to the service on embedded
 * defaults over HTTP, lets one address store ten seconds' worth of pixel hits (50) and no more, while the
 * default rate stores all 70. A pixel is answered with the GIF either way (a page cannot act on an error);
 * a JSON batch over the rate gets 429.
 */
import { join } from 'node:path';
import { parseLocalArgs } from '../../../services/ingest/src/local';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';
import { parseEvents } from '../../support/ingest-factories';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';

const HITS = 70;

/** The variables the command line's limit flags set (what `npm run local` adds to the environment). */
function limitEnv(argv: string[]): Record<string, string> {
  const { limits } = parseLocalArgs(argv);
  return Object.fromEntries(
    Object.entries(limits).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Sends `HITS` pixel hits one after another from the loopback address; resolves with their statuses. */
async function pixelHits(h: IngestHarness): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < HITS; i++) {
    const res = await fetch(
      `${h.url}/p.gif?a=${h.seed.accountId}&c=${h.seed.campaignId}&e=impression&n=hit-${i}`,
      { headers: { 'user-agent': BROWSER_USER_AGENT } },
    );
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

async function storedCount(h: IngestHarness): Promise<number> {
  await h.server.runtime.sink.flush();
  return parseEvents(await readFileSinkEvents(join(h.dataDir, 'events'))).length;
}

describe('npm run local -- --ip-rate 5', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngest(limitEnv(['--ip-rate', '5']));
  });
  afterAll(() => h.close());

  test('70 pixel hits from one address: the first 50 are stored, the rest refused as over the rate', async () => {
    const started = Date.now();
    const statuses = await pixelHits(h);
    const elapsedSeconds = (Date.now() - started) / 1000;
    expect(statuses.every((s) => s === 200)).toBe(true);
    const stored = await storedCount(h);
    // The bucket holds 50 (5/s for 10 s) and refills 5 tokens a second while the hits are sent.
    expect(stored).toBeGreaterThanOrEqual(50);
    expect(stored).toBeLessThanOrEqual(50 + Math.ceil(elapsedSeconds * 5));
    expect(h.server.runtime.metrics.snapshot()['rejects.rate_limited']).toBe(HITS - stored);
  });

  test('a JSON batch from the same address is then answered 429 with Retry-After', async () => {
    const res = await fetch(`${h.url}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': BROWSER_USER_AGENT },
      body: JSON.stringify({
        accountId: h.seed.accountId,
        campaignId: h.seed.campaignId,
        events: Array.from({ length: 10 }, (_, i) => ({ type: 'click', name: `late-${i}` })),
      }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('npm run local without --ip-rate', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngest(limitEnv([]));
  });
  afterAll(() => h.close());

  test('the default rate (50/s, 500 at once) stores all 70 hits', async () => {
    expect(await pixelHits(h)).toEqual(Array.from({ length: HITS }, () => 200));
    expect(await storedCount(h)).toBe(HITS);
    expect(h.server.runtime.metrics.snapshot()['rejects.rate_limited'] ?? 0).toBe(0);
  });
});
