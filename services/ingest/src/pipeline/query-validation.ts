/**
 * The pixel's query string, validated without zod on the way in. The zod schema (`eventSchema` in
 * `validation.ts`) stays the schema of record: this is a hand-written copy of its rules for the query-string
 * fields that accepts only what the schema accepts and returns what it returns. Anything it does not accept
 * outright (a bad field, a repeated parameter, an escape it does not decode) is handed to the schema's own
 * path, `parseQueryEvent`, so every refusal and its message come from zod. A test holds the two to the same
 * answers on a corpus of good and bad queries.
 *
 * Why: building `URLSearchParams`, the raw object and zod's parse of it was about a tenth of the pixel
 * path's own CPU, for a handful of short fields whose rules are a few regular expressions.
 */
import { EVENT_TYPES, ID_PATTERNS, LIMITS } from '../../../../platform';
import { parseQueryEvent, QUERY_NAMES, type TrackEvent, type Validated } from './validation';

// The same expressions and bounds as `eventFields` in validation.ts; the equivalence test fails when they drift.
const TOKEN = /^[A-Za-z0-9._~:-]+$/;
const HTTP_URL = /^https?:\/\/[^\s]+$/i;
const CURRENCY = /^[A-Z]{3}$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const MAX_URL_CHARS = 2048;
const SURROGATE = /[\ud800-\udfff]/;
const TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
// Read once: under tsx every use of a binding imported through the platform index is a getter chain.
const ACCOUNT_ID = ID_PATTERNS.account;
const CAMPAIGN_ID = ID_PATTERNS.campaign;
const MAX_AGE_MS = LIMITS.maxEventAgeSeconds * 1000;
const MAX_SKEW_MS = LIMITS.maxClockSkewSeconds * 1000;

type Raw = Partial<Record<keyof TrackEvent, string>>;

const token = (v: string, max: number): boolean => v.length >= 1 && v.length <= max && TOKEN.test(v);
const httpUrl = (v: string): boolean => v.length <= MAX_URL_CHARS && HTTP_URL.test(v) && URL.canParse(v);

/** Decodes one query component as `URLSearchParams` does, or `undefined` where the two might differ. */
function decode(part: string): string | undefined {
  const plus = part.includes('+') ? part.replace(/\+/g, ' ') : part;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    // A malformed escape: URLSearchParams keeps it literally; the schema's path decides.
    return undefined;
  }
}

/** Splits the query into the known fields; `undefined` for anything the schema's path must judge. */
function collect(query: string): Raw | undefined {
  const raw: Raw = {};
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) {
      const eq = query.indexOf('=', start);
      const hasValue = eq >= 0 && eq < end;
      const name = decode(query.slice(start, hasValue ? eq : end));
      if (name === undefined) return undefined;
      const long = QUERY_NAMES[name];
      if (long !== undefined) {
        // An inherited name (`__proto__`, `toString`) finds a prototype member there: the schema's path
        // judges it (it ignores such a parameter as unknown).
        if (!Object.hasOwn(QUERY_NAMES, name)) return undefined;
        if (raw[long] !== undefined) return undefined;
        const value = hasValue ? decode(query.slice(eq + 1, end)) : '';
        if (value === undefined) return undefined;
        raw[long] = value;
      }
    }
    start = end + 1;
  }
  return raw;
}

/** A numeric parameter as the schema's path reads it, or `undefined` when it would not pass. */
function numberOf(v: string): number | undefined {
  if (!NUMBER.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** The event when every rule passes, else `undefined` (the caller asks the schema's path). */
function accept(raw: Raw, now: number): TrackEvent | undefined {
  const { accountId, campaignId } = raw;
  if (accountId === undefined || !ACCOUNT_ID.test(accountId)) return undefined;
  if (campaignId === undefined || !CAMPAIGN_ID.test(campaignId)) return undefined;
  const type = raw.type ?? 'pageview';
  if (!TYPES.has(type)) return undefined;
  const event: Record<string, unknown> = { accountId, campaignId, type };
  if (raw.name !== undefined) {
    if (!token(raw.name, 64)) return undefined;
    event.name = raw.name;
  }
  for (const field of ['url', 'referrer'] as const) {
    const v = raw[field];
    if (v === undefined) continue;
    if (!httpUrl(v)) return undefined;
    event[field] = v;
  }
  if (raw.ts !== undefined) {
    const ts = numberOf(raw.ts);
    if (ts === undefined || !Number.isInteger(ts) || ts <= 0) return undefined;
    if (ts < now - MAX_AGE_MS || ts > now + MAX_SKEW_MS) return undefined;
    event.ts = ts;
  }
  for (const field of ['clickId', 'orderId'] as const) {
    const v = raw[field];
    if (v === undefined) continue;
    if (!token(v, 128)) return undefined;
    event[field] = v;
  }
  if (raw.value !== undefined) {
    const value = numberOf(raw.value);
    if (value === undefined || value < 0 || value > 1e9) return undefined;
    event.value = value;
  }
  if (raw.currency !== undefined) {
    if (!CURRENCY.test(raw.currency)) return undefined;
    event.currency = raw.currency;
  }
  return event as TrackEvent;
}

/**
 * Validates the query string (without the `?`) of `/p.gif` and `/i`: the same answers as
 * `parseQueryEvent(new URLSearchParams(query))`, cheaper for a valid hit.
 */
export function parsePixelQuery(query: string, now = Date.now()): Validated<TrackEvent> {
  // URLSearchParams replaces lone surrogates; a target read off the wire has none, so such a string (or any
  // with surrogates) is left to the schema's path rather than copying that rule.
  const raw = SURROGATE.test(query) ? undefined : collect(query);
  const event = raw && accept(raw, now);
  return event ? { ok: true, value: event } : parseQueryEvent(new URLSearchParams(query), now);
}
