/**
 * The ingest origin's side of the edge, over real HTTP on embedded defaults: the body hash a POST declares
 * in `x-amz-content-sha256` (what Lambda checks behind CloudFront's origin access control), the account a
 * hit names in `a` (what the edge routes by), and the API-key header that survives the CDN. Every case runs
 * against both ways the service is served: the lean listener (`npm run local`, containers) and the express
 * app alone (what Lambda runs through serverless-express).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TokenBucketLimiter } from '../../../services/ingest/src/pipeline/limits';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { addAccount, parseEvents, type SeededAccount } from '../../support/ingest-factories';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');
const unlimited = () => new TokenBucketLimiter({ ratePerSecond: 1e6 });

let h: IngestHarness;
let expressOnly: Server;
let other: SeededAccount;
const servers: Record<'lean' | 'express', string> = { lean: '', express: '' };

beforeAll(async () => {
  h = await startIngest(
    {},
    {
      ipLimiter: unlimited(),
      keyLimiter: unlimited(),
      postbackIpLimiter: unlimited(),
      authFailureLimiter: unlimited(),
    },
  );
  other = await addAccount(h.server.runtime.directory, 'acc_otheraccount1');
  expressOnly = createServer(h.server.runtime.app);
  await new Promise<void>((r) => expressOnly.listen(0, '127.0.0.1', r));
  servers.lean = h.url;
  servers.express = `http://127.0.0.1:${(expressOnly.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => expressOnly?.close(r));
  await h?.close();
});

async function storedNames(): Promise<string[]> {
  await h.server.runtime.sink.flush();
  return parseEvents(await readFileSinkEvents(join(h.dataDir, 'events'))).map((e) => e.name ?? '');
}

const beacon = (accountId: string, name: string) =>
  JSON.stringify({ accountId, campaignId: 'cmp_demo-campaign', events: [{ type: 'click', name }] });

function collect(base: string, body: string, headers: Record<string, string> = {}, query = '') {
  return fetch(`${base}/collect${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_USER_AGENT, ...headers },
    body,
  });
}

describe.each(['lean', 'express'] as const)('through the %s path', (path) => {
  const base = () => servers[path];
  const tag = (what: string) => `${path}-${what}`;

  test('POST /collect: a matching body hash is taken, absent too; a mismatch is refused naming the header', async () => {
    const good = beacon(h.seed.accountId, tag('hash-ok'));
    const ok = await collect(base(), good, { 'x-amz-content-sha256': sha256(good) });
    expect(ok.status).toBe(202);
    const none = beacon(h.seed.accountId, tag('hash-absent'));
    expect((await collect(base(), none)).status).toBe(202);

    const sent = beacon(h.seed.accountId, tag('hash-mismatch'));
    const other = beacon(h.seed.accountId, tag('something-else'));
    const bad = await collect(base(), sent, { 'x-amz-content-sha256': sha256(other) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: 'invalid_request',
      field: 'x-amz-content-sha256',
      message: expect.stringContaining(sha256(sent)),
    });
    const names = await storedNames();
    expect(names).toEqual(expect.arrayContaining([tag('hash-ok'), tag('hash-absent')]));
    expect(names).not.toContain(tag('hash-mismatch'));
  });

  test('POST /collect: a malformed hash or UNSIGNED-PAYLOAD is refused before the body is taken', async () => {
    const body = beacon(h.seed.accountId, tag('hash-malformed'));
    for (const value of [sha256(body).toUpperCase(), sha256(body).slice(1), 'UNSIGNED-PAYLOAD']) {
      const res = await collect(base(), body, { 'x-amz-content-sha256': value });
      expect(res.status).toBe(400);
      const json = (await res.json()) as { field: string; message: string };
      expect(json.field).toBe('x-amz-content-sha256');
      if (value === 'UNSIGNED-PAYLOAD') expect(json.message).toMatch(/UNSIGNED-PAYLOAD is not accepted/);
      else expect(json.message).toMatch(/64 lowercase hex digits/);
    }
    expect(await storedNames()).not.toContain(tag('hash-malformed'));
  });

  test('POST /postback: the body hash is checked too; a GET postback needs no header', async () => {
    const post = (body: string, hash: string) =>
      fetch(`${base()}/postback?a=${h.seed.accountId}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': h.seed.apiKey,
          'x-amz-content-sha256': hash,
        },
        body,
      });
    const body = JSON.stringify({ campaignId: h.seed.campaignId, clickId: tag('pb-ok'), name: tag('pb-ok') });
    expect((await post(body, sha256(body))).status).toBe(202);
    const wrong = JSON.stringify({
      campaignId: h.seed.campaignId,
      clickId: tag('pb-bad'),
      name: tag('pb-bad'),
    });
    const refused = await post(wrong, sha256(body));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ field: 'x-amz-content-sha256' });
    const unsigned = await post(wrong, 'UNSIGNED-PAYLOAD');
    expect(unsigned.status).toBe(400);

    const get = await fetch(
      `${base()}/postback?a=${h.seed.accountId}&campaignId=${h.seed.campaignId}&clickId=${tag('pb-get')}&name=${tag('pb-get')}`,
      { headers: { 'x-api-key': h.seed.apiKey } },
    );
    expect(get.status).toBe(202);
    const names = await storedNames();
    expect(names).toEqual(expect.arrayContaining([tag('pb-ok'), tag('pb-get')]));
    expect(names).not.toContain(tag('pb-bad'));
  });

  test('/collect?a= must be well formed and the account of every event of the batch', async () => {
    const batch = JSON.stringify({
      campaignId: 'cmp_demo-campaign',
      events: [
        { accountId: h.seed.accountId, type: 'click', name: tag('a-batch-1') },
        { accountId: other.accountId, type: 'click', name: tag('a-batch-2') },
      ],
    });
    const mixed = await collect(base(), batch, {}, `?a=${h.seed.accountId}`);
    expect(mixed.status).toBe(400);
    const json = (await mixed.json()) as { field: string; message: string };
    expect(json.field).toBe('a');
    expect(json.message).toContain(other.accountId);

    const malformed = await collect(base(), beacon(h.seed.accountId, tag('a-bad')), {}, '?a=ACC_Nope');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ field: 'a' });
    const twice = `?a=${h.seed.accountId}&a=${h.seed.accountId}`;
    expect((await collect(base(), beacon(h.seed.accountId, tag('a-twice')), {}, twice)).status).toBe(400);

    const agreeing = await collect(
      base(),
      beacon(h.seed.accountId, tag('a-ok')),
      {},
      `?a=${h.seed.accountId}`,
    );
    expect(agreeing.status).toBe(202);
    const names = await storedNames();
    expect(names).toContain(tag('a-ok'));
    expect(names).not.toContain(tag('a-batch-1'));
    expect(names).not.toContain(tag('a-bad'));
  });

  test("/postback?a= must be the API key's account", async () => {
    const url = (a: string, name: string) =>
      `${base()}/postback?a=${a}&campaignId=${h.seed.campaignId}&clickId=${name}&name=${name}`;
    const res = await fetch(url(other.accountId, tag('pb-other')), {
      headers: { 'x-api-key': h.seed.apiKey },
    });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { field: string; message: string };
    expect(json.field).toBe('a');
    expect(json.message).toContain(h.seed.accountId);
    const malformed = await fetch(url('nope', tag('pb-nope')), { headers: { 'x-api-key': h.seed.apiKey } });
    expect(await malformed.json()).toMatchObject({ field: 'a' });
    expect(await storedNames()).not.toContain(tag('pb-other'));
  });

  test('the pixel: `a` is the account, and a bad one is named by its parameter', async () => {
    const res = await fetch(`${base()}/p.gif?a=acc_X&c=${h.seed.campaignId}`, {
      headers: { 'user-agent': BROWSER_USER_AGENT },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      field: 'accountId',
      message: expect.stringContaining('(query parameter a)'),
    });
  });

  test('a missing API key is answered with x-api-key first (the CDN overwrites Authorization)', async () => {
    const res = await fetch(`${base()}/postback?campaignId=${h.seed.campaignId}&clickId=${tag('nokey')}`);
    expect(res.status).toBe(401);
    const { message } = (await res.json()) as { message: string };
    expect(message).toContain('x-api-key');
    expect(message.indexOf('x-api-key')).toBeLessThan(message.indexOf('Authorization'));
    // What origin access control leaves in Authorization (its own signature) does not hide the key.
    const signed = await fetch(
      `${base()}/postback?a=${h.seed.accountId}&campaignId=${h.seed.campaignId}&clickId=${tag('oac')}`,
      {
        headers: {
          authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda/aws4_request',
          'x-api-key': h.seed.apiKey,
        },
      },
    );
    expect(signed.status).toBe(202);
  });
});

test('a cross-origin beacon may carry the hash header: the preflight allows it', async () => {
  const res = await fetch(`${h.url}/collect?a=${h.seed.accountId}`, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://shop.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-amz-content-sha256',
    },
  });
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-headers')).toMatch(/x-amz-content-sha256/);
  // The beacon carries cookies (the opt-out cookie), which browsers allow only with the origin echoed.
  expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  expect(res.headers.get('vary')).toMatch(/origin/i);
});

test('the iframe document posts to /collect with the account as a and the body hash', async () => {
  const res = await fetch(`${h.url}/i?a=${h.seed.accountId}&c=${h.seed.campaignId}&e=impression`);
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain(`"collect?a=${h.seed.accountId}"`);
  expect(html).toContain('"x-amz-content-sha256": hex');
});
