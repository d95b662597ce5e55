/**
 * The limits an operator sets through the ingest environment: the variables' defaults are today's
 * `LIMITS`, bad values are refused naming the variable (a key cache above 60 s with the reason), and the
 * runtime builds its limiters and its status cache from them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIMITS } from '../../../platform';
import { ingestLimitEnvironment, parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { parseApiKey } from '../../../services/shared/api-keys';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { seedDemo } from '../../../services/ingest/src/local/seed';
import type { HitContext } from '../../../services/ingest/src/pipeline/pipeline';
import { createRuntime, type Runtime } from '../../../services/ingest/src/runtime';

/** The message `parseIngestEnv` throws for `env`. */
function refusal(env: Record<string, string>): string {
  try {
    parseIngestEnv(env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('ingest environment: the limits', () => {
  test('unset, they are today’s values', () => {
    const env = parseIngestEnv({});
    expect({
      ip: env.TS_IP_RATE_PER_SECOND,
      key: env.TS_KEY_RATE_PER_SECOND,
      postbackIp: env.TS_POSTBACK_IP_RATE_PER_SECOND,
      burst: env.TS_RATE_BURST_SECONDS,
      cache: env.TS_KEY_CACHE_SECONDS,
    }).toEqual({ ip: 50, key: 200, postbackIp: 200, burst: 10, cache: 60 });
    expect(env.TS_IP_RATE_PER_SECOND).toBe(LIMITS.ipRatePerSecond);
    expect(env.TS_KEY_CACHE_SECONDS).toBe(LIMITS.keyStatusCacheSeconds);
  });

  test('set, they are read as numbers', () => {
    const env = parseIngestEnv({
      TS_IP_RATE_PER_SECOND: '5',
      TS_KEY_RATE_PER_SECOND: '7',
      TS_POSTBACK_IP_RATE_PER_SECOND: '9',
      TS_RATE_BURST_SECONDS: '2',
      TS_KEY_CACHE_SECONDS: '5',
    });
    expect(env).toMatchObject({
      TS_IP_RATE_PER_SECOND: 5,
      TS_KEY_RATE_PER_SECOND: 7,
      TS_POSTBACK_IP_RATE_PER_SECOND: 9,
      TS_RATE_BURST_SECONDS: 2,
      TS_KEY_CACHE_SECONDS: 5,
    });
  });

  test('a key cache above 60 s is refused with the reason: a revoked key must be refused within 60 s', () => {
    expect(refusal({ TS_KEY_CACHE_SECONDS: '61' })).toContain(
      'TS_KEY_CACHE_SECONDS: must be at most 60 seconds: a revoked API key or an expired account must be refused everywhere within 60 s',
    );
    expect(parseIngestEnv({ TS_KEY_CACHE_SECONDS: '60' }).TS_KEY_CACHE_SECONDS).toBe(60);
  });

  test.each([
    ['TS_KEY_CACHE_SECONDS', '0', 'must be at least 1 second'],
    ['TS_KEY_CACHE_SECONDS', '-5', 'must be a whole number of seconds from 1 to 60'],
    ['TS_KEY_CACHE_SECONDS', '2.5', 'must be a whole number of seconds from 1 to 60'],
    ['TS_IP_RATE_PER_SECOND', '0', 'must be at least 1'],
    ['TS_IP_RATE_PER_SECOND', '-1', 'must be a whole number'],
    ['TS_KEY_RATE_PER_SECOND', 'fast', 'must be a whole number'],
    ['TS_POSTBACK_IP_RATE_PER_SECOND', '100001', 'must be at most 100000'],
    ['TS_RATE_BURST_SECONDS', '0', 'must be at least 1'],
    ['TS_RATE_BURST_SECONDS', '3601', 'must be at most 3600'],
  ])('%s=%s is refused naming the variable', (variable, value, message) => {
    expect(refusal({ [variable]: value })).toContain(`${variable}: ${message}`);
  });

  test('the stage configuration’s limits map onto the variables, which the service accepts', () => {
    const vars = ingestLimitEnvironment({
      ingestIpRatePerSecond: 5,
      ingestKeyRatePerSecond: 7,
      ingestPostbackIpRatePerSecond: 9,
      ingestRateBurstSeconds: 2,
      ingestKeyCacheSeconds: 30,
    });
    expect(vars).toEqual({
      TS_IP_RATE_PER_SECOND: '5',
      TS_KEY_RATE_PER_SECOND: '7',
      TS_POSTBACK_IP_RATE_PER_SECOND: '9',
      TS_RATE_BURST_SECONDS: '2',
      TS_KEY_CACHE_SECONDS: '30',
    });
    expect(parseIngestEnv(vars).TS_KEY_CACHE_SECONDS).toBe(30);
  });
});

describe('the runtime builds its limits from the environment', () => {
  const start = Date.parse('2026-06-01T12:00:00Z');
  let now = start;
  let dataDir: string;
  let directory: LocalDirectory;
  let runtime: Runtime | undefined;

  beforeEach(async () => {
    now = start;
    // The limiters and the status cache read Date.now when built; a fixed clock makes refills exact.
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    dataDir = await mkdtemp(join(tmpdir(), 'trackstack-limits-env-'));
    directory = new LocalDirectory({ dataDir });
  });

  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    jest.restoreAllMocks();
    await rm(dataDir, { recursive: true, force: true });
  });

  const startRuntime = async (vars: Record<string, string>) => {
    const env = parseIngestEnv({ TS_DATA_DIR: dataDir, TS_LOG_LEVEL: 'silent', ...vars });
    runtime = await createRuntime(env, { directory });
    return runtime;
  };

  /** How many of `n` hits from one IP, at one instant, the runtime's per-IP limiter admits. */
  const admitted = (rt: Runtime, n: number) => {
    const ctx = { ip: '203.0.113.7' } as HitContext;
    return Array.from({ length: n }, () => rt.handlers.ipAllowed(ctx)).filter(Boolean).length;
  };

  test('TS_IP_RATE_PER_SECOND=5: 50 of 70 hits pass (ten seconds’ worth), then one a fifth of a second', async () => {
    const rt = await startRuntime({ TS_IP_RATE_PER_SECOND: '5' });
    expect(admitted(rt, 70)).toBe(50);
    now += 1000;
    expect(admitted(rt, 10)).toBe(5);
  });

  test('unset, the per-IP rate is today’s: all 70 pass', async () => {
    const rt = await startRuntime({});
    expect(admitted(rt, 70)).toBe(70);
    expect(admitted(rt, 500)).toBe(LIMITS.ipRatePerSecond * LIMITS.rateBurstSeconds - 70);
  });

  test('TS_RATE_BURST_SECONDS sizes the bucket: 5/s with 2 s of burst lets 10 through', async () => {
    const rt = await startRuntime({ TS_IP_RATE_PER_SECOND: '5', TS_RATE_BURST_SECONDS: '2' });
    expect(admitted(rt, 70)).toBe(10);
  });

  test('TS_KEY_RATE_PER_SECOND and TS_POSTBACK_IP_RATE_PER_SECOND limit postbacks by key and by address', async () => {
    const seed = await seedDemo(directory, dataDir, new Date(now));
    const key = { key: seed.apiKey ?? '', in: 'header' as const };
    const rt = await startRuntime({
      TS_KEY_RATE_PER_SECOND: '2',
      TS_POSTBACK_IP_RATE_PER_SECOND: '3',
      TS_RATE_BURST_SECONDS: '1',
    });
    const from = (ip: string) =>
      ({ headers: {}, socket: { remoteAddress: ip } }) as unknown as IncomingMessage;
    // The key's 2 pass from two addresses; its third is over the key's rate.
    expect(await rt.handlers.authenticate(from('198.51.100.1'), key, 'r1')).toMatchObject({ ok: true });
    expect(await rt.handlers.authenticate(from('198.51.100.2'), key, 'r2')).toMatchObject({ ok: true });
    expect(await rt.handlers.authenticate(from('198.51.100.3'), key, 'r3')).toMatchObject({
      status: 429,
      reason: 'key_rate_limited',
    });
    // One address's postbacks: 3 pass (whatever the key answers), the fourth is over the address's rate.
    const bad = { key: 'tsk_nosuchkey01_secret', in: 'header' as const };
    for (const id of ['a', 'b', 'c'])
      expect(await rt.handlers.authenticate(from('198.51.100.9'), bad, id)).not.toMatchObject({
        reason: 'address_throttled',
      });
    expect(await rt.handlers.authenticate(from('198.51.100.9'), bad, 'd')).toMatchObject({
      status: 429,
      message: 'too many postbacks from this address',
    });
  });

  test('TS_KEY_CACHE_SECONDS=5: a revoked key is refused once 5 s have passed, not before', async () => {
    const seed = await seedDemo(directory, dataDir, new Date(now));
    if (!seed.apiKey) throw new Error('seeding a fresh folder must create an API key');
    const keyId = parseApiKey(seed.apiKey)?.keyId ?? '';
    const rt = await startRuntime({ TS_KEY_CACHE_SECONDS: '5' });
    const req = { headers: {}, socket: { remoteAddress: '198.51.100.4' } } as unknown as IncomingMessage;
    const postback = () => rt.handlers.authenticate(req, { key: seed.apiKey ?? '', in: 'header' }, 'req-1');

    expect(await postback()).toMatchObject({ ok: true, keyId });
    const record = await directory.getApiKey(keyId);
    if (!record) throw new Error('the seeded key must be in the directory');
    await directory.putApiKey({ ...record, status: 'revoked', revokedAt: new Date(now).toISOString() });

    now += 4_900;
    expect(await postback()).toMatchObject({ ok: true });
    now += 200;
    expect(await postback()).toMatchObject({ ok: false, status: 401 });
  });

  test('unset, a revoked key is still trusted from the cache at 59 s and refused after 60 s', async () => {
    const seed = await seedDemo(directory, dataDir, new Date(now));
    const keyId = parseApiKey(seed.apiKey ?? '')?.keyId ?? '';
    const rt = await startRuntime({});
    const req = { headers: {}, socket: { remoteAddress: '198.51.100.5' } } as unknown as IncomingMessage;
    const postback = () => rt.handlers.authenticate(req, { key: seed.apiKey ?? '', in: 'header' }, 'req-2');

    expect(await postback()).toMatchObject({ ok: true });
    const record = await directory.getApiKey(keyId);
    if (!record) throw new Error('the seeded key must be in the directory');
    await directory.putApiKey({ ...record, status: 'revoked', revokedAt: new Date(now).toISOString() });
    now += 59_000;
    expect(await postback()).toMatchObject({ ok: true });
    now += 1_100;
    expect(await postback()).toMatchObject({ ok: false, status: 401 });
  });
});
