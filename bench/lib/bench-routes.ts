/**
 * The three routes the HTTP section loads (pixel, beacon, postback): the requests as real clients send
 * them, and the answers the baselines must give so that every server does the same visible work. Pure
 * functions, so the unit tests can check that each request is one the ingest service stores.
 */
import { createHash } from 'node:crypto';
import { API_KEY_HEADER, CONTENT_SHA256_HEADER } from '../../platform/contracts/edge';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../../services/ingest/src/local/seed';
import { BROWSER_USER_AGENT } from '../../tooling/user-agent';

/** Name of a loaded route. */
export type RouteName = 'pixel' | 'beacon' | 'postback';

/** Every route, in the order the section loads and prints them. */
export const ROUTE_NAMES: readonly RouteName[] = ['pixel', 'beacon', 'postback'];

/** Events in one beacon: a page that queued a few interactions before its snippet flushed them. */
export const BEACON_EVENTS = 10;

/** Page the load pretends to come from (the demo campaign accepts any origin). */
const PAGE = 'https://shop.example/p/1';

/** A pixel hit as the snippet sends it: account, campaign, event, page URL and a click id. */
export const PIXEL_PATH =
  `/p.gif?a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=impression` +
  `&u=${encodeURIComponent(PAGE)}&cid=abc123`;

/** Where the snippet posts its beacons: the account in the query lets the edge route before any body is read. */
export const BEACON_PATH = `/collect?a=${DEMO_ACCOUNT_ID}`;

/** Where an affiliate network posts its conversions. */
export const POSTBACK_PATH = '/postback';

/** SHA-256 of a body as lowercase hex, the value of `x-amz-content-sha256`. */
export function sha256Hex(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * A beacon body as the snippet's `envelope()` builds it: account and campaign once, then the events
 * (page views and clicks with their page URL), none a conversion, so none is de-duplicated away.
 */
export function beaconBody(events = BEACON_EVENTS): string {
  return JSON.stringify({
    accountId: DEMO_ACCOUNT_ID,
    campaignId: DEMO_CAMPAIGN_ID,
    events: Array.from({ length: events }, (_, i) =>
      i % 2 === 0
        ? { type: 'pageview', url: PAGE }
        : { type: 'click', name: `cta-${i}`, url: PAGE, referrer: 'https://search.example/' },
    ),
  });
}

/**
 * A conversion postback with a click id of its own: the service de-duplicates conversions by click id, so
 * each request of the run must carry a new one to be stored (`seq` numbers them within a run, `runId`
 * keeps two runs on one data folder apart).
 */
export function postbackBody(seq: number, runId: string): string {
  return JSON.stringify({
    campaignId: DEMO_CAMPAIGN_ID,
    type: 'conversion',
    clickId: `bench-${runId}-${seq}`,
    orderId: `order-${seq}`,
    value: 49.9,
    currency: 'EUR',
  });
}

/** Headers every benchmark request carries: a browser's, as the bot filter expects from a real visitor. */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  'user-agent': BROWSER_USER_AGENT,
  'accept-language': 'en-US,en;q=0.9',
};

/** One request as autocannon's `requests` entries take it. */
export interface RouteRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** The request of `route`; `seq` numbers postbacks, `apiKey` authenticates them. */
export function routeRequest(route: RouteName, seq: number, apiKey: string, runId: string): RouteRequest {
  switch (route) {
    case 'pixel':
      return {
        method: 'GET',
        path: PIXEL_PATH,
        headers: {
          ...BROWSER_HEADERS,
          accept: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8',
          referer: PAGE,
        },
      };
    case 'beacon': {
      // The snippet's keepalive fetch: text/plain (no preflight besides the hash header) and the hash.
      const body = beaconBody();
      return {
        method: 'POST',
        path: BEACON_PATH,
        headers: {
          ...BROWSER_HEADERS,
          origin: 'https://shop.example',
          referer: PAGE,
          'content-type': 'text/plain',
          [CONTENT_SHA256_HEADER]: sha256Hex(body),
        },
        body,
      };
    }
    case 'postback': {
      const body = postbackBody(seq, runId);
      return {
        method: 'POST',
        path: POSTBACK_PATH,
        headers: {
          ...BROWSER_HEADERS,
          'content-type': 'application/json',
          [API_KEY_HEADER]: apiKey,
          [CONTENT_SHA256_HEADER]: sha256Hex(body),
        },
        body,
      };
    }
  }
}

/** The status the ingest service answers a stored request of each route with. */
export const ACK_STATUS: Readonly<Record<RouteName, number>> = { pixel: 200, beacon: 202, postback: 202 };

/** Events one acknowledged request of each route stores. */
export const EVENTS_PER_REQUEST: Readonly<Record<RouteName, number>> = {
  pixel: 1,
  beacon: BEACON_EVENTS,
  postback: 1,
};

/**
 * The body a baseline answers a beacon or a postback with: the same shape and length class as the
 * service's, so the baselines serialize and send what the service does.
 */
export function baselineJson(route: Exclude<RouteName, 'pixel'>, seq: number): string {
  return route === 'beacon'
    ? JSON.stringify({ received: BEACON_EVENTS, stored: BEACON_EVENTS })
    : JSON.stringify({ status: 'stored', id: `evt_${seq.toString(36).padStart(20, '0')}` });
}

/** Which route a baseline request is for, from its method and target; `undefined` for anything else. */
export function routeOf(method: string | undefined, url: string | undefined): RouteName | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (method === 'GET' && path === '/p.gif') return 'pixel';
  if (method === 'POST' && path === '/collect') return 'beacon';
  if (method === 'POST' && path === '/postback') return 'postback';
  return undefined;
}
