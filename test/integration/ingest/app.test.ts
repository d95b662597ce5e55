/**
 * The ingest service end to end on embedded defaults: real HTTP, real file sink, real local key file.
 */
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { TokenBucketLimiter } from '../../../services/ingest/src/pipeline/limits';
import { PIXEL_GIF } from '../../../services/ingest/src/http/respond';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

let h: IngestHarness;
let pixel: string;

async function stored(): Promise<StoredEvent[]> {
  await h.server.runtime.sink.flush();
  const events = await readFileSinkEvents(join(h.dataDir, 'events'));
  return events.map((e) => JSON.parse(e.data.toString()) as StoredEvent);
}

beforeAll(async () => {
  h = await startIngest();
  pixel = `${h.url}/p.gif?a=${h.seed.accountId}&c=${h.seed.campaignId}`;
});
afterAll(() => h.close());

describe('health', () => {
  test('healthz and readyz answer 200 when the sink, key and directory are usable', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { sink: 'ok', keyProvider: 'ok', directory: 'ok' },
    });
  });
});

describe('GET /p.gif', () => {
  test('answers the 43-byte GIF and stores the hit with personal fields encrypted', async () => {
    const res = await fetch(`${pixel}&e=impression&cid=click-1`, {
      headers: { 'user-agent': BROWSER_USER_AGENT },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PIXEL_GIF);
    expect(PIXEL_GIF.length).toBe(43);

    const ev = (await stored()).find((e) => e.type === 'impression');
    expect(ev).toMatchObject({
      accountId: h.seed.accountId,
      campaignId: h.seed.campaignId,
      consent: 'full',
      source: 'pixel',
    });
    const raw = JSON.stringify(ev);
    expect(raw).not.toContain(BROWSER_USER_AGENT);
    expect(raw).not.toContain('click-1');
    const pii = await h.server.runtime.dataKeys.decryptFields(h.seed.accountId, ev!.pii!);
    expect(pii).toEqual({
      ip: expect.stringMatching(/127\.0\.0\.1/),
      userAgent: BROWSER_USER_AGENT,
      clickId: 'click-1',
    });
  });

  test('concurrent pixels each carry their own request id and every security header', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => `req-concurrent-${i}`);
    const answers = await Promise.all(
      ids.map((id) =>
        fetch(`${pixel}&e=pageview`, { headers: { 'x-request-id': id, 'user-agent': BROWSER_USER_AGENT } }),
      ),
    );
    const made = await fetch(`${pixel}&e=pageview`, { headers: { 'user-agent': BROWSER_USER_AGENT } });
    for (const [i, res] of [...answers, made].entries()) {
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe(ids[i] ?? made.headers.get('x-request-id'));
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
      expect(res.headers.get('cache-control')).toBe('no-store, max-age=0');
    }
    expect(made.headers.get('x-request-id')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(ids).not.toContain(made.headers.get('x-request-id'));
  });

  test('Do-Not-Track drops personal fields but counts the hit anonymously', async () => {
    const res = await fetch(`${pixel}&e=click&n=dnt-check&cid=secret-click`, {
      headers: { 'user-agent': BROWSER_USER_AGENT, dnt: '1' },
    });
    expect(res.status).toBe(200);
    const ev = (await stored()).find((e) => e.name === 'dnt-check');
    expect(ev).toMatchObject({ consent: 'anonymous' });
    expect(ev?.pii).toBeUndefined();
    expect(JSON.stringify(ev)).not.toContain('secret-click');
  });

  test('a malformed hit gets 400 naming the field', async () => {
    const res = await fetch(`${h.url}/p.gif?a=${h.seed.accountId}&c=bad`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request', field: 'campaignId' });
  });

  test('bots and unknown accounts get the GIF but are not stored', async () => {
    const before = (await stored()).length;
    const bot = await fetch(`${pixel}&n=bot`, {
      headers: { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
    });
    expect(bot.status).toBe(200);
    const unknown = await fetch(`${h.url}/p.gif?a=acc_nosuchaccount&c=cmp_spring`, {
      headers: { 'user-agent': BROWSER_USER_AGENT },
    });
    expect(unknown.status).toBe(200);
    expect((await stored()).length).toBe(before);
    const m = h.server.runtime.metrics.snapshot();
    expect(m['rejects.bot']).toBeGreaterThanOrEqual(1);
    expect(m['rejects.unknown_account']).toBeGreaterThanOrEqual(1);
  });

  test('an oversized query string gets 413', async () => {
    const res = await fetch(`${pixel}&u=https://x.example/${'a'.repeat(5000)}`);
    expect(res.status).toBe(413);
  });
});

describe('POST /collect', () => {
  const batch = (events: unknown[]) =>
    JSON.stringify({ accountId: 'acc_demoaccount', campaignId: 'cmp_demo-campaign', events });

  test('a JSON batch is stored and counted', async () => {
    const res = await fetch(`${h.url}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': BROWSER_USER_AGENT },
      body: batch([
        { type: 'click', name: 'json-1' },
        { type: 'click', name: 'json-2' },
      ]),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ received: 2, stored: 2 });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const names = (await stored()).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['json-1', 'json-2']));
  });

  test('a text/plain beacon body is accepted', async () => {
    const res = await fetch(`${h.url}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_USER_AGENT },
      body: batch([{ type: 'pageview', name: 'beacon-1' }]),
    });
    expect(res.status).toBe(202);
    expect((await stored()).some((e) => e.name === 'beacon-1' && e.source === 'beacon')).toBe(true);
  });

  test.each([
    ['invalid JSON', 'application/json', '{"events": [', 400],
    ['invalid JSON in a beacon', 'text/plain', 'not json', 400],
    ['a wrong content type', 'application/xml', '<a/>', 415],
    ['an oversized body', 'application/json', JSON.stringify({ pad: 'x'.repeat(70_000) }), 413],
    ['a nested object', 'application/json', '{"accountId":{"$gt":""}}', 400],
  ])('%s is refused', async (_what, type, body, status) => {
    const res = await fetch(`${h.url}/collect`, { method: 'POST', headers: { 'content-type': type }, body });
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: string; requestId: string };
    expect(json.requestId).toBeTruthy();
  });

  test('a batch with one bad event names it and stores nothing', async () => {
    const before = (await stored()).length;
    const res = await fetch(`${h.url}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: batch([{ type: 'click' }, { type: 'click', value: -5 }]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'events.1.value' });
    expect((await stored()).length).toBe(before);
  });

  test('CORS preflight is answered', async () => {
    const res = await fetch(`${h.url}/collect`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });
});

describe('GET /i', () => {
  test('serves a document whose nonce-locked script posts to /collect?a=<account>', async () => {
    const res = await fetch(`${h.url}/i?a=${h.seed.accountId}&c=${h.seed.campaignId}&e=impression`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    const html = await res.text();
    expect(nonce).toBeTruthy();
    expect(html).toContain(`nonce="${nonce}"`);
    expect(html).toContain(`var url = "collect?a=${h.seed.accountId}"`);
  });

  test('a value cannot break out of the script', async () => {
    const res = await fetch(`${h.url}/i?a=${h.seed.accountId}&c=${h.seed.campaignId}&n=%3C/script%3E`);
    expect(res.status).toBe(400);
  });
});

describe('/postback', () => {
  const url = () => `${h.url}/postback?campaignId=${h.seed.campaignId}`;

  test('requires a valid API key', async () => {
    expect((await fetch(`${url()}&clickId=a1`)).status).toBe(401);
    const bad = await fetch(`${url()}&clickId=a1`, { headers: { authorization: 'Bearer tsk_x' } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'unauthorized' });
    const wrong = await fetch(`${url()}&clickId=a1`, {
      headers: {
        authorization: `Bearer ${h.seed.apiKey.slice(0, -1)}${h.seed.apiKey.endsWith('a') ? 'b' : 'a'}`,
      },
    });
    expect(wrong.status).toBe(401);
  });

  test('stores a conversion once; a repeat is a duplicate', async () => {
    const auth = { authorization: `Bearer ${h.seed.apiKey}` };
    const first = await fetch(`${url()}&clickId=order-77&value=19.99&currency=EUR`, { headers: auth });
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ status: 'stored' });
    const again = await fetch(`${url()}&clickId=order-77&value=19.99&currency=EUR`, { headers: auth });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    const conversions = (await stored()).filter((e) => e.type === 'conversion' && e.source === 'postback');
    expect(conversions).toHaveLength(1);
  });

  test('accepts a JSON POST with the key in x-api-key, and validates it', async () => {
    const post = (body: unknown) =>
      fetch(`${h.url}/postback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': h.seed.apiKey },
        body: JSON.stringify(body),
      });
    expect((await post({ campaignId: h.seed.campaignId, clickId: 'json-post-1', value: 5 })).status).toBe(
      202,
    );
    const bad = await post({ campaignId: h.seed.campaignId });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'clickId' });
  });
});

describe('routing and origin', () => {
  test('an unknown route gets 404 JSON', async () => {
    const res = await fetch(`${h.url}/wp-admin`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
  });

  test('local mode serves the snippet, the campaign config and the demo page', async () => {
    const js = await fetch(`${h.url}/snippet.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const config = await fetch(`${h.url}/config/${h.seed.accountId}/${h.seed.campaignId}.json`);
    expect(await config.json()).toMatchObject({ campaignId: h.seed.campaignId, accountId: h.seed.accountId });
    expect((await fetch(`${h.url}/config/${h.seed.accountId}/cmp_nosuch.json`)).status).toBe(404);
    // Campaign ids are unique per account only: the account-less path names no document.
    const global = await fetch(`${h.url}/config/${h.seed.campaignId}.json`);
    expect(global.status).toBe(404);
    expect(await global.json()).toMatchObject({ message: expect.stringContaining('/config/<accountId>/') });
    expect((await fetch(`${h.url}/demo`)).status).toBe(200);
  });
});

describe('with an origin secret and tight limits', () => {
  let s: IngestHarness;
  beforeAll(async () => {
    s = await startIngest(
      { TS_ORIGIN_SECRET: 'cdn-shared-secret-0123456789' },
      { ipLimiter: new TokenBucketLimiter({ ratePerSecond: 0.001, burst: 2 }) },
    );
  });
  afterAll(() => s.close());

  test('requests without the CDN header get 403; health checks still pass', async () => {
    expect((await fetch(`${s.url}/p.gif?a=acc_demoaccount&c=cmp_demo-campaign`)).status).toBe(403);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  test('a client over its rate gets 429 on /collect', async () => {
    const send = () =>
      fetch(`${s.url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-origin-verify': 'cdn-shared-secret-0123456789' },
        body: JSON.stringify({
          accountId: 'acc_demoaccount',
          campaignId: 'cmp_demo-campaign',
          type: 'click',
        }),
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send()).status);
    expect(statuses).toEqual([202, 202, 429, 429]);
  });
});

describe('request targets and paths', () => {
  test('an absolute-form target gets 400 JSON, not the framework default page', async () => {
    const { request } = await import('node:http');
    const u = new URL(h.url);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: 'http://[::1/x', method: 'GET' }, (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
  });

  test('a bad percent-escape in the path is named as the path', async () => {
    const res = await fetch(`${h.url}/config/%zz.json`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: '(path)' });
  });
});

describe('the express app alone (as Lambda runs it)', () => {
  test('the pixel keeps the request id the first middleware gave it', async () => {
    const { createServer } = await import('node:http');
    const server = createServer(h.server.runtime.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const url = `http://127.0.0.1:${port}/p.gif?a=${h.seed.accountId}&c=${h.seed.campaignId}`;
      const given = await fetch(url, {
        headers: { 'x-request-id': 'req-abc-123', 'user-agent': BROWSER_USER_AGENT },
      });
      expect(given.status).toBe(200);
      expect(given.headers.get('x-request-id')).toBe('req-abc-123');
      const made = await fetch(url, { headers: { 'user-agent': BROWSER_USER_AGENT } });
      expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
