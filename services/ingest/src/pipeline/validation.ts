/**
 * Validation of every field a hit may carry. A malformed hit is answered with 400 and a JSON
 * error naming the field; nothing here throws for client input.
 */
import { z } from 'zod';
import { EVENT_TYPES, ID_PATTERNS, LIMITS, formatZodIssues } from '../../../../platform';

/** A string field whose type error says plainly whether it was missing or of the wrong type. */
const str = () =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') });

const httpUrl = str()
  .max(2048, 'must be at most 2048 characters')
  .refine((v) => /^https?:\/\/[^\s]+$/i.test(v) && URL.canParse(v), 'must be an http(s) URL');

const token = (max: number) =>
  str()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(/^[A-Za-z0-9._~:-]+$/, 'may contain only letters, digits and . _ ~ : -');

/** Fields of one event, with their long names as used in JSON bodies. */
export const eventFields = {
  accountId: str().regex(ID_PATTERNS.account, 'must be "acc_" followed by 8-32 lowercase letters or digits'),
  campaignId: str().regex(
    ID_PATTERNS.campaign,
    'must be "cmp_" followed by 4-32 lowercase letters, digits or -',
  ),
  type: z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }),
  name: token(64),
  url: httpUrl,
  referrer: httpUrl,
  ts: z
    .number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a number') })
    .int('must be an integer (milliseconds since the epoch)')
    .positive('must be positive'),
  clickId: token(128),
  orderId: token(128),
  value: z
    .number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a number') })
    .finite()
    .min(0, 'must not be negative')
    .max(1e9, 'must be at most 1e9'),
  currency: str().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
};

/** One event as the ingest pipeline takes it. */
export const eventSchema = z
  .object({
    accountId: eventFields.accountId,
    campaignId: eventFields.campaignId,
    type: eventFields.type.default('pageview'),
    name: eventFields.name.optional(),
    url: eventFields.url.optional(),
    referrer: eventFields.referrer.optional(),
    ts: eventFields.ts.optional(),
    clickId: eventFields.clickId.optional(),
    orderId: eventFields.orderId.optional(),
    value: eventFields.value.optional(),
    currency: eventFields.currency.optional(),
  })
  .strict();

/** A validated event. */
export type TrackEvent = z.output<typeof eventSchema>;

/** Body of `POST /collect`: one event, or a batch sharing account and campaign. */
export const collectBodySchema = z.union([
  z
    .object({
      accountId: eventFields.accountId.optional(),
      campaignId: eventFields.campaignId.optional(),
      // Elements stay `unknown` until each is validated whole: re-keying them here would turn an own
      // `__proto__` key into a prototype and hide it from the strict event schema.
      events: z
        .array(z.unknown())
        .min(1, 'must hold at least one event')
        .max(LIMITS.maxEventsPerBatch, `must hold at most ${LIMITS.maxEventsPerBatch} events`),
    })
    .strict(),
  z.record(z.string(), z.unknown()),
]);

/** Body of a server postback: account comes from the API key. */
export const postbackSchema = eventSchema
  .omit({ accountId: true })
  .extend({ type: eventFields.type.default('conversion'), clickId: eventFields.clickId })
  .strict();

/** A validated postback. */
export type PostbackEvent = z.output<typeof postbackSchema>;

/** Short query-string names of the pixel and iframe routes → long field names. */
export const QUERY_NAMES: Readonly<Record<string, keyof TrackEvent>> = {
  a: 'accountId',
  c: 'campaignId',
  e: 'type',
  n: 'name',
  u: 'url',
  r: 'referrer',
  ts: 'ts',
  cid: 'clickId',
  oid: 'orderId',
  v: 'value',
  cur: 'currency',
};

const NUMERIC_FIELDS = new Set<string>(['ts', 'value']);

/** One problem with a request, naming the field. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** The outcome of validation. */
export type Validated<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

function fail(field: string, message: string): { ok: false; issues: FieldIssue[] } {
  return { ok: false, issues: [{ field, message }] };
}

function fromZod(error: z.ZodError, prefix = ''): { ok: false; issues: FieldIssue[] } {
  return {
    ok: false,
    issues: formatZodIssues(error, prefix).map((line) => {
      const i = line.indexOf(': ');
      return { field: line.slice(0, i), message: line.slice(i + 2) };
    }),
  };
}

/** Rejects client timestamps outside the accepted window. */
function checkTimestamp(ts: number | undefined, now: number, field: string): FieldIssue | undefined {
  if (ts === undefined) return undefined;
  if (ts < now - LIMITS.maxEventAgeSeconds * 1000)
    return { field, message: `must be within the last ${LIMITS.maxEventAgeSeconds / 86400} days` };
  if (ts > now + LIMITS.maxClockSkewSeconds * 1000)
    return { field, message: `must not be more than ${LIMITS.maxClockSkewSeconds} seconds in the future` };
  return undefined;
}

/**
 * Validates the query string of `/p.gif` and `/i`. Unknown parameters (cache busters) are ignored;
 * a repeated known parameter is malformed.
 */
export function parseQueryEvent(params: URLSearchParams, now = Date.now()): Validated<TrackEvent> {
  const raw: Record<string, unknown> = {};
  for (const [short, value] of params) {
    // Only the table's own names: an inherited one (`toString`, `__proto__`) is an unknown parameter, ignored
    // like any other, not a prototype member read as a field name.
    const long = Object.hasOwn(QUERY_NAMES, short) ? QUERY_NAMES[short] : undefined;
    if (!long) continue;
    if (long in raw) return fail(long, `is given more than once (query parameter "${short}")`);
    if (NUMERIC_FIELDS.has(long)) {
      if (!/^-?\d+(\.\d+)?$/.test(value)) return fail(long, 'must be a number');
      raw[long] = Number(value);
    } else raw[long] = value;
  }
  const result = finishEvent(eventSchema.safeParse(raw), now, '');
  if (result.ok) return result;
  // The field keeps its long name (as in JSON bodies); the message says which parameter carried it, so a
  // bad `a` (the account, by which the edge routes the hit) is named as such.
  return {
    ok: false,
    issues: result.issues.map((i) => {
      const short = QUERY_PARAM_OF[i.field];
      return short ? { field: i.field, message: `${i.message} (query parameter ${short})` } : i;
    }),
  };
}

/** Long field names → their query-string names, for messages. */
const QUERY_PARAM_OF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(QUERY_NAMES).map(([short, long]) => [long, short]),
);

function finishEvent<T extends { ts?: number | undefined }>(
  result: z.ZodSafeParseResult<T>,
  now: number,
  prefix: string,
): Validated<T> {
  if (!result.success) return fromZod(result.error, prefix);
  const tsIssue = checkTimestamp(result.data.ts, now, prefix ? `${prefix}.ts` : 'ts');
  if (tsIssue) return { ok: false, issues: [tsIssue] };
  return { ok: true, value: result.data };
}

/** Validates a `POST /collect` body (already parsed JSON). All events must be valid, or none is taken. */
export function parseCollectBody(body: unknown, now = Date.now()): Validated<TrackEvent[]> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return fail('(body)', 'must be a JSON object: one event, or { accountId, campaignId, events: [...] }');
  if ('events' in body) {
    const envelope = collectBodySchema.options[0].safeParse(body);
    if (!envelope.success) return fromZod(envelope.error);
    const { accountId, campaignId, events } = envelope.data;
    const out: TrackEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      if (typeof ev !== 'object' || ev === null || Array.isArray(ev))
        return fail(`events.${i}`, 'must be a JSON object');
      const merged: Record<string, unknown> = { ...ev };
      if (accountId !== undefined && merged.accountId === undefined) merged.accountId = accountId;
      if (campaignId !== undefined && merged.campaignId === undefined) merged.campaignId = campaignId;
      const r = finishEvent(eventSchema.safeParse(merged), now, `events.${i}`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  const single = finishEvent(eventSchema.safeParse(body), now, '');
  return single.ok ? { ok: true, value: [single.value] } : single;
}

/** Validates a postback from its query string or JSON body. */
export function parsePostback(raw: unknown, now = Date.now()): Validated<PostbackEvent> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return fail('(body)', 'must be a JSON object');
  return finishEvent(postbackSchema.safeParse(raw), now, '');
}

/** Converts postback query parameters (long names, strings) to typed values before validation. */
export function postbackFromQuery(params: URLSearchParams): Validated<Record<string, unknown>> {
  const raw: Record<string, unknown> = {};
  for (const [name, value] of params) {
    // The API key and the edge's account parameter (`a`, checked against the key's account) are not fields.
    if (name === 'key' || name === 'a') continue;
    if (name in raw) return fail(name, 'is given more than once');
    if (NUMERIC_FIELDS.has(name)) {
      if (!/^-?\d+(\.\d+)?$/.test(value)) return fail(name, 'must be a number');
      raw[name] = Number(value);
    } else raw[name] = value;
  }
  return { ok: true, value: raw };
}
