/**
 * The per-API-key signal of breach detection: the ingest service, over HTTP on embedded defaults behind a
 * trusted CloudFront (`TS_TRUST_PROXY=cloudfront`), writes one `api key authentication` line per postback
 * authentication (`KEY_AUTH_LOG`), with the key's public id, the outcome and why it failed, the client IP
 * and country CloudFront reported, and the request id; never the key's secret.
 */
import { Writable } from 'node:stream';
import { KEY_AUTH_LOG } from '../../../platform/contracts/incidents';
import { createLogger } from '../../../services/shared/logger';
import { TokenBucketLimiter } from '../../../services/ingest/src/pipeline/limits';
import { addAccount } from '../../support/ingest-factories';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

type Line = Record<string, unknown>;

/** A logger at the level the service runs at by default, whose lines the test reads. */
function capturedLogger() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ service: 'ingest', level: 'info', destination });
  const authLines = (): Line[] =>
    raw
      .join('')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.msg === KEY_AUTH_LOG.message);
  return { logger, raw, authLines };
}

/** Headers CloudFront adds: the viewer's address (with its port) and country. */
const viewer = (ip: string, country: string, requestId: string) => ({
  'cloudfront-viewer-address': `${ip}:51234`,
  'cloudfront-viewer-country': country,
  'x-request-id': requestId,
});

/** The one auth line of a request id (the test fails when there is none or more than one). */
function lineOf(lines: Line[], requestId: string): Line {
  const mine = lines.filter((l) => l.requestId === requestId);
  expect(mine).toHaveLength(1);
  return mine[0] as Line;
}

describe('api key authentication log', () => {
  let h: IngestHarness;
  let log: ReturnType<typeof capturedLogger>;
  let revoked: Awaited<ReturnType<typeof addAccount>>;
  let expired: Awaited<ReturnType<typeof addAccount>>;
  let inUrl: Awaited<ReturnType<typeof addAccount>>;

  beforeAll(async () => {
    log = capturedLogger();
    h = await startIngest(
      { TS_TRUST_PROXY: 'cloudfront' },
      {
        logger: log.logger,
        // Each failure comes from its own address anyway; the budget is lifted so none is throttled.
        authFailureLimiter: new TokenBucketLimiter({ ratePerSecond: 1000, burst: 1000 }),
      },
    );
    const directory = h.server.runtime.directory;
    revoked = await addAccount(directory, 'acc_revokedkey01', {
      key: { status: 'revoked', revokedAt: '2026-02-01T00:00:00.000Z', revokedReason: 'leaked' },
    });
    expired = await addAccount(directory, 'acc_expiredacc01', {
      account: { status: 'expired', expiredAt: '2026-01-15T00:00:00Z' },
    });
    inUrl = await addAccount(directory, 'acc_urlkeyacc001');
  });
  afterAll(() => h.close());

  const postback = (clickId: string, headers: Record<string, string>, query = '') =>
    fetch(`${h.url}/postback?campaignId=cmp_demo-campaign&clickId=${clickId}${query}`, { headers });

  test('a successful postback logs outcome ok with the key id, client IP, country and request id', async () => {
    const res = await postback('ok-1', {
      'x-api-key': h.seed.apiKey,
      ...viewer('198.51.100.7', 'DE', 'req-auth-ok-1'),
    });
    expect(res.status).toBe(202);
    const line = lineOf(log.authLines(), 'req-auth-ok-1');
    expect(line).toMatchObject({
      level: 30, // info: on at the service's default level, and Lambda's INFO filter keeps it
      msg: 'api key authentication',
      keyId: h.seed.apiKey.slice(4, 20),
      outcome: 'ok',
      clientIp: '198.51.100.7',
      country: 'DE',
      requestId: 'req-auth-ok-1',
    });
    expect(line).not.toHaveProperty('reason');
    // The pixel path (no key) writes none: the line costs postbacks only.
    const pixel = await fetch(`${h.url}/p.gif?a=acc_demoaccount&c=cmp_demo-campaign`, {
      headers: { 'user-agent': BROWSER_USER_AGENT, ...viewer('198.51.100.7', 'DE', 'req-pixel-1') },
    });
    expect(pixel.status).toBe(200);
    expect(log.authLines().filter((l) => l.requestId === 'req-pixel-1')).toHaveLength(0);
  });

  test('each refused key logs outcome failed with its reason', async () => {
    const seedKeyId = h.seed.apiKey.slice(4, 20);
    const wrongSecret = `tsk_${seedKeyId}_${'W'.repeat(40)}`;
    const cases: {
      name: string;
      headers: Record<string, string>;
      query?: string;
      status: number;
      reason: string;
      keyId: string | undefined;
    }[] = [
      { name: 'missing', headers: {}, status: 401, reason: 'missing', keyId: undefined },
      {
        name: 'malformed',
        headers: { 'x-api-key': 'tsk_not-a-key' },
        status: 401,
        reason: 'malformed',
        keyId: undefined,
      },
      {
        name: 'unknown',
        headers: { 'x-api-key': `tsk_${'q'.repeat(16)}_${'A'.repeat(40)}` },
        status: 401,
        reason: 'unknown_key',
        keyId: 'q'.repeat(16),
      },
      {
        name: 'wrong',
        headers: { 'x-api-key': wrongSecret },
        status: 401,
        reason: 'wrong_secret',
        keyId: seedKeyId,
      },
      {
        name: 'revoked',
        headers: { 'x-api-key': revoked.apiKey },
        status: 401,
        reason: 'revoked',
        keyId: revoked.keyId,
      },
      {
        name: 'inactive',
        headers: { authorization: `Bearer ${expired.apiKey}` },
        status: 422,
        reason: 'inactive_account',
        keyId: expired.keyId,
      },
      {
        name: 'in-url',
        headers: {},
        query: `&key=${inUrl.apiKey}`,
        status: 401,
        reason: 'url_not_allowed',
        keyId: inUrl.keyId,
      },
    ];
    for (const [i, c] of cases.entries()) {
      const requestId = `req-auth-${c.name}`;
      const res = await postback(
        `fail-${c.name}`,
        { ...c.headers, ...viewer(`203.0.113.${10 + i}`, 'FR', requestId) },
        c.query,
      );
      expect({ case: c.name, status: res.status }).toEqual({ case: c.name, status: c.status });
      const line = lineOf(log.authLines(), requestId);
      expect(line).toMatchObject({
        outcome: 'failed',
        reason: c.reason,
        clientIp: `203.0.113.${10 + i}`,
        country: 'FR',
      });
      // A key with no parseable id logs no keyId at all (not a marker a per-key rule would count).
      if (c.keyId === undefined) expect(line).not.toHaveProperty('keyId');
      else expect(line.keyId).toBe(c.keyId);
    }
  });

  test('a revoked key used with its right secret logs failed/revoked, and is answered as any invalid key', async () => {
    const res = await postback('revoked-2', {
      'x-api-key': revoked.apiKey,
      ...viewer('192.0.2.33', 'NL', 'req-auth-revoked-2'),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthorized', message: 'the API key is not valid' });
    expect(lineOf(log.authLines(), 'req-auth-revoked-2')).toMatchObject({
      keyId: revoked.keyId,
      outcome: 'failed',
      reason: 'revoked',
    });
  });

  test('the line of a wrong secret names the key id but not the secret, and no line of the run holds a secret', async () => {
    const keyId = h.seed.apiKey.slice(4, 20);
    const wrong = `tsk_${keyId}_${'Z'.repeat(40)}`;
    await postback('secret-1', { 'x-api-key': wrong, ...viewer('192.0.2.50', 'IT', 'req-auth-secret-1') });
    // The real secret, in the URL where the key does not allow it.
    await postback(
      'secret-2',
      { ...viewer('192.0.2.51', 'IT', 'req-auth-secret-2') },
      `&key=${h.seed.apiKey}`,
    );
    const line = lineOf(log.authLines(), 'req-auth-secret-1');
    expect(line).toMatchObject({ keyId, outcome: 'failed', reason: 'wrong_secret' });
    expect(JSON.stringify(line)).not.toContain('Z'.repeat(40));
    const all = log.raw.join('');
    for (const key of [wrong, h.seed.apiKey, revoked.apiKey, expired.apiKey, inUrl.apiKey])
      expect(all).not.toContain(key.slice(21));
  });
});

describe('throttled attempts are logged too', () => {
  test('an address over its failed-attempt budget, and a key over its rate, log failed with why', async () => {
    const log = capturedLogger();
    const h = await startIngest(
      { TS_TRUST_PROXY: 'cloudfront' },
      {
        logger: log.logger,
        authFailureLimiter: new TokenBucketLimiter({ ratePerSecond: 0.001, burst: 1 }),
        keyLimiter: new TokenBucketLimiter({ ratePerSecond: 0.001, burst: 1 }),
      },
    );
    try {
      const keyId = h.seed.apiKey.slice(4, 20);
      const send = (key: string, ip: string, requestId: string) =>
        fetch(`${h.url}/postback?campaignId=cmp_demo-campaign&clickId=${requestId}`, {
          headers: { 'x-api-key': key, ...viewer(ip, 'PL', requestId) },
        });
      const guess = `tsk_${keyId}_${'G'.repeat(40)}`;
      expect((await send(guess, '198.51.100.90', 'req-t-1')).status).toBe(401);
      // The budget is spent: the next guess from the address is not looked at.
      expect((await send(guess, '198.51.100.90', 'req-t-2')).status).toBe(429);
      expect((await send(h.seed.apiKey, '198.51.100.91', 'req-t-3')).status).toBe(202);
      expect((await send(h.seed.apiKey, '198.51.100.91', 'req-t-4')).status).toBe(429);
      const lines = log.authLines();
      expect(lineOf(lines, 'req-t-1')).toMatchObject({ keyId, outcome: 'failed', reason: 'wrong_secret' });
      expect(lineOf(lines, 'req-t-2')).toMatchObject({
        keyId,
        outcome: 'failed',
        reason: 'address_throttled',
      });
      expect(lineOf(lines, 'req-t-3')).toMatchObject({ keyId, outcome: 'ok' });
      expect(lineOf(lines, 'req-t-4')).toMatchObject({
        keyId,
        outcome: 'failed',
        reason: 'key_rate_limited',
      });
    } finally {
      await h.close();
    }
  });
});
