/**
 * What the HTTP layer reads from a request, on plain node request objects so that the express routes
 * and the lean pixel path share it.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ORIGIN_VERIFY_HEADER } from '../../../../platform/contracts/origin';
import type { TrustedProxy } from '../../../../platform/contracts/ingest-env';
import { randomUuid } from '../../../shared/random-uuid';
import { originOfUrl } from '../pipeline/page-url';

/** Name of the cookie by which a visitor opts out of personal data collection. */
export const OPT_OUT_COOKIE = 'ts_optout';

const REQUEST_ID_RE = /^[A-Za-z0-9._:=/+-]{1,128}$/;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The request id: the CDN's or client's if well-formed, a new one otherwise. */
export function requestIdOf(req: IncomingMessage): string {
  const given = header(req, 'x-request-id') ?? header(req, 'x-amz-cf-id');
  return given && REQUEST_ID_RE.test(given) ? given : randomUuid();
}

/**
 * The value of one cookie, parsed as RFC 6265 defines the `Cookie` header: `name=value` pairs separated by
 * `;`, a value optionally in double quotes. The first pair of that name wins, as browsers send the most
 * specific cookie first.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

/**
 * Whether the visitor withheld consent: `DNT: 1`, `Sec-GPC: 1` or the opt-out cookie. Any of these means
 * personal fields are dropped before anything is stored.
 */
export function withholdsConsent(req: IncomingMessage): boolean {
  if (header(req, 'dnt') === '1' || header(req, 'sec-gpc') === '1') return true;
  return cookieValue(header(req, 'cookie'), OPT_OUT_COOKIE) === '1';
}

/** The entries of an `X-Forwarded-For` list, leftmost (the client's own claim) first. */
function forwardedFor(req: IncomingMessage): string[] {
  const list = header(req, 'x-forwarded-for');
  return list ? list.split(',').map((e) => e.trim()) : [];
}

/**
 * The client's IP, from a header only the proxy in front of the service sets (see `TS_TRUST_PROXY`):
 * - `cloudfront`: `CloudFront-Viewer-Address` (CloudFront sets it and drops a viewer's copy); without it,
 *   the rightmost `X-Forwarded-For` entry, the hop that connected to the last proxy.
 * - `google-lb`: the entry the Google load balancer appends to `X-Forwarded-For` before its own address
 *   (`<client>, <load balancer>`), so the second from the right; entries to its left are the client's.
 * - `none`: the socket's peer.
 * Never the leftmost `X-Forwarded-For` entry: any client can write it.
 */
export function clientIpOf(req: IncomingMessage, proxy: TrustedProxy): string | undefined {
  if (proxy === 'cloudfront') {
    const viewer = header(req, 'cloudfront-viewer-address');
    if (viewer) return viewer.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const hops = forwardedFor(req);
    const last = hops[hops.length - 1];
    if (last) return last;
  } else if (proxy === 'google-lb') {
    const hops = forwardedFor(req);
    const client = hops[hops.length - 2];
    if (client) return client;
  }
  return req.socket.remoteAddress ?? undefined;
}

/**
 * The viewer's country, from the proxy's own header: `CloudFront-Viewer-Country` behind CloudFront,
 * `X-Client-Geo-Country` (set by the load balancer from `{client_region}`, replacing any client copy)
 * behind the Google load balancer; none without a proxy.
 */
export function countryOf(req: IncomingMessage, proxy: TrustedProxy): string | undefined {
  const c =
    proxy === 'cloudfront'
      ? header(req, 'cloudfront-viewer-country')
      : proxy === 'google-lb'
        ? header(req, 'x-client-geo-country')
        : undefined;
  return c && /^[A-Z]{2}$/.test(c) ? c : undefined;
}

/**
 * The origin of the page a browser hit comes from, from headers the browser sets and page scripts cannot:
 * `self` when the request came from a document of the service itself (`Sec-Fetch-Site: same-origin`: the
 * iframe tag's document, whose embedding page `/i` checked), else the `Origin` header, else the origin of
 * the `Referer`; `undefined` when the request shows none.
 */
export function pageOriginOf(req: IncomingMessage): string | undefined {
  if (header(req, 'sec-fetch-site') === 'same-origin') return 'self';
  const origin = header(req, 'origin');
  if (origin && origin !== 'null') return origin.toLowerCase();
  const referer = header(req, 'referer');
  return referer ? originOfUrl(referer) : undefined;
}

/** Whether the request carries the CDN's origin secret (always true when no secret is configured). */
export function fromCdn(req: IncomingMessage, secret: string | undefined): boolean {
  if (!secret) return true;
  const given = header(req, ORIGIN_VERIFY_HEADER);
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The user agent, bounded so a huge header costs nothing downstream; `undefined` when missing or blank. */
export function userAgentOf(req: IncomingMessage): string | undefined {
  const ua = header(req, 'user-agent')?.trim();
  return ua ? ua.slice(0, 512) : undefined;
}
