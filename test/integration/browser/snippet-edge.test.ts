/**
 * What the snippet sends, as the edge needs it, in Debian's Chromium against the service on embedded
 * defaults (`npm run local`'s app): every hit carries the account as `a` (the edge routes by it), every
 * POST carries `x-amz-content-sha256` equal to the SHA-256 of its body (Lambda behind CloudFront's origin
 * access control takes a POST only with it), and the events are stored. The requests are captured with
 * playwright's request events; the service checks each declared hash against the body as it received it
 * (400, counted as malformed, on a mismatch), so stored events and no malformed count are that check
 * passing.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { TokenBucketLimiter } from '../../../services/ingest/src/pipeline/limits';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { launchChromium } from '../../support/browser';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

let h: IngestHarness;
let browser: Browser;

beforeAll(async () => {
  // The batch test sends 61 events at once from one address.
  h = await startIngest({}, { ipLimiter: new TokenBucketLimiter({ ratePerSecond: 1e6 }) });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const HIT_PATHS = ['/p.gif', '/collect', '/i', '/postback'];

/** One request the page sent to the service, with its answer. */
interface Captured {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
}

/**
 * Records every request the page sends to the service. (Playwright reports no answer to a keepalive
 * request: the service's own counters and stored events say how it answered.)
 */
function capture(page: Page): Captured[] {
  const seen: Captured[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.origin === h.url)
      seen.push({ method: req.method(), url, headers: req.headers(), body: req.postDataBuffer() });
  });
  return seen;
}

async function storedEvents(): Promise<StoredEvent[]> {
  await h.server.runtime.sink.flush();
  return (await readFileSinkEvents(join(h.dataDir, 'events'))).map(
    (e) => JSON.parse(e.data.toString()) as StoredEvent,
  );
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/**
 * Every hit names the account as `a`; every POST declares its body's hash. That the service found each
 * hash equal to the body it received is the caller's check: nothing refused as malformed, all stored.
 */
function expectEdgeReady(requests: readonly Captured[], accountId: string): void {
  const hits = requests.filter((r) => HIT_PATHS.includes(r.url.pathname) && r.method !== 'OPTIONS');
  expect(hits.length).toBeGreaterThan(0);
  for (const hit of hits)
    expect({ hit: hit.url.href, a: hit.url.searchParams.getAll('a') }).toEqual({
      hit: hit.url.href,
      a: [accountId],
    });
  const posts = hits.filter((r) => r.method === 'POST');
  expect(posts.length).toBeGreaterThan(0);
  for (const post of posts) {
    expect(post.body).not.toBeNull();
    expect(post.headers['x-amz-content-sha256']).toBe(sha256(post.body!));
  }
}

test('the demo page: config fetched, then a page view and a click, each with `a` and the body hash, stored', async () => {
  const context = await browser.newContext({ userAgent: BROWSER_USER_AGENT });
  const page = await context.newPage();
  const requests = capture(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const malformedBefore = h.server.runtime.metrics.snapshot()['rejects.malformed'] ?? 0;

  await page.goto(`${h.url}/demo`);
  await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('config loaded'));
  await page.click('#click');
  await page.click('#pixel');
  await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('answered 1x1'));

  const stored = await waitFor(async () => {
    const all = (await storedEvents()).filter((e) => e.accountId === h.seed.accountId);
    const pageview = all.find((e) => e.type === 'pageview' && e.source === 'beacon');
    const click = all.find((e) => e.type === 'click' && e.name === 'demo-button');
    const impression = all.find((e) => e.type === 'impression' && e.source === 'pixel');
    return pageview && click && impression ? { pageview, click, impression } : undefined;
  }, 'the page view, the click and the impression');
  expect(stored.pageview.campaignId).toBe(h.seed.campaignId);

  expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(
    expect.arrayContaining([
      `GET /config/${h.seed.accountId}/${h.seed.campaignId}.json`,
      'POST /collect',
      'GET /p.gif',
    ]),
  );
  // The page view and the click: two beacons.
  expect(requests.filter((r) => r.method === 'POST' && r.url.pathname === '/collect')).toHaveLength(2);
  expectEdgeReady(requests, h.seed.accountId);
  expect(h.server.runtime.metrics.snapshot()['rejects.malformed'] ?? 0).toBe(malformedBefore);
  expect(errors).toEqual([]);
  await context.close();
});

test('events queued before the config loads go in bodies small enough for keepalive, each hashed, all stored', async () => {
  const context = await browser.newContext({ userAgent: BROWSER_USER_AGENT });
  const page = await context.newPage();
  const requests = capture(page);
  const malformedBefore = h.server.runtime.metrics.snapshot()['rejects.malformed'] ?? 0;
  // Hold the config back, so the events below wait in the snippet's queue and leave together.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/config/**', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`${h.url}/demo`);
  await page.waitForFunction(() => 'trackstack' in window);
  // 60 events of about 2 KB each (a long page URL): some 120 KB, more than keepalive's 64 KiB in flight.
  await page.evaluate(() => {
    const long = `${location.origin}/landing?${'q=' + 'x'.repeat(1990)}`;
    const ts = (window as unknown as { trackstack: { track(t: string, f: object): void } }).trackstack;
    for (let i = 0; i < 60; i++) ts.track('click', { name: `queued-${i}`, url: long });
  });
  release();

  const names = await waitFor(async () => {
    const queued = (await storedEvents()).filter((e) => e.name?.startsWith('queued-'));
    return queued.length === 60 ? queued.map((e) => e.name) : undefined;
  }, 'the 60 queued events');
  expect(new Set(names).size).toBe(60);

  const posts = requests.filter((r) => r.method === 'POST');
  expect(posts.length).toBeGreaterThan(2);
  for (const post of posts) {
    expect(post.body!.length).toBeLessThanOrEqual(16 * 1024);
    const { events } = JSON.parse(post.body!.toString()) as { events: unknown[] };
    expect(events.length).toBeLessThanOrEqual(50);
  }
  expectEdgeReady(requests, h.seed.accountId);
  expect(h.server.runtime.metrics.snapshot()['rejects.malformed'] ?? 0).toBe(malformedBefore);
  await context.close();
});

test("the iframe tag's document posts its hit with `a` and the body hash, and it is stored", async () => {
  const context = await browser.newContext({ userAgent: BROWSER_USER_AGENT });
  const page = await context.newPage();
  const requests = capture(page);
  await page.goto(`${h.url}/demo`);
  await page.evaluate(
    ({ a, c }) => {
      const frame = document.createElement('iframe');
      frame.src = `/i?a=${a}&c=${c}&e=impression&n=iframe-tag`;
      document.body.appendChild(frame);
    },
    { a: h.seed.accountId, c: h.seed.campaignId },
  );
  const ev = await waitFor(
    async () => (await storedEvents()).find((e) => e.name === 'iframe-tag'),
    'the iframe hit',
  );
  expect(ev).toMatchObject({ accountId: h.seed.accountId, type: 'impression', source: 'beacon' });
  expect(requests.some((r) => r.url.pathname === '/i')).toBe(true);
  expectEdgeReady(requests, h.seed.accountId);
  await context.close();
});
