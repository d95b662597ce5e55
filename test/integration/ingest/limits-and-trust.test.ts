/**
 * Limits and trust, tried as an attacker would over HTTP on embedded defaults: batches that slip past the
 * per-IP rate, hits without a user agent, forged proxy headers, unthrottled key guessing, keys in URLs and
 * logs, and keys or accounts that are no longer active.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { createLogger } from '../../../services/shared/logger';
import { TokenBucketLimiter } from '../../../services/ingest/src/pipeline/limits';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { addAccount, parseEvents } from '../../support/ingest-factories';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

const collect = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/collect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': BROWSER_USER_AGENT, ...headers },
    body: JSON.stringify(body),
  });

const batchOf = (n: number, name: string) => ({
  accountId: 'acc_demoaccount',
  campaignId: 'cmp_demo-campaign',
  events: Array.from({ length: n }, (_, i) => ({ type: 'click', name: `${name}-${i}` })),
});

async function stored(h: IngestHarness) {
  await h.server.runtime.sink.flush();
  return parseEvents(await readFileSinkEvents(join(h.dataDir, 'events')));
}

describe('the per-IP rate charges every event of a batch', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    // 60 events of burst: one batch of 50 fits, a second does not.
    h = await startIngest({}, { ipLimiter: new TokenBucketLimiter({ ratePerSecond: 0.001, burst: 60 }) });
  });
  afterAll(() => h.close());

  test('a second batch of 50 from the same address gets 429 and stores nothing', async () => {
    expect((await collect(h.url, batchOf(50, 'first'))).status).toBe(202);
    const second = await collect(h.url, batchOf(50, 'second'));
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // What is left still takes smaller requests: the refused batch took no tokens.
    expect((await collect(h.url, batchOf(10, 'third'))).status).toBe(202);
    const names = (await stored(h)).map((e) => e.name ?? '');
    expect(names.filter((n) => n.startsWith('first-'))).toHaveLength(50);
    expect(names.filter((n) => n.startsWith('second-'))).toHaveLength(0);
    expect(names.filter((n) => n.startsWith('third-'))).toHaveLength(10);
    expect(h.server.runtime.metrics.snapshot()['rejects.rate_limited']).toBe(50);
  });
});

describe('hits and keys', () => {
  let h: IngestHarness;
  let expired: Awaited<ReturnType<typeof addAccount>>;
  beforeAll(async () => {
    h = await startIngest(
      { TS_TRUST_PROXY: 'cloudfront' },
      {
        authFailureLimiter: new TokenBucketLimiter({ ratePerSecond: 0.001, burst: 3 }),
      },
    );
    expired = await addAccount(h.server.runtime.directory, 'acc_expired0001', {
      account: { status: 'expired', expiredAt: '2026-01-15T00:00:00Z' },
    });
  });
  afterAll(() => h.close());

  const viewer = (ip: string) => ({
    'cloudfront-viewer-address': `${ip}:443`,
    'user-agent': BROWSER_USER_AGENT,
  });

  test('a hit without a user agent, or with a blank one, is counted as a non-browser and not stored', async () => {
    const before = (await stored(h)).length;
    const bots = h.server.runtime.metrics.snapshot()['rejects.bot'] ?? 0;
    const url = new URL(`${h.url}/p.gif?a=acc_demoaccount&c=cmp_demo-campaign&n=no-ua`);
    // fetch always sends a user agent of its own: raw requests say exactly what they mean to.
    const { request } = await import('node:http');
    const rawGet = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers },
          (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    const ip = { 'cloudfront-viewer-address': '192.0.2.50:443' };
    expect(await rawGet(ip)).toBe(200);
    expect(await rawGet({ ...ip, 'user-agent': '' })).toBe(200);
    expect(await rawGet({ ...ip, 'user-agent': '   ' })).toBe(200);
    expect((await stored(h)).length).toBe(before);
    expect(h.server.runtime.metrics.snapshot()['rejects.bot']).toBe(bots + 3);
  });

  test('behind CloudFront, forged X-Forwarded-For and geo headers neither move the rate limit nor the country', async () => {
    const res = await fetch(`${h.url}/p.gif?a=acc_demoaccount&c=cmp_demo-campaign&n=forged-geo`, {
      headers: {
        ...viewer('198.51.100.23'),
        'x-forwarded-for': '6.6.6.6',
        'x-client-geo-country': 'KP',
        'cloudfront-viewer-country': 'FR',
      },
    });
    expect(res.status).toBe(200);
    const ev = (await stored(h)).find((e) => e.name === 'forged-geo');
    expect(ev?.country).toBe('FR');
    const pii = await h.server.runtime.dataKeys.decryptFields('acc_demoaccount', ev!.pii!);
    expect(pii).toMatchObject({ ip: '198.51.100.23' });

    // Without the viewer header, the forwarded list's leftmost entry (the client's own claim) and a geo
    // header CloudFront never sets decide nothing: the hop CloudFront appended does, and no country.
    const bare = await fetch(`${h.url}/p.gif?a=acc_demoaccount&c=cmp_demo-campaign&n=forged-xff`, {
      headers: {
        'user-agent': BROWSER_USER_AGENT,
        'x-forwarded-for': '6.6.6.6, 198.51.100.24',
        'x-client-geo-country': 'KP',
      },
    });
    expect(bare.status).toBe(200);
    const ev2 = (await stored(h)).find((e) => e.name === 'forged-xff');
    expect(ev2?.country).toBeUndefined();
    expect(await h.server.runtime.dataKeys.decryptFields('acc_demoaccount', ev2!.pii!)).toMatchObject({
      ip: '198.51.100.24',
    });
  });

  test('failed API-key attempts from one address are throttled with 429 and Retry-After', async () => {
    const guess = (key: string) =>
      fetch(`${h.url}/postback?campaignId=cmp_demo-campaign&clickId=g`, {
        headers: { authorization: `Bearer ${key}`, ...viewer('203.0.113.66') },
      });
    const wrong = `tsk_${'a'.repeat(16)}_${'b'.repeat(40)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await guess(wrong)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const locked = await guess(h.seed.apiKey);
    // Even the right key waits: the address is locked out, not the key.
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another address is not affected.
    const other = await fetch(`${h.url}/postback?campaignId=cmp_demo-campaign&clickId=g2`, {
      headers: { authorization: `Bearer ${h.seed.apiKey}`, ...viewer('203.0.113.67') },
    });
    expect(other.status).toBe(202);
  });

  test('a key in the URL is refused unless the key allows it; the header forms work', async () => {
    const inUrl = await fetch(
      `${h.url}/postback?campaignId=cmp_demo-campaign&clickId=u1&key=${h.seed.apiKey}`,
      { headers: viewer('203.0.113.80') },
    );
    expect(inUrl.status).toBe(401);
    expect(await inUrl.json()).toMatchObject({ message: expect.stringContaining('Authorization: Bearer') });
    const network = await addAccount(h.server.runtime.directory, 'acc_network001', {
      key: { allowInUrl: true },
    });
    const allowed = await fetch(
      `${h.url}/postback?campaignId=${network.campaignId}&clickId=u2&key=${network.apiKey}`,
      { headers: viewer('203.0.113.81') },
    );
    expect(allowed.status).toBe(202);
  });

  test('a revoked key is refused and nothing is stored', async () => {
    const acc = await addAccount(h.server.runtime.directory, 'acc_revoked001', {
      key: { status: 'revoked', revokedAt: '2026-02-01T00:00:00Z', revokedReason: 'leaked' },
    });
    const before = (await stored(h)).length;
    const res = await fetch(`${h.url}/postback?campaignId=${acc.campaignId}&clickId=r1`, {
      headers: { authorization: `Bearer ${acc.apiKey}`, ...viewer('203.0.113.90') },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthorized', message: 'the API key is not valid' });
    expect((await stored(h)).length).toBe(before);
  });

  test('an expired account stores nothing through /p.gif, /collect or /postback', async () => {
    const before = (await stored(h)).length;
    const a = `a=${expired.accountId}&c=${expired.campaignId}`;
    expect((await fetch(`${h.url}/p.gif?${a}&n=late`, { headers: viewer('192.0.2.91') })).status).toBe(200);
    const beacon = await collect(
      h.url,
      { accountId: expired.accountId, campaignId: expired.campaignId, type: 'click' },
      viewer('192.0.2.92'),
    );
    expect(await beacon.json()).toEqual({ received: 1, stored: 0 });
    const pb = await fetch(`${h.url}/postback?campaignId=${expired.campaignId}&clickId=late`, {
      headers: { authorization: `Bearer ${expired.apiKey}`, ...viewer('203.0.113.93') },
    });
    expect(pb.status).toBe(422);
    expect(await pb.json()).toMatchObject({ error: 'inactive_account' });
    expect((await stored(h)).length).toBe(before);
    expect(h.server.runtime.metrics.snapshot()['rejects.inactive_account']).toBeGreaterThanOrEqual(3);
  });

  test('an unknown account is refused as unknown even when the campaign id exists for another account', async () => {
    // cmp_demo-campaign exists, under acc_demoaccount: the hit names another, unknown account.
    const res = await fetch(`${h.url}/p.gif?a=acc_nosuchaccount&c=cmp_demo-campaign`, {
      headers: viewer('192.0.2.94'),
    });
    expect(res.status).toBe(200);
    expect(h.server.runtime.metrics.snapshot()['rejects.unknown_account']).toBeGreaterThanOrEqual(1);
  });
});

describe('an unknown key id costs what a known one does', () => {
  test('found and not-found key look-ups are remembered equally long', async () => {
    let t = 0;
    let reads = 0;
    const h = await startIngest({}, {});
    try {
      const { CachedDirectory } = await import('../../../services/shared/directory/cached-directory');
      const inner = h.server.runtime.directory;
      const counting = new Proxy(inner, {
        get(target, prop, receiver) {
          if (prop === 'getApiKey')
            return (id: string) => {
              reads++;
              return target.getApiKey(id);
            };
          return Reflect.get(target, prop, receiver) as unknown;
        },
      });
      const cached = new CachedDirectory({ directory: counting, now: () => t });
      const known = h.seed.apiKey.slice(4, 20);
      const unknown = 'zzzzzzzzzzzzzzzz';
      const readsFor = async (id: string) => {
        const before = reads;
        await cached.getApiKey(id);
        return reads - before;
      };
      // First look-up of each reads the directory, then neither does for the whole cache period.
      expect([await readsFor(known), await readsFor(unknown)]).toEqual([1, 1]);
      for (const at of [1_000, 10_000, 30_000, 59_000]) {
        t = at;
        expect([await readsFor(known), await readsFor(unknown)]).toEqual([0, 0]);
      }
      t = 61_000;
      expect([await readsFor(known), await readsFor(unknown)]).toEqual([1, 1]);
    } finally {
      await h.close();
    }
  });
});

describe('logs', () => {
  test('no line the service logs carries an API key secret, even in an error message', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ service: 'ingest', level: 'trace', destination: sink });
    const h = await startIngest({ TS_LOG_LEVEL: 'trace' }, { logger });
    try {
      const secret = h.seed.apiKey.slice(21);
      // An SDK error quoting the request it failed on is the way a key reaches an error log.
      logger.error({ err: new Error(`GET /postback?key=${h.seed.apiKey} failed`) }, 'upstream error');
      logger.info({ presented: h.seed.apiKey }, `retrying ${h.seed.apiKey}`);
      for (const path of [
        `/postback?campaignId=cmp_demo-campaign&clickId=l1&key=${h.seed.apiKey}`,
        `/postback?campaignId=cmp_demo-campaign&clickId=l2&key=${h.seed.apiKey}%zz`,
        `/p.gif?a=acc_demoaccount&c=cmp_demo-campaign&key=${h.seed.apiKey}`,
      ])
        await fetch(`${h.url}${path}`, { headers: { 'user-agent': BROWSER_USER_AGENT } });
      await fetch(`${h.url}/postback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${h.seed.apiKey}` },
        body: '{"campaignId": ',
      });
      await new Promise((r) => setImmediate(r));
      const all = lines.join('');
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(all).not.toContain(secret);
      expect(all).toContain(`${h.seed.apiKey.slice(0, 21)}[redacted]`);
    } finally {
      await h.close();
    }
  });
});
