/**
 * Conversion de-duplication: a browser-side (unauthenticated) conversion never suppresses an authenticated
 * postback, the name never makes one conversion count twice, and a conversion counts once across
 * instances and restarts, through the directory (the local file on embedded defaults, DynamoDB on moto).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DataKeyService } from '../../../services/ingest/src/crypto/data-keys';
import { LocalKeyProvider } from '../../../services/ingest/src/crypto/local-key-provider';
import type { Directory } from '../../../services/shared/directory/directory';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { Metrics } from '../../../services/ingest/src/metrics';
import { IngestPipeline, type HitContext } from '../../../services/ingest/src/pipeline/pipeline';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { startServer } from '../../../services/ingest/src/server';
import { motoEndpoint } from '../../support/env';
import { addAccount, parseEvents } from '../../support/ingest-factories';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';
import { motoClientConfig } from '../../../tooling/moto';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

describe('over HTTP on embedded defaults', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngest();
  });
  afterAll(() => h.close());

  const stored = async () => {
    await h.server.runtime.sink.flush();
    return parseEvents(await readFileSinkEvents(join(h.dataDir, 'events')));
  };
  const pixel = (query: string) =>
    fetch(`${h.url}/p.gif?a=${h.seed.accountId}&c=${h.seed.campaignId}&${query}`, {
      headers: { 'user-agent': BROWSER_USER_AGENT },
    });
  const postback = (query: string) =>
    fetch(`${h.url}/postback?campaignId=${h.seed.campaignId}&${query}`, {
      headers: { authorization: `Bearer ${h.seed.apiKey}` },
    });

  test('an unauthenticated zero-value pixel cannot cancel the authenticated sale that follows', async () => {
    expect((await pixel('e=conversion&cid=CLICK-777&v=0')).status).toBe(200);
    const sale = await postback('clickId=CLICK-777&value=250');
    expect(sale.status).toBe(202);
    expect(await sale.json()).toMatchObject({ status: 'stored' });
    const conversions = (await stored()).filter((e) => e.type === 'conversion' && e.value !== undefined);
    const sales = conversions.filter((e) => e.source === 'postback');
    expect(sales).toHaveLength(1);
    expect(sales[0]?.value).toBe(250);
    // The postback is authenticated, so it supersedes the browser's; a second one is a duplicate.
    expect(await (await postback('clickId=CLICK-777&value=250')).json()).toEqual({ status: 'duplicate' });
  });

  test('after an authenticated conversion, the browser-side one of the same click is a duplicate', async () => {
    expect((await postback('clickId=CLICK-888&value=40')).status).toBe(202);
    const before = (await stored()).length;
    expect((await pixel('e=conversion&cid=CLICK-888&v=40')).status).toBe(200);
    expect((await stored()).length).toBe(before);
    expect(h.server.runtime.metrics.snapshot()['rejects.duplicate']).toBeGreaterThanOrEqual(1);
  });

  test('a different name does not make the same conversion count twice', async () => {
    expect((await postback('clickId=CLICK-999&value=10&name=checkout')).status).toBe(202);
    const renamed = await postback('clickId=CLICK-999&value=10&name=thank-you');
    expect(await renamed.json()).toEqual({ status: 'duplicate' });
    expect((await pixel('e=conversion&cid=CLICK-555&n=a')).status).toBe(200);
    expect((await pixel('e=conversion&cid=CLICK-555&n=b')).status).toBe(200);
    const browser = (await stored()).filter((e) => e.type === 'conversion' && e.source === 'pixel');
    expect(browser.filter((e) => e.name === 'a' || e.name === 'b')).toHaveLength(1);
  });

  test('the same postback after a restart of the service is a duplicate', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'trackstack-restart-'));
    const { LocalDirectory: Dir } = await import('../../../services/shared/directory/local-directory');
    const acc = await addAccount(new Dir({ dataDir }), 'acc_restart001', { dataDir });
    const env = parseIngestEnv({ TS_DATA_DIR: dataDir, TS_LOG_LEVEL: 'silent' });
    const send = (url: string) =>
      fetch(`${url}/postback?campaignId=${acc.campaignId}&clickId=order-1&value=5`, {
        headers: { 'x-api-key': acc.apiKey },
      });
    try {
      const first = await startServer({ env, port: 0 });
      expect((await send(first.url)).status).toBe(202);
      await first.shutdown();
      const second = await startServer({ env, port: 0 });
      const again = await send(second.url);
      await second.shutdown();
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ status: 'duplicate' });
      const events = parseEvents(await readFileSinkEvents(join(dataDir, 'events')));
      expect(events.filter((e) => e.type === 'conversion')).toHaveLength(1);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** A pipeline standing for one instance of the service over `directory`, with a real local key file. */
function instance(
  directory: Directory,
  dataDir: string,
  options: { enqueue?: (r: SinkRecord) => Promise<void>; now?: () => number } = {},
): IngestPipeline {
  return new IngestPipeline({
    directory,
    encryptor: new DataKeyService({
      provider: new LocalKeyProvider({ keyFile: join(dataDir, 'master.key') }),
      directory,
      location: 'americas',
    }),
    sink: { enqueue: options.enqueue ?? (async () => undefined) },
    metrics: new Metrics(),
    location: 'americas',
    ...(options.now ? { now: options.now } : {}),
  });
}

/** Two instances over the two directory clients, storing into `sunk`. */
function twoInstances(directories: readonly [Directory, Directory], dataDir: string) {
  const sunk: SinkRecord[] = [];
  const enqueue = async (r: SinkRecord) => void sunk.push(r);
  return {
    sunk,
    a: instance(directories[0], dataDir, { enqueue }),
    b: instance(directories[1], dataDir, { enqueue }),
  };
}

const server: HitContext = { source: 'postback', requestId: 'r', noConsent: false, authenticated: true };
const browser: HitContext = {
  source: 'pixel',
  requestId: 'r',
  noConsent: false,
  userAgent: BROWSER_USER_AGENT,
};
const conversion = (accountId: string, clickId: string) =>
  ({ accountId, campaignId: 'cmp_spring', type: 'conversion', clickId, value: 12 }) as const;

describe.each([
  ['the local directory file shared by two instances', 'local'],
  ['one DynamoDB table on moto read by two instances', 'dynamodb'],
] as const)('across instances: %s', (_what, kind) => {
  let dataDir: string;
  let directories: [Directory, Directory];
  const clients: DynamoDBClient[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'trackstack-dedup-'));
    if (kind === 'local') {
      directories = [new LocalDirectory({ dataDir }), new LocalDirectory({ dataDir })];
    } else {
      const tableName = `trackstack-dedup-${randomBytes(4).toString('hex')}`;
      clients.push(new DynamoDBClient(motoClientConfig(motoEndpoint())));
      clients.push(new DynamoDBClient(motoClientConfig(motoEndpoint())));
      await clients[0]!.send(new CreateTableCommand(directoryTableDefinition(tableName)));
      directories = [
        new DynamoDirectory({ client: clients[0]!, tableName }),
        new DynamoDirectory({ client: clients[1]!, tableName }),
      ];
    }
    await addAccount(directories[0], 'acc_dedup0001');
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a postback stored by one instance is a duplicate on the other', async () => {
    const { sunk, a, b } = twoInstances(directories, dataDir);
    expect(await a.ingest(conversion('acc_dedup0001', 'x-1'), server)).toMatchObject({ stored: true });
    expect(await b.ingest(conversion('acc_dedup0001', 'x-1'), server)).toEqual({
      stored: false,
      reason: 'duplicate',
    });
    expect(sunk).toHaveLength(1);
  });

  test('racing instances store one conversion between them', async () => {
    const { sunk, a, b } = twoInstances(directories, dataDir);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).ingest(conversion('acc_dedup0001', 'race'), server),
      ),
    );
    expect(outcomes.filter((o) => o.stored)).toHaveLength(1);
    expect(sunk).toHaveLength(1);
  });

  test('a browser-side conversion on one instance does not suppress the postback on the other', async () => {
    const { sunk, a, b } = twoInstances(directories, dataDir);
    expect(await a.ingest(conversion('acc_dedup0001', 'mixed'), browser)).toMatchObject({ stored: true });
    expect(await b.ingest(conversion('acc_dedup0001', 'mixed'), server)).toMatchObject({ stored: true });
    expect(await a.ingest(conversion('acc_dedup0001', 'mixed'), browser)).toMatchObject({ stored: false });
    expect(sunk).toHaveLength(2);
  });

  test('a conversion that could not be stored leaves no claim behind: the retry is stored', async () => {
    let down = true;
    const pipeline = instance(directories[0], dataDir, {
      enqueue: async () => {
        if (down) throw new Error('sink and spool both unavailable');
      },
    });
    await expect(pipeline.ingest(conversion('acc_dedup0001', 'retry-me'), server)).rejects.toThrow(
      /unavailable/,
    );
    down = false;
    // Another instance sees no claim either.
    const other = twoInstances(directories, dataDir).b;
    expect(await other.ingest(conversion('acc_dedup0001', 'retry-me'), server)).toMatchObject({
      stored: true,
    });
  });

  test('a claim lapses with the de-duplication window', async () => {
    let t = Date.now();
    const make = () => instance(directories[1], dataDir, { now: () => t });
    expect(await make().ingest(conversion('acc_dedup0001', 'window'), server)).toMatchObject({
      stored: true,
    });
    t += 23 * 3600_000;
    expect(await make().ingest(conversion('acc_dedup0001', 'window'), server)).toMatchObject({
      stored: false,
    });
    t += 2 * 3600_000;
    expect(await make().ingest(conversion('acc_dedup0001', 'window'), server)).toMatchObject({
      stored: true,
    });
  });
});

describe('when the directory fails during a postback', () => {
  let h: IngestHarness;
  let failing = false;
  beforeAll(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'trackstack-flaky-'));
    const inner = new LocalDirectory({ dataDir });
    // The directory's methods reject while `failing`: an outage of the table, not a bug of the service.
    const flaky = new Proxy(inner, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function' || prop === 'constructor') return value;
        return (...args: unknown[]) =>
          failing
            ? Promise.reject(new Error('directory unreachable'))
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    h = await startIngest({}, { directory: flaky });
    await rm(dataDir, { recursive: true, force: true });
  });
  afterAll(() => h.close());

  test('the postback gets 503 with Retry-After, never 500', async () => {
    failing = true;
    try {
      const res = await fetch(`${h.url}/postback?campaignId=${h.seed.campaignId}&clickId=during-outage`, {
        headers: { authorization: `Bearer ${h.seed.apiKey}` },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await res.json()).toMatchObject({ error: 'unavailable' });
    } finally {
      failing = false;
    }
  });
});
