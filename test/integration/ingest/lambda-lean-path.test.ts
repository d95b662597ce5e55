/**
 * One path on every entry: the Lambda handler answers Function URL events through the runtime's lean
 * listener (the pixel) and express behind it (the beacon), exactly as the node server answers the same
 * requests. Both are driven over one runtime, so both write to one file sink, where each hit must land once.
 */
import type { Context } from 'aws-lambda';
import { join } from 'node:path';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../../../services/ingest/src/local/seed';
import { lambdaHandler } from '../../../services/ingest/src/lambda';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';
import { startIngest, type IngestHarness } from '../../support/ingest-harness';

interface LambdaResult {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  isBase64Encoded: boolean;
}

let h: IngestHarness;
let invoke: (event: unknown) => Promise<LambdaResult>;

beforeAll(async () => {
  h = await startIngest();
  const handler = lambdaHandler({ createRuntime: () => Promise.resolve(h.server.runtime) });
  invoke = async (event) =>
    (await handler(event, { awsRequestId: 'test' } as Context, () => undefined)) as LambdaResult;
});
afterAll(() => h.close());

/** A Function URL (payload 2.0) event. */
function urlEvent(
  method: string,
  path: string,
  query: string,
  headers: Record<string, string>,
  body?: string,
) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    headers: { host: 'abc.lambda-url.eu-west-1.on.aws', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: BROWSER_USER_AGENT },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2026:12:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}

/** Headers that differ by transport (connection handling, date) or by request (its id). */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'x-request-id', 'transfer-encoding']);

/** Header values as text: the adapter passes a number set with `writeHead` (`content-length`) as a number. */
function comparable(headers: Iterable<[string, unknown]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers) if (!TRANSPORT_HEADERS.has(k.toLowerCase())) out[k.toLowerCase()] = String(v);
  return out;
}

/** A fetch response's headers as pairs (this lib's `Headers` type declares no iterator). */
function headerList(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((value, name) => out.push([name, value]));
  return out;
}

async function storedNamed(name: string): Promise<StoredEvent[]> {
  await h.server.runtime.sink.flush();
  const events = await readFileSinkEvents(join(h.dataDir, 'events'));
  return events.map((e) => JSON.parse(e.data.toString()) as StoredEvent).filter((e) => e.name === name);
}

test('GET /p.gif: the same status, headers and GIF as the node server, each hit stored once', async () => {
  const query = (name: string) =>
    `a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=impression&n=${name}&u=https%3A%2F%2Fshop.example%2Fp%3Fq%3D1`;
  const viaNode = await fetch(`${h.url}/p.gif?${query('node-pixel')}`, {
    headers: { 'user-agent': BROWSER_USER_AGENT, 'x-request-id': 'node-pixel-1' },
  });
  const viaLambda = await invoke(
    urlEvent('GET', '/p.gif', query('lambda-pixel'), {
      'user-agent': BROWSER_USER_AGENT,
      'x-request-id': 'lambda-pixel-1',
    }),
  );

  expect(viaLambda.statusCode).toBe(viaNode.status);
  expect(viaLambda.statusCode).toBe(200);
  expect(comparable(Object.entries(viaLambda.headers))).toEqual(comparable(headerList(viaNode.headers)));
  // The request id is echoed on both paths, and no header name is a list index (an adapter's writeHead).
  expect(viaLambda.headers['x-request-id']).toBe('lambda-pixel-1');
  expect(Object.keys(viaLambda.headers).filter((k) => /^\d+$/.test(k))).toEqual([]);
  expect(viaLambda.isBase64Encoded).toBe(true);
  expect(Buffer.from(viaLambda.body, 'base64')).toEqual(Buffer.from(await viaNode.arrayBuffer()));

  const [fromLambda] = await storedNamed('lambda-pixel');
  expect(await storedNamed('lambda-pixel')).toHaveLength(1);
  expect(await storedNamed('node-pixel')).toHaveLength(1);
  expect(fromLambda).toMatchObject({ source: 'pixel', consent: 'full', url: 'https://shop.example/p' });
  // Personal fields are sealed on this path too: neither the address nor the user agent is in clear.
  const line = JSON.stringify(fromLambda);
  expect(line).not.toContain('203.0.113.9');
  expect(line).not.toContain(BROWSER_USER_AGENT);
});

test('GET /p.gif with a bad field: the same 400 body as the node server', async () => {
  const query = `a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=purchase`;
  const viaNode = await fetch(`${h.url}/p.gif?${query}`, {
    headers: { 'user-agent': BROWSER_USER_AGENT, 'x-request-id': 'bad-1' },
  });
  const viaLambda = await invoke(
    urlEvent('GET', '/p.gif', query, { 'user-agent': BROWSER_USER_AGENT, 'x-request-id': 'bad-1' }),
  );
  expect(viaLambda.statusCode).toBe(400);
  expect(viaNode.status).toBe(400);
  expect(JSON.parse(viaLambda.body)).toEqual(await viaNode.json());
  expect(comparable(Object.entries(viaLambda.headers))).toEqual(comparable(headerList(viaNode.headers)));
});

test('POST /collect: the same answer as the node server, each event stored once', async () => {
  const body = (name: string) =>
    JSON.stringify({
      accountId: DEMO_ACCOUNT_ID,
      campaignId: DEMO_CAMPAIGN_ID,
      events: [{ type: 'click', name }],
    });
  const headers = { 'content-type': 'text/plain', 'user-agent': BROWSER_USER_AGENT };
  const viaNode = await fetch(`${h.url}/collect`, {
    method: 'POST',
    headers,
    body: body('node-beacon'),
  });
  const viaLambda = await invoke(urlEvent('POST', '/collect', '', headers, body('lambda-beacon')));

  expect(viaLambda.statusCode).toBe(202);
  expect(viaNode.status).toBe(202);
  expect(JSON.parse(viaLambda.body)).toEqual(await viaNode.json());
  expect(JSON.parse(viaLambda.body)).toEqual({ received: 1, stored: 1 });
  expect(comparable(Object.entries(viaLambda.headers))).toEqual(comparable(headerList(viaNode.headers)));
  expect(await storedNamed('lambda-beacon')).toHaveLength(1);
  expect(await storedNamed('node-beacon')).toHaveLength(1);
});
