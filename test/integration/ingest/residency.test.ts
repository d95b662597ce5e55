/**
 * Data residency at the origin: an instance refuses, with 421 and before anything is stored, every hit of
 * an account whose home location is elsewhere, whether the stage configuration (`TS_HOME_LOCATIONS`) or the
 * account's directory record names it. The edge routes residents home; this is what holds when a request
 * reaches the wrong region anyway (a forged `a`, a stale edge store, a direct call). Over real HTTP, on
 * both the lean listener and the express app alone.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TokenBucketLimiter } from '../../../services/ingest/src/pipeline/limits';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { addAccount, type SeededAccount } from '../../support/ingest-factories';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

const unlimited = () => new TokenBucketLimiter({ ratePerSecond: 1e6 });

let h: IngestHarness;
let expressOnly: Server;
const servers: Record<'lean' | 'express', string> = { lean: '', express: '' };
/** Resident in Europe by the stage configuration. */
let europeByEnv: SeededAccount;
/** Resident in Asia-Pacific by its directory record. */
let apacByRecord: SeededAccount;
/** Resident here (the Americas) by its directory record. */
let homeHere: SeededAccount;
/** Here by the stage configuration, though its record says Europe: the configuration wins. */
let configWins: SeededAccount;

beforeAll(async () => {
  h = await startIngest(
    {
      TS_LOCATION: 'americas',
      TS_HOME_LOCATIONS: JSON.stringify({ acc_europeenv01: 'europe', acc_configwins1: 'americas' }),
    },
    {
      ipLimiter: unlimited(),
      keyLimiter: unlimited(),
      postbackIpLimiter: unlimited(),
      authFailureLimiter: unlimited(),
    },
  );
  const dir = h.server.runtime.directory;
  europeByEnv = await addAccount(dir, 'acc_europeenv01');
  apacByRecord = await addAccount(dir, 'acc_apacrecord1', { account: { homeLocation: 'apac' } });
  homeHere = await addAccount(dir, 'acc_homehere001', { account: { homeLocation: 'americas' } });
  configWins = await addAccount(dir, 'acc_configwins1', { account: { homeLocation: 'europe' } });
  expressOnly = createServer(h.server.runtime.app);
  await new Promise<void>((r) => expressOnly.listen(0, '127.0.0.1', r));
  servers.lean = h.url;
  servers.express = `http://127.0.0.1:${(expressOnly.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => expressOnly?.close(r));
  await h?.close();
});

async function storedCount(): Promise<number> {
  await h.server.runtime.sink.flush();
  return (await readFileSinkEvents(join(h.dataDir, 'events'))).length;
}

const browser = { 'user-agent': BROWSER_USER_AGENT };

async function expectMisdirected(res: Response, account: SeededAccount, home: string): Promise<void> {
  expect(res.status).toBe(421);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toMatchObject({
    error: 'misdirected',
    message: expect.stringContaining(`account ${account.accountId} is resident in ${home}`),
  });
}

describe.each(['lean', 'express'] as const)('through the %s path', (path) => {
  const base = () => servers[path];

  test.each([
    ['the stage configuration', () => europeByEnv, 'europe'],
    ['its directory record', () => apacByRecord, 'apac'],
  ])(
    'an account resident elsewhere by %s gets 421 on every hit route, and nothing is stored',
    async (_by, account, home) => {
      const acc = account();
      const before = await storedCount();
      const misdirectedBefore = h.server.runtime.metrics.snapshot()['rejects.misdirected'] ?? 0;
      const q = `a=${acc.accountId}&c=${acc.campaignId}`;
      // The pixel: a JSON 421, not the GIF.
      await expectMisdirected(await fetch(`${base()}/p.gif?${q}`, { headers: browser }), acc, home);
      await expectMisdirected(await fetch(`${base()}/i?${q}`, { headers: browser }), acc, home);
      const beacon = JSON.stringify({
        accountId: acc.accountId,
        campaignId: acc.campaignId,
        events: [{}, {}],
      });
      const collect = await fetch(`${base()}/collect?a=${acc.accountId}`, {
        method: 'POST',
        headers: { ...browser, 'content-type': 'text/plain' },
        body: beacon,
      });
      await expectMisdirected(collect, acc, home);
      const postback = await fetch(
        `${base()}/postback?a=${acc.accountId}&campaignId=${acc.campaignId}&clickId=res-${path}`,
        { headers: { 'x-api-key': acc.apiKey } },
      );
      await expectMisdirected(postback, acc, home);
      expect(await storedCount()).toBe(before);
      // Five events refused: the pixel, the iframe, the batch of two, the postback. At least: the Fetch
      // standard (undici here, browsers alike) retries a 421 once on a new connection, refused again.
      expect(h.server.runtime.metrics.snapshot()['rejects.misdirected']).toBeGreaterThanOrEqual(
        misdirectedBefore + 5,
      );
    },
  );

  test('a batch mixing a resident elsewhere with an account at home is refused whole; accounts at home are stored', async () => {
    const before = await storedCount();
    const batch = JSON.stringify({
      campaignId: 'cmp_spring',
      events: [
        { accountId: homeHere.accountId, type: 'click' },
        { accountId: europeByEnv.accountId, type: 'click' },
      ],
    });
    const res = await fetch(`${base()}/collect`, {
      method: 'POST',
      headers: { ...browser, 'content-type': 'text/plain' },
      body: batch,
    });
    await expectMisdirected(res, europeByEnv, 'europe');
    expect(await storedCount()).toBe(before);

    // At home by its record, by the configuration over its record, and without any home: all stored.
    for (const acc of [
      homeHere,
      configWins,
      { accountId: h.seed.accountId, campaignId: h.seed.campaignId },
    ]) {
      const pixel = await fetch(`${base()}/p.gif?a=${acc.accountId}&c=${acc.campaignId}`, {
        headers: browser,
      });
      expect(pixel.status).toBe(200);
      expect(pixel.headers.get('content-type')).toBe('image/gif');
    }
    expect(await storedCount()).toBe(before + 3);
  });
});
