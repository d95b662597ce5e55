/**
 * The snippet in a real browser: Debian's Chromium loads the demo page from the service on embedded
 * defaults; the snippet fetches its campaign config and sends a page view beacon; the buttons send a click
 * beacon and fire an impression pixel; all three land in the file sink. A customer page on another origin
 * shows what is stored of its URL and that a campaign takes hits only from the origins it allows.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { launchChromium } from '../../support/browser';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

let h: IngestHarness;
let browser: Browser;

beforeAll(async () => {
  h = await startIngest();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function storedEvents(): Promise<StoredEvent[]> {
  await h.server.runtime.sink.flush();
  return (await readFileSinkEvents(join(h.dataDir, 'events'))).map(
    (e) => JSON.parse(e.data.toString()) as StoredEvent,
  );
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the demo page records a page view, a click beacon and an impression pixel', async () => {
  const context = await browser.newContext({ userAgent: BROWSER_USER_AGENT });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${h.url}/demo`);
  await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('config loaded'));

  await page.click('#click');
  await page.click('#pixel');
  await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('answered 1x1'));

  const events = await waitFor(async () => {
    const all = await storedEvents();
    const pageview = all.find((e) => e.type === 'pageview' && e.source === 'beacon');
    const click = all.find((e) => e.type === 'click' && e.name === 'demo-button');
    const impression = all.find((e) => e.type === 'impression' && e.source === 'pixel');
    return pageview && click && impression ? { pageview, click, impression } : undefined;
  }, 'the three demo events');

  expect(events.pageview).toMatchObject({
    accountId: h.seed.accountId,
    campaignId: h.seed.campaignId,
    url: `${h.url}/demo`,
  });
  expect(events.click.consent).toBe('full');
  const pii = await h.server.runtime.dataKeys.decryptFields(h.seed.accountId, events.click.pii!);
  expect(pii).toMatchObject({ userAgent: BROWSER_USER_AGENT });
  expect(errors).toEqual([]);
  await context.close();
});

test('a browser that sends Global Privacy Control is counted without personal fields', async () => {
  const context = await browser.newContext({
    userAgent: BROWSER_USER_AGENT,
    extraHTTPHeaders: { 'Sec-GPC': '1' },
  });
  const page = await context.newPage();
  await page.goto(`${h.url}/demo`);
  await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('config loaded'));
  await page.evaluate(() =>
    (window as unknown as { trackstack: { track(t: string, f: object): void } }).trackstack.track('click', {
      name: 'gpc-click',
      clickId: 'gclid-123',
    }),
  );
  const ev = await waitFor(
    async () => (await storedEvents()).find((e) => e.name === 'gpc-click'),
    'the GPC click',
  );
  expect(ev.consent).toBe('anonymous');
  expect(ev.pii).toBeUndefined();
  expect(JSON.stringify(ev)).not.toContain('gclid-123');
  await context.close();
});

test("a customer's page: its query string is not stored in clear, and only the campaign's allowed origin counts", async () => {
  const { createServer } = await import('node:http');
  const { addAccount } = await import('../../support/ingest-factories');
  // The customer's site: another origin (another port) than the service's.
  const tag = (account: string) =>
    `<script async src="${h.url}/snippet.js" data-account="${account}" data-campaign="cmp_shop"></script>`;
  let pageAccount = '';
  const site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html><head>${tag(pageAccount)}</head><body>shop</body></html>`);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const siteOrigin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  const allowing = await addAccount(h.server.runtime.directory, 'acc_browserok1', {
    campaignId: 'cmp_shop',
    campaign: { allowedOrigins: [siteOrigin] },
    dataDir: h.dataDir,
  });
  const refusing = await addAccount(h.server.runtime.directory, 'acc_browserno1', {
    campaignId: 'cmp_shop',
    campaign: { allowedOrigins: ['https://elsewhere.example'] },
    dataDir: h.dataDir,
  });
  const context = await browser.newContext({ userAgent: BROWSER_USER_AGENT });
  try {
    const refused = () => h.server.runtime.metrics.snapshot()['rejects.origin_not_allowed'] ?? 0;
    const refusedBefore = refused();
    for (const account of [refusing.accountId, allowing.accountId]) {
      pageAccount = account;
      const page = await context.newPage();
      await page.goto(`${siteOrigin}/reset?email=alice%40example.com&utm_source=news#token=s3cret`);
      await page.waitForFunction(() =>
        (window as unknown as { trackstack?: { config(): unknown } }).trackstack?.config(),
      );
      await page.close();
      // The refusing campaign's page view is answered (and refused) before the next page loads.
      if (account === refusing.accountId)
        await waitFor(async () => (refused() > refusedBefore ? true : undefined), 'the refused page view');
    }
    const pageview = await waitFor(
      async () =>
        (await storedEvents()).find((e) => e.accountId === allowing.accountId && e.type === 'pageview'),
      'the allowed page view',
    );
    expect(pageview.url).toBe(`${siteOrigin}/reset`);
    expect(pageview.params).toEqual({ utm_source: 'news' });
    expect(JSON.stringify(pageview)).not.toMatch(/alice|s3cret/);
    const pii = await h.server.runtime.dataKeys.decryptFields(allowing.accountId, pageview.pii!);
    expect(pii).toMatchObject({
      url: `${siteOrigin}/reset?email=alice%40example.com&utm_source=news#token=s3cret`,
    });
    expect((await storedEvents()).filter((e) => e.accountId === refusing.accountId)).toEqual([]);
  } finally {
    await context.close();
    await new Promise((r) => site.close(r));
  }
});

test("a customer's page: the visitor's opt-out cookie on the tracking domain reaches the service with the beacons", async () => {
  const { createServer } = await import('node:http');
  const { addAccount } = await import('../../support/ingest-factories');
  const account = await addAccount(h.server.runtime.directory, 'acc_optoutpage1', {
    campaignId: 'cmp_shop',
    dataDir: h.dataDir,
  });
  // Another origin than the service's, so the beacon is a cross-origin, preflighted request.
  const site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<!doctype html><html><head><script async src="${h.url}/snippet.js" data-account="${account.accountId}" ` +
        `data-campaign="cmp_shop"></script></head><body>shop</body></html>`,
    );
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const siteOrigin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  const context = await browser.newContext({ userAgent: BROWSER_USER_AGENT });
  await context.addCookies([{ name: 'ts_optout', value: '1', url: h.url }]);
  try {
    const page = await context.newPage();
    await page.goto(`${siteOrigin}/product?ref=news`);
    await page.waitForFunction(() =>
      (window as unknown as { trackstack?: { config(): unknown } }).trackstack?.config(),
    );
    await page.evaluate(() =>
      (window as unknown as { trackstack: { track(t: string, f: object): void } }).trackstack.track('click', {
        name: 'optout-click',
        clickId: 'click-optout-1',
      }),
    );
    const click = await waitFor(
      async () =>
        (await storedEvents()).find((e) => e.accountId === account.accountId && e.name === 'optout-click'),
      'the opted-out click',
    );
    expect(click.consent).toBe('anonymous');
    expect(click.pii).toBeUndefined();
    expect(JSON.stringify(click)).not.toContain('click-optout-1');
  } finally {
    await context.close();
    await new Promise((r) => site.close(r));
  }
});
