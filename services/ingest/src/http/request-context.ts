/**
 * What the HTTP layer reads from a request, on plain node request objects so that the express routes
 * and the lean pixel path share it.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Name of the cookie by which a visitor opts out of personal data collection. */
export const OPT_OUT_COOKIE = 'ts_optout';
/** Header the CDN adds with the shared origin secret. */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

const REQUEST_ID_RE = /^[A-Za-z0-9._:=/+-]{1,128}$/;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The request id: the CDN's or client's if well-formed, a new one otherwise. */
export function requestIdOf(req: IncomingMessage): string {
  const given = header(req, 'x-request-id') ?? header(req, 'x-amz-cf-id');
  return given && REQUEST_ID_RE.test(given) ? given : randomUUID();
}

/**
 * Whether the visitor withheld consent: `DNT: 1`, `Sec-GPC: 1` or the opt-out cookie. Any of these means
 * personal fields are dropped before anything is stored.
 */
export function withholdsConsent(req: IncomingMessage): boolean {
  if (header(req, 'dnt') === '1' || header(req, 'sec-gpc') === '1') return true;
  const cookie = header(req, 'cookie');
  return cookie !== undefined && new RegExp(`(?:^|;\\s*)${OPT_OUT_COOKIE}=1(?:;|$)`).test(cookie);
}

/**
 * The client's IP. Behind the CDN (`trustProxy`) it comes from the CDN's viewer header; otherwise from the
 * socket, so a client cannot forge it with `x-forwarded-for`.
 */
export function clientIpOf(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const viewer = header(req, 'cloudfront-viewer-address');
    if (viewer) return viewer.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const xff = header(req, 'x-forwarded-for');
    if (xff) return xff.split(',')[0]?.trim() || undefined;
  }
  return req.socket.remoteAddress ?? undefined;
}

/** The viewer's country as the CDN reports it (only trusted behind the CDN). */
export function countryOf(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (!trustProxy) return undefined;
  const c = header(req, 'cloudfront-viewer-country') ?? header(req, 'x-client-geo-country');
  return c && /^[A-Z]{2}$/.test(c) ? c : undefined;
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

/** The user agent, bounded so a huge header costs nothing downstream. */
export function userAgentOf(req: IncomingMessage): string | undefined {
  const ua = header(req, 'user-agent');
  return ua ? ua.slice(0, 512) : undefined;
}
