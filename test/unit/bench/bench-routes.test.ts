/**
 * The requests the HTTP benchmark sends: each must be one the ingest service validates and stores (a
 * malformed body would measure the 400 path and store nothing), and the baselines must recognise them.
 */
import { createHash } from 'node:crypto';
import { API_KEY_HEADER, CONTENT_SHA256_HEADER } from '../../../platform/contracts/edge';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../../../services/ingest/src/local/seed';
import {
  parseCollectBody,
  parsePostback,
  parseQueryEvent,
} from '../../../services/ingest/src/pipeline/validation';
import {
  BEACON_EVENTS,
  EVENTS_PER_REQUEST,
  PIXEL_PATH,
  ROUTE_NAMES,
  beaconBody,
  postbackBody,
  routeOf,
  routeRequest,
} from '../../../bench/lib/bench-routes';
import { quantile } from '../../../bench/lib/autocannon-rounds';

test('the pixel path is a valid impression of the demo campaign', () => {
  const query = PIXEL_PATH.slice(PIXEL_PATH.indexOf('?') + 1);
  const parsed = parseQueryEvent(new URLSearchParams(query));
  expect(parsed).toMatchObject({
    ok: true,
    value: { accountId: DEMO_ACCOUNT_ID, campaignId: DEMO_CAMPAIGN_ID, type: 'impression' },
  });
});

test('a beacon holds 10 valid events of the demo campaign, none a conversion (nothing is de-duplicated)', () => {
  const parsed = parseCollectBody(JSON.parse(beaconBody()));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  expect(parsed.value).toHaveLength(BEACON_EVENTS);
  expect(EVENTS_PER_REQUEST.beacon).toBe(10);
  for (const e of parsed.value) {
    expect(e).toMatchObject({ accountId: DEMO_ACCOUNT_ID, campaignId: DEMO_CAMPAIGN_ID });
    expect(e.type).not.toBe('conversion');
  }
});

test("the beacon request is the snippet's: text/plain, account in the query, the body's SHA-256", () => {
  const r = routeRequest('beacon', 0, 'key', 'run');
  expect(r).toMatchObject({ method: 'POST', path: `/collect?a=${DEMO_ACCOUNT_ID}` });
  expect(r.headers['content-type']).toBe('text/plain');
  expect(r.headers[CONTENT_SHA256_HEADER]).toBe(createHash('sha256').update(r.body!).digest('hex'));
});

test('each postback is a valid conversion with a click id of its own, authenticated by the key', () => {
  const first = parsePostback(JSON.parse(postbackBody(1, 'r1')));
  const second = parsePostback(JSON.parse(postbackBody(2, 'r1')));
  const otherRun = parsePostback(JSON.parse(postbackBody(1, 'r2')));
  if (!first.ok || !second.ok || !otherRun.ok) throw new Error('a postback body is invalid');
  expect(first.value.type).toBe('conversion');
  expect(new Set([first.value.clickId, second.value.clickId, otherRun.value.clickId]).size).toBe(3);
  const r = routeRequest('postback', 7, 'ts_live_abc', 'r1');
  expect(r).toMatchObject({ method: 'POST', path: '/postback' });
  expect(r.headers[API_KEY_HEADER]).toBe('ts_live_abc');
  expect(r.headers[CONTENT_SHA256_HEADER]).toBe(createHash('sha256').update(r.body!).digest('hex'));
  expect(JSON.parse(r.body!)).toMatchObject({ clickId: 'bench-r1-7' });
});

test('the baselines route every benchmark request to its route, and nothing else', () => {
  for (const route of ROUTE_NAMES) {
    const r = routeRequest(route, 0, 'key', 'run');
    expect(routeOf(r.method, r.path)).toBe(route);
  }
  expect(routeOf('GET', '/collect')).toBeUndefined();
  expect(routeOf('POST', '/p.gif')).toBeUndefined();
  expect(routeOf('GET', '/p.gifx')).toBeUndefined();
  expect(routeOf('GET', undefined)).toBeUndefined();
});

test('quantiles take the nearest rank, so p99 of 100 values is the 99th', () => {
  const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  expect(quantile(values, 0.99)).toBe(99);
  expect(quantile(values, 0.5)).toBe(50);
  expect(quantile(new Float64Array([3]), 0.99)).toBe(3);
  expect(quantile(new Float64Array(0), 0.5)).toBeNaN();
});
