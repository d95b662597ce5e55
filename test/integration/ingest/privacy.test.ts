/**
 * What is stored, and for whom: page URLs without their query strings unless the visitor consented (and
 * then encrypted, but for the campaign's attribution parameters), the opt-out cookie however it is quoted,
 * the campaign's allowed origins, campaign configs that belong to one account each, and a readiness answer
 * that tells the public nothing about the machine.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { addAccount, parseEvents } from '../../support/ingest-factories';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

let h: IngestHarness;
beforeAll(async () => {
  h = await startIngest();
});
afterAll(() => h.close());

async function stored() {
  await h.server.runtime.sink.flush();
  return parseEvents(await readFileSinkEvents(join(h.dataDir, 'events')));
}
const find = async (name: string) => (await stored()).find((e) => e.name === name);

const PAGE =
  'https://shop.example/reset?email=alice%40example.com&token=secret123&utm_source=news&gclid=G-1#step2';
const REFERRER = 'https://mail.example/inbox?session=abc999';

describe('page URLs and referrers', () => {
  const hit = (name: string, headers: Record<string, string> = {}) =>
    fetch(
      `${h.url}/p.gif?a=${h.seed.accountId}&c=${h.seed.campaignId}&n=${name}` +
        `&u=${encodeURIComponent(PAGE)}&r=${encodeURIComponent(REFERRER)}`,
      { headers: { 'user-agent': BROWSER_USER_AGENT, ...headers } },
    );

  test('without consent, nothing past the path is stored, in clear or encrypted', async () => {
    expect((await hit('dnt-url', { dnt: '1' })).status).toBe(200);
    const ev = await find('dnt-url');
    expect(ev).toMatchObject({
      consent: 'anonymous',
      url: 'https://shop.example/reset',
      referrer: 'https://mail.example/inbox',
    });
    expect(ev?.pii).toBeUndefined();
    expect(ev?.params).toBeUndefined();
    const raw = JSON.stringify(ev);
    for (const secret of ['alice', 'secret123', 'abc999', 'step2', 'utm_source', 'G-1'])
      expect(raw).not.toContain(secret);
  });

  test('with consent, attribution parameters are in clear and the whole URL only encrypted', async () => {
    expect((await hit('consented-url')).status).toBe(200);
    const ev = await find('consented-url');
    expect(ev).toMatchObject({ consent: 'full', url: 'https://shop.example/reset' });
    expect(ev?.params).toEqual({ utm_source: 'news', gclid: 'G-1' });
    const raw = JSON.stringify(ev);
    for (const secret of ['alice', 'secret123', 'abc999', 'step2']) expect(raw).not.toContain(secret);
    const pii = await h.server.runtime.dataKeys.decryptFields(h.seed.accountId, ev!.pii!);
    expect(pii).toMatchObject({ url: PAGE, referrer: REFERRER });
  });

  test('credentials in a URL never reach the clear part', async () => {
    const res = await fetch(
      `${h.url}/p.gif?a=${h.seed.accountId}&c=${h.seed.campaignId}&n=userinfo` +
        `&u=${encodeURIComponent('https://bob:hunter2@shop.example/a')}`,
      { headers: { 'user-agent': BROWSER_USER_AGENT, dnt: '1' } },
    );
    expect(res.status).toBe(200);
    const ev = await find('userinfo');
    expect(ev?.url).toBe('https://shop.example/a');
    expect(JSON.stringify(ev)).not.toContain('hunter2');
  });

  test('a campaign may name its own attribution parameters', async () => {
    const acc = await addAccount(h.server.runtime.directory, 'acc_params0001', {
      campaign: { urlParams: ['ref', 'aff_*'] },
    });
    const page = 'https://shop.example/p?ref=partner7&aff_id=9&utm_source=x&q=private';
    const res = await fetch(
      `${h.url}/p.gif?a=${acc.accountId}&c=${acc.campaignId}&n=own-params&u=${encodeURIComponent(page)}`,
      { headers: { 'user-agent': BROWSER_USER_AGENT } },
    );
    expect(res.status).toBe(200);
    expect((await find('own-params'))?.params).toEqual({ ref: 'partner7', aff_id: '9' });
  });
});

describe('the opt-out cookie', () => {
  test.each([
    ['plain', 'ts_optout=1'],
    ['quoted, as RFC 6265 allows', 'ts_optout="1"'],
    ['among others, with spaces', 'theme=dark ; ts_optout = "1"; x=y'],
  ])('%s withholds consent', async (label, cookie) => {
    const name = `cookie-${label.split(' ')[0]!.replace(/,/g, '')}`;
    const res = await fetch(`${h.url}/p.gif?a=${h.seed.accountId}&c=${h.seed.campaignId}&n=${name}&cid=c-1`, {
      headers: { 'user-agent': BROWSER_USER_AGENT, cookie },
    });
    expect(res.status).toBe(200);
    const ev = await find(name);
    expect(ev).toMatchObject({ consent: 'anonymous' });
    expect(ev?.pii).toBeUndefined();
  });
});

describe("a campaign's allowed origins", () => {
  let shop: Awaited<ReturnType<typeof addAccount>>;
  beforeAll(async () => {
    shop = await addAccount(h.server.runtime.directory, 'acc_origins001', {
      campaign: { allowedOrigins: ['https://shop.example', 'https://*.shop-cdn.example'] },
    });
  });
  const beacon = (name: string, headers: Record<string, string>) =>
    fetch(`${h.url}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_USER_AGENT, ...headers },
      body: JSON.stringify({ accountId: shop.accountId, campaignId: shop.campaignId, type: 'click', name }),
    });

  test.each([
    ['the allowed origin', { origin: 'https://shop.example' }, 1],
    ['a subdomain matching a wildcard', { origin: 'https://eu.shop-cdn.example' }, 1],
    ['another site', { origin: 'https://evil.example' }, 0],
    ['the wildcard domain itself', { origin: 'https://shop-cdn.example' }, 0],
    ['a lookalike suffix', { origin: 'https://shop.example.evil.example' }, 0],
    ['no Origin and no Referer', {}, 0],
    ['a Referer of another site', { referer: 'https://evil.example/page' }, 0],
    ['a Referer of the allowed origin', { referer: 'https://shop.example/cart?x=1' }, 1],
    ["the service's own document (the iframe tag)", { 'sec-fetch-site': 'same-origin' }, 1],
  ])('a beacon from %s', async (label, headers, storedCount) => {
    const name = `origin-${label.replace(/[^a-z]+/gi, '-').slice(0, 40)}`;
    const res = await beacon(name, headers as Record<string, string>);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ received: 1, stored: storedCount });
    expect((await stored()).filter((e) => e.name === name)).toHaveLength(storedCount);
  });

  test('the pixel checks the Referer; the iframe tag checks the page that embeds it', async () => {
    const pixel = (name: string, referer: string) =>
      fetch(`${h.url}/p.gif?a=${shop.accountId}&c=${shop.campaignId}&n=${name}`, {
        headers: { 'user-agent': BROWSER_USER_AGENT, referer },
      });
    expect((await pixel('px-ok', 'https://shop.example/')).status).toBe(200);
    expect((await pixel('px-evil', 'https://evil.example/')).status).toBe(200);
    expect((await find('px-ok'))?.campaignId).toBe(shop.campaignId);
    expect(await find('px-evil')).toBeUndefined();
    const iframe = (referer: string) =>
      fetch(`${h.url}/i?a=${shop.accountId}&c=${shop.campaignId}`, { headers: { referer } });
    expect((await iframe('https://shop.example/landing')).status).toBe(200);
    const refused = await iframe('https://evil.example/');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'origin_not_allowed' });
  });

  test('postbacks are server to server: origins do not apply', async () => {
    const res = await fetch(`${h.url}/postback?campaignId=${shop.campaignId}&clickId=srv-1`, {
      headers: { authorization: `Bearer ${shop.apiKey}`, origin: 'https://evil.example' },
    });
    expect(res.status).toBe(202);
  });
});

describe('campaign configs of two accounts with the same campaign id', () => {
  test('each account serves its own document; neither can take the other over', async () => {
    const one = await addAccount(h.server.runtime.directory, 'acc_samecmp001', {
      campaignId: 'cmp_black-friday',
      dataDir: h.dataDir,
    });
    const two = await addAccount(h.server.runtime.directory, 'acc_samecmp002', {
      campaignId: 'cmp_black-friday',
      dataDir: h.dataDir,
    });
    const get = async (account: string) =>
      (await (await fetch(`${h.url}/config/${account}/cmp_black-friday.json`)).json()) as {
        accountId: string;
      };
    expect((await get(one.accountId)).accountId).toBe(one.accountId);
    expect((await get(two.accountId)).accountId).toBe(two.accountId);
  });
});

describe('readiness', () => {
  test('a failing check is named, its reason (paths, messages) only logged', async () => {
    const file = join(h.dataDir, 'directory.json');
    const saved = await readFile(file);
    await writeFile(file, '{"version":1,"items":[');
    try {
      const res = await fetch(`${h.url}/readyz`);
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        status: 'not_ready',
        checks: { sink: 'ok', keyProvider: 'ok', directory: 'failed' },
      });
      expect(text).not.toContain(h.dataDir);
      expect(text).not.toMatch(/JSON|directory\.json/);
    } finally {
      await writeFile(file, saved);
    }
  });
});
