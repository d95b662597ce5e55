/**
 * Fault test of the bar "20,000 malformed requests: zero 5xx, zero crashes, bounded memory".
 *
 * The real service runs as a child process (`local.ts` on embedded defaults) in a temporary data dir, and
 * takes a seeded-random stream of malformed requests: raw garbage over TCP (for bytes no HTTP client would
 * send) and odd but well-framed requests over keep-alive HTTP. The only failures are a status ≥ 500, the
 * process dying, or its resident memory growing by more than the bound. A 400 from node's parser or a
 * closed socket is a fine answer to garbage.
 *
 * Rate limits do not mask anything here: malformed hits are refused before the per-IP limiter is consulted
 * (`IngestHandlers.pixel`, the `/collect` route), and a 429 is not a 5xx anyway.
 *
 * Reproduce a run with `FUZZ_SEED=<seed printed by the run> npx jest test/integration/ingest/fuzz.test.ts`.
 */
import { Agent, request, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, deflateSync } from 'node:zlib';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../../../services/ingest/src/local/seed';
import { spawnIngest, vmRssKb, type IngestProcess } from '../../support/fault-ingest-process';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const CONCURRENCY = 32;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const MAX_RSS_GROWTH_MB = 150;
const HTTP_TIMEOUT_MS = 10_000;
const RAW_TIMEOUT_MS = 5_000;

// ---- deterministic randomness ----------------------------------------------------------------------

/** mulberry32: tiny, fast and good enough to pick fuzz cases; not for anything secret. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** 32 random bits. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  next(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Inclusive range. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    // Four bytes per draw: megabyte bodies would otherwise cost the client more than the server.
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.u32();
    return Buffer.from(words.buffer, 0, n);
  }
  str(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/** Each case has its own generator, so one case can be rebuilt from (seed, index) alone. */
function caseRng(index: number): Rng {
  return new Rng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

// ---- the cases -------------------------------------------------------------------------------------

interface HttpCase {
  readonly kind: 'http';
  readonly category: string;
  readonly method: string;
  /** Request target; only bytes 0x21–0xff, which node's client lets through unchanged. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly body?: Buffer;
}

interface RawCase {
  readonly kind: 'raw';
  readonly category: string;
  readonly data: Buffer;
  /** `end`: half-close after writing; `hold`: leave it open a moment, then reset (a client that vanishes). */
  readonly close: 'end' | 'hold';
}

type FuzzCase = HttpCase | RawCase;

interface Env {
  /** The demo API key the child printed, so that postbacks get past authentication to validation. */
  readonly apiKey: string;
}

const PRINTABLE =
  '!"#$&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';
const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123456789-_.~';

const BAD_ENCODINGS = [
  '%',
  '%%',
  '%z',
  '%zz',
  '%ff%fe',
  '%ff',
  '%fe%ff%00',
  '%00',
  '%C0%AF',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%E2%82',
  '%u0041',
  '%2',
  '%%32%35',
  '%25%zz',
  '%0d%0aX-Injected:%201',
];
const BAD_QUERY_VALUES = [
  '',
  '-1',
  '0',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '1.',
  '.5',
  '1e3',
  '1,5',
  '9'.repeat(400),
  'true',
  'null',
  '[]',
  '{}',
  'acc_',
  'ACC_DEMOACCOUNT',
  'acc_demoaccount%00',
  'cmp_',
  'cmp_DEMO',
  'javascript:alert(1)',
  'http://',
  'https://',
  'ftp://example.com/',
  'https://example.com/%ff',
  `https://e.example/${'a'.repeat(2100)}`,
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '${jndi:ldap://x/a}',
  'EURO',
  'eur',
  'a'.repeat(65),
  'a'.repeat(129),
  '+',
  '%20',
  ...BAD_ENCODINGS,
];
const QUERY_KEYS = ['a', 'c', 'e', 'n', 'u', 'r', 'ts', 'cid', 'oid', 'v', 'cur'] as const;

function validQuery(): Record<string, string> {
  return {
    a: DEMO_ACCOUNT_ID,
    c: DEMO_CAMPAIGN_ID,
    e: 'click',
    n: 'fuzz',
    u: 'https://example.com/page',
    r: 'https://ref.example/',
    ts: String(Date.now()),
    cid: 'click-1',
    oid: 'order-1',
    v: '12.5',
    cur: 'EUR',
  };
}

/** A query string of the pixel/iframe kind with one to three defects. */
function malformedQuery(rng: Rng): string {
  const q = validQuery();
  const pairs: Array<[string, string]> = Object.entries(q).filter(() => rng.bool(0.7));
  const defects = rng.range(1, 3);
  for (let d = 0; d < defects; d++) {
    switch (rng.int(9)) {
      case 0:
      case 1: {
        const key = rng.pick(QUERY_KEYS);
        const i = pairs.findIndex(([k]) => k === key);
        const value = rng.pick(BAD_QUERY_VALUES);
        if (i >= 0) pairs[i] = [key, value];
        else pairs.push([key, value]);
        break;
      }
      case 2: {
        // A repeated known parameter is malformed, even with the same value.
        const key = rng.pick(QUERY_KEYS);
        pairs.push([key, rng.bool() ? (q[key] ?? '') : rng.pick(BAD_QUERY_VALUES)]);
        break;
      }
      case 3:
        pairs.push([rng.pick(BAD_ENCODINGS), rng.pick(BAD_ENCODINGS)]);
        break;
      case 4:
        pairs.push(['ts', String(rng.bool() ? Date.now() - 30 * 86_400_000 : Date.now() + 3_600_000)]);
        break;
      case 5:
        pairs.push(['e', rng.pick(['bogus', 'PAGEVIEW', 'conversion%20', '', 'custom%00'])]);
        break;
      case 6:
        pairs.push([
          rng.str(rng.range(1, 20), PRINTABLE.replace('&', '').replace('=', '')),
          rng.str(5, TOKEN),
        ]);
        break;
      case 7:
        pairs.splice(rng.int(pairs.length + 1), 0, ['', ''], ['=', '='], ['&', '']);
        break;
      default:
        pairs.length = 0;
    }
  }
  const sep = rng.bool(0.9) ? '&' : rng.pick([';', '&&', '&=&', '?']);
  return pairs.map(([k, v]) => (rng.bool(0.05) ? k : `${k}=${v}`)).join(sep);
}

/** Random request headers: consent signals, cookie junk, huge user agents and the like. */
function fuzzHeaders(rng: Rng): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { 'user-agent': BROWSER_USER_AGENT };
  if (rng.bool(0.5)) return h;
  const n = rng.range(1, 6);
  for (let i = 0; i < n; i++) {
    switch (rng.int(12)) {
      case 0:
        h.dnt = rng.pick(['1', '0', '', 'yes', '1, 1', '11', rng.str(50, PRINTABLE)]);
        break;
      case 1:
        h['sec-gpc'] = rng.pick(['1', '0', 'true', '']);
        break;
      case 2: {
        const parts: string[] = [];
        const m = rng.range(1, 200);
        for (let j = 0; j < m; j++)
          parts.push(
            rng.pick([
              'ts_optout=1',
              'ts_optout=%ff',
              '=',
              ';',
              '',
              `${rng.str(8, TOKEN)}=${rng.str(rng.range(0, 40), PRINTABLE)}`,
            ]),
          );
        h.cookie = parts.join(rng.pick(['; ', ';', ';;', ' ; ']));
        break;
      }
      case 3:
        h['user-agent'] = rng.pick([
          `${BROWSER_USER_AGENT} ${'A'.repeat(rng.range(1000, 8000))}`,
          'Googlebot/2.1 (+http://www.google.com/bot.html)',
          '',
          rng.str(rng.range(1, 2000), PRINTABLE),
          'Mozilla/5.0 \xff\xfe\x80',
        ]);
        break;
      case 4:
        h['x-request-id'] = rng.pick(['', rng.str(rng.range(1, 300), PRINTABLE), 'a'.repeat(129), '../../x']);
        break;
      case 5:
        h['x-forwarded-for'] = rng.pick([
          '1.2.3.4',
          'junk',
          ', , ,',
          '::1, 999.999.999.999',
          rng.str(200, PRINTABLE),
        ]);
        h['cloudfront-viewer-address'] = rng.pick(['[::1]:123', '1.2.3.4:', ':', rng.str(50, PRINTABLE)]);
        h['cloudfront-viewer-country'] = rng.pick(['US', 'us', 'XXX', '']);
        break;
      case 6:
        h.accept = rng.str(rng.range(1, 500), PRINTABLE);
        h['accept-encoding'] = rng.pick(['gzip', 'br;q=2', '*;q=0', 'identity;q=0', rng.str(30, PRINTABLE)]);
        break;
      case 7:
        h.origin = rng.pick(['null', 'https://evil.example', rng.str(100, PRINTABLE)]);
        h.referer = rng.str(rng.range(1, 1000), PRINTABLE);
        break;
      case 8:
        h['x-origin-verify'] = rng.str(rng.range(0, 64), PRINTABLE);
        break;
      case 9:
        for (let j = rng.range(10, 90); j > 0; j--)
          h[`x-junk-${j}-${rng.str(4, TOKEN)}`] = rng.str(rng.range(0, 60), PRINTABLE);
        break;
      case 10:
        h.authorization = rng.pick([
          'Bearer',
          'Bearer ',
          'Basic Zm9vOmJhcg==',
          `Bearer tsk_${rng.str(16, TOKEN)}_x`,
          rng.str(80, PRINTABLE),
        ]);
        break;
      default:
        h.range = rng.pick(['bytes=0-0', 'bytes=-1', 'bytes=5-1', 'items=1']);
        h['if-none-match'] = rng.str(20, PRINTABLE);
        h.expect = rng.pick(['100-continue', '']);
    }
  }
  return h;
}

const WRONG_VALUES: readonly unknown[] = [
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  true,
  false,
  null,
  [],
  {},
  [1, 'a'],
  { a: { b: 1 } },
  '',
  ' ',
  'x'.repeat(5000),
  '\u0000',
  `\u0000${DEMO_ACCOUNT_ID}`,
  '\ud800',
  '\uffff',
  '\u{1f4a5}',
  'NaN',
  '-0',
  '1e400',
  `${DEMO_ACCOUNT_ID}\n`,
  'https://',
  'javascript:alert(1)',
  '../../etc/passwd',
  '%ff%fe',
  '<script>alert(1)</script>',
  Date.now() - 30 * 86_400_000,
  Date.now() + 3_600_000,
];
const EVENT_FIELDS = [
  'accountId',
  'campaignId',
  'type',
  'name',
  'url',
  'referrer',
  'ts',
  'clickId',
  'orderId',
  'value',
  'currency',
] as const;

function validEvent(): Record<string, unknown> {
  return {
    type: 'click',
    name: 'fz',
    url: 'https://example.com/',
    referrer: 'https://r.example/',
    ts: Date.now(),
    clickId: 'c1',
    orderId: 'o1',
    value: 1,
    currency: 'EUR',
  };
}

function wrongValue(rng: Rng): unknown {
  if (rng.bool(0.1)) {
    // Nested containers as a field value: validation must not walk into them.
    let v: unknown = 1;
    for (let i = rng.range(10, 2000); i > 0; i--) v = rng.bool() ? [v] : { a: v };
    return v;
  }
  return rng.pick(WRONG_VALUES);
}

/** A JSON body (collect or postback shaped) with a wrong type or value in one or more places. */
function wrongTypesBody(rng: Rng): string {
  const ev = validEvent();
  const envelope: Record<string, unknown> = {
    accountId: DEMO_ACCOUNT_ID,
    campaignId: DEMO_CAMPAIGN_ID,
    events: [ev],
  };
  switch (rng.int(6)) {
    case 0:
      envelope[rng.pick(['accountId', 'campaignId', 'events'])] = wrongValue(rng);
      break;
    case 1:
      ev[rng.pick(EVENT_FIELDS)] = wrongValue(rng);
      break;
    case 2: {
      // The single-event form.
      const single: Record<string, unknown> = {
        accountId: DEMO_ACCOUNT_ID,
        campaignId: DEMO_CAMPAIGN_ID,
        ...validEvent(),
      };
      single[rng.pick(EVENT_FIELDS)] = wrongValue(rng);
      if (rng.bool(0.3)) single[rng.str(rng.range(1, 30), TOKEN)] = wrongValue(rng);
      return JSON.stringify(single);
    }
    case 3:
      envelope.events = rng.pick([
        [],
        Array.from({ length: 51 }, validEvent),
        [null],
        [1],
        ['x'],
        [[ev]],
        [ev, wrongValue(rng)],
      ]);
      break;
    case 4:
      envelope[rng.pick(['__proto__', 'constructor', 'prototype', 'extra', ''])] = wrongValue(rng);
      break;
    default: {
      // Duplicate keys: JSON.parse keeps the last one; the text holds both.
      const text = JSON.stringify(envelope);
      return text.replace('{', `{"accountId":${JSON.stringify(wrongValue(rng)) ?? 'null'},`);
    }
  }
  if (rng.bool(0.3)) for (const f of EVENT_FIELDS) if (rng.bool(0.5)) ev[f] = wrongValue(rng);
  return JSON.stringify(envelope);
}

let gzipBomb: Buffer | undefined;
/** 16 MiB of zeros in about 16 KiB: the body limit must apply to the inflated size. */
function bomb(): Buffer {
  gzipBomb ??= gzipSync(Buffer.alloc(16 * 1024 * 1024));
  return gzipBomb;
}

const CONTENT_TYPES = [
  undefined,
  '',
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'text/plain; charset=iso-8859-1',
  'text/plain; charset=utf-8; charset=utf-16',
  'application/json;;;',
  'application/json; charset',
  'application/json; charset=',
  'application/json; charset="utf-8',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/*',
  '*/*',
  'text/html',
  'application/json, text/plain',
  `application/json; boundary=${'x'.repeat(2000)}`,
  'application/ld+json',
  'application/vnd.api+json',
  'image/gif',
  ';',
  '/',
];

const KNOWN_PATHS = [
  '/p.gif',
  '/i',
  '/collect',
  '/postback',
  '/healthz',
  '/readyz',
  '/snippet.js',
  '/demo',
  `/config/${DEMO_CAMPAIGN_ID}.json`,
];
const METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'HEAD',
  'TRACE',
  'PROPFIND',
  'SEARCH',
  'MKCOL',
  'LOCK',
  'PURGE',
  'REPORT',
  'NOTIFY',
  'SUBSCRIBE',
  'QUERY',
];
const ODD_PATHS = [
  '/',
  '/p.gif/',
  '/P.GIF',
  '/p.gif.',
  '/p.gifx',
  '/p.gif;jsessionid=1',
  '/p.gif#frag',
  '//p.gif',
  '/./p.gif',
  '/healthz/../p.gif',
  '/collect/',
  '//collect',
  '/config/',
  '/config/x',
  '/config/cmp_nope.json',
  '/config/..%2f..%2fdirectory.json',
  '/config/../directory.json',
  '/config/cmp_demo-campaign.json/..',
  '/favicon.ico',
  '/.env',
  '/../../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/snippet.js%00',
  '/demo?%ff',
  '*',
  '/events',
  '/spool',
  '/directory.json',
];

function buildCase(index: number, env: Env): FuzzCase {
  const rng = caseRng(index);
  const roll = rng.int(100);
  // Weights: about a third raw TCP, the rest HTTP spread over the routes and defect kinds.
  if (roll < 6)
    return { kind: 'raw', category: 'raw-random-bytes', data: rng.bytes(rng.range(1, 2048)), close: 'end' };
  if (roll < 12) return rawMutated(rng);
  if (roll < 18) return rawTruncated(rng);
  if (roll < 24) return rawBadTarget(rng);
  if (roll < 31) return rawBadHeaders(rng);
  if (roll < 34) return rawPipelined(rng);
  if (roll < 44)
    return {
      kind: 'http',
      category: 'pixel-query',
      method: rng.bool(0.9) ? 'GET' : 'HEAD',
      path: `/p.gif?${malformedQuery(rng)}`,
      headers: fuzzHeaders(rng),
    };
  if (roll < 48)
    return {
      kind: 'http',
      category: 'iframe-query',
      method: 'GET',
      path: `/i?${malformedQuery(rng)}`,
      headers: fuzzHeaders(rng),
    };
  if (roll < 52) return hugeQuery(rng);
  if (roll < 57) return badEncodingPath(rng);
  if (roll < 67) return collectWrongTypes(rng, env);
  if (roll < 73) return collectGarbage(rng);
  if (roll < 77) return collectDeep(rng, env);
  if (roll < 81) return collectOversized(rng);
  if (roll < 86) return collectContentType(rng);
  if (roll < 92) return postback(rng, env);
  return unknownRoute(rng);
}

function hugeQuery(rng: Rng): HttpCase {
  // Past the 4 KiB URL limit (413 from the service), and past node's 16 KiB header limit (431 from node).
  const len = rng.pick([rng.range(4097, 8000), rng.range(16_385, 20_000), rng.range(40_000, 70_000)]);
  const path = rng.pick([
    '/p.gif',
    '/i',
    '/collect',
    '/postback',
    '/healthz',
    '/nope',
    `/config/${DEMO_CAMPAIGN_ID}.json`,
  ]);
  const filler = rng.pick(['a', '%', '%ff', 'n=', '&', 'u=https://x.example/']);
  const q =
    `a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&x=${filler.repeat(Math.ceil(len / filler.length))}`.slice(
      0,
      len,
    );
  const post = path === '/collect' && rng.bool();
  return {
    kind: 'http',
    category: 'huge-query',
    method: post ? 'POST' : 'GET',
    path: `${path}?${q}`,
    headers: { 'user-agent': BROWSER_USER_AGENT, ...(post ? { 'content-type': 'application/json' } : {}) },
    body: post ? Buffer.from('{}') : undefined,
  };
}

function badEncodingPath(rng: Rng): HttpCase {
  const enc = () => rng.pick(BAD_ENCODINGS);
  const path = rng.pick([
    () => `/${enc()}`,
    () => `/${enc()}${enc()}/${enc()}`,
    () => `/p.gif${enc()}`,
    () => `/p.gif?${enc()}=${enc()}&a=${DEMO_ACCOUNT_ID}${enc()}`,
    () => `/p.gif?a=${enc()}&c=${enc()}&n=${enc()}`,
    () => `/i?n=${enc()}&u=https://x.example/${enc()}`,
    () => `/config/${enc()}.json`,
    () => `/config/cmp_demo${enc()}.json`,
    () => `/postback?${enc()}=${enc()}&campaignId=${enc()}`,
    () => `/collect?${enc()}`,
    () => `/healthz?${enc()}`,
    () => `/snippet.js?${enc()}`,
    () => `/${enc()}?${enc()}`,
  ])();
  const method = path.startsWith('/collect') ? 'POST' : 'GET';
  return {
    kind: 'http',
    category: 'bad-encoding',
    method,
    path,
    headers: { ...fuzzHeaders(rng), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: method === 'POST' ? Buffer.from('{}') : undefined,
  };
}

function collectWrongTypes(rng: Rng, env: Env): HttpCase {
  const body = Buffer.from(wrongTypesBody(rng));
  if (rng.bool(0.15)) {
    return {
      kind: 'http',
      category: 'postback-wrong-types',
      method: 'POST',
      path: '/postback',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${env.apiKey}`,
        'user-agent': BROWSER_USER_AGENT,
      },
      body,
    };
  }
  return {
    kind: 'http',
    category: 'collect-wrong-types',
    method: 'POST',
    path: '/collect',
    headers: {
      ...fuzzHeaders(rng),
      'content-type': rng.pick(['application/json', 'text/plain;charset=UTF-8', 'text/plain']),
    },
    body,
  };
}

function collectGarbage(rng: Rng): HttpCase {
  const valid = JSON.stringify({
    accountId: DEMO_ACCOUNT_ID,
    campaignId: DEMO_CAMPAIGN_ID,
    events: [validEvent()],
  });
  const body = rng.pick<() => Buffer>([
    () => rng.bytes(rng.range(0, 4000)),
    () => Buffer.from(valid.slice(0, rng.int(valid.length))),
    () => Buffer.from(valid.replace(/"fz"/, '"f\u0000z"')),
    () =>
      Buffer.concat([
        Buffer.from(valid.slice(0, 60)),
        Buffer.from([0x00, 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]),
        Buffer.from(valid.slice(60)),
      ]),
    () => Buffer.from(`{"name":"\xff\xfe"}`, 'latin1'),
    () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)]),
    () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(valid, 'utf16le')]),
    () => Buffer.from(`${valid}${rng.pick(['x', '}', ']', ',', '\u0000', valid])}`),
    () =>
      Buffer.from(
        rng.pick([
          '',
          'null',
          'true',
          '"str"',
          '1',
          '-0',
          '[]',
          '{}',
          '[{}]',
          '{"events":{}}',
          "{'a':1}",
          '{a:1}',
          '{"a":1,}',
          '/* */{}',
          'NaN',
          '\u0000',
        ]),
      ),
    () =>
      Buffer.from(
        valid.replace(/[{}[\]:,"]/g, (c) => (rng.bool(0.1) ? rng.pick(['', '\u0000', '"', '\\']) : c)),
      ),
    () => Buffer.from(`{"events":[${'{"type":"click"},'.repeat(rng.range(1, 3000))}]}`),
  ])();
  return {
    kind: 'http',
    category: 'collect-garbage',
    method: 'POST',
    path: '/collect',
    headers: {
      ...fuzzHeaders(rng),
      'content-type': rng.pick(['application/json', 'text/plain', 'text/plain;charset=utf-8']),
    },
    body,
  };
}

function collectDeep(rng: Rng, env: Env): HttpCase {
  const open = rng.pick([100_000, rng.range(1000, 64_000)]);
  const balanced = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const text = rng.pick<() => string>([
    () => '['.repeat(open),
    () => '{"a":'.repeat(Math.floor(open / 5)),
    () => balanced(Math.min(open, 32_000)),
    () => objects(Math.min(open, 12_000)),
    () => `{"events":[${objects(rng.range(100, 12_000))}]}`,
    () => `{"accountId":${balanced(rng.range(100, 30_000))},"campaignId":"${DEMO_CAMPAIGN_ID}"}`,
    () =>
      `{"accountId":"${DEMO_ACCOUNT_ID}","campaignId":"${DEMO_CAMPAIGN_ID}","events":[{"name":${balanced(rng.range(100, 30_000))}}]}`,
    () => `{"${rng.pick(EVENT_FIELDS)}":${objects(rng.range(100, 12_000))}}`,
  ])();
  const toPostback = rng.bool(0.2);
  return {
    kind: 'http',
    category: 'deep-json',
    method: 'POST',
    path: toPostback ? '/postback' : '/collect',
    headers: {
      'user-agent': BROWSER_USER_AGENT,
      'content-type': toPostback ? 'application/json' : rng.pick(['application/json', 'text/plain']),
      ...(toPostback ? { authorization: `Bearer ${env.apiKey}` } : {}),
    },
    body: Buffer.from(text),
  };
}

function collectOversized(rng: Rng): HttpCase {
  const size = rng.bool(0.9) ? rng.range(64 * 1024 + 1, 200 * 1024) : rng.range(256 * 1024, 1024 * 1024);
  const pad = 'x'.repeat(size);
  const body = rng.pick<() => Buffer>([
    () =>
      Buffer.from(
        JSON.stringify({ accountId: DEMO_ACCOUNT_ID, campaignId: DEMO_CAMPAIGN_ID, events: [{ name: pad }] }),
      ),
    () =>
      Buffer.from(
        JSON.stringify({
          accountId: DEMO_ACCOUNT_ID,
          campaignId: DEMO_CAMPAIGN_ID,
          events: Array.from({ length: Math.ceil(size / 200) }, validEvent),
        }),
      ),
    () => rng.bytes(size),
    () => Buffer.from(pad),
  ])();
  // Without a content-length node's client sends it chunked: the limit must hold for both framings.
  const chunked = rng.bool(0.3);
  const toPostback = rng.bool(0.1);
  return {
    kind: 'http',
    category: 'oversized-body',
    method: 'POST',
    path: toPostback ? '/postback' : '/collect',
    headers: {
      'user-agent': BROWSER_USER_AGENT,
      'content-type': rng.pick(['application/json', 'text/plain']),
      ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length }),
    },
    body,
  };
}

function collectContentType(rng: Rng): HttpCase {
  const valid = JSON.stringify({
    accountId: DEMO_ACCOUNT_ID,
    campaignId: DEMO_CAMPAIGN_ID,
    events: [{ type: 'click', name: 'ct' }],
  });
  const headers: OutgoingHttpHeaders = { 'user-agent': 'curl/8.0' };
  const ct = rng.pick(CONTENT_TYPES);
  if (ct !== undefined) headers['content-type'] = ct;
  let body: Buffer = Buffer.from(valid);
  if (rng.bool(0.4)) {
    const [encoding, encoded] = rng.pick<() => [string, Buffer]>([
      () => ['gzip', bomb()],
      () => ['gzip', rng.bytes(rng.range(1, 500))],
      () => ['gzip', gzipSync(valid).subarray(0, 20)],
      () => ['deflate', deflateSync(valid)],
      () => ['deflate', rng.bytes(100)],
      () => ['br', rng.bytes(100)],
      () => ['identity', body],
      () => ['gzip, gzip', gzipSync(gzipSync(valid))],
      () => ['x-unknown', body],
      () => ['', body],
    ])();
    headers['content-encoding'] = encoding;
    if (encoding !== '' && rng.bool(0.2))
      headers['content-type'] = rng.pick(['application/json', 'text/plain']);
    body = encoded;
  }
  const path = rng.pick(['/collect', '/collect', '/postback']);
  return { kind: 'http', category: 'content-type', method: 'POST', path, headers, body };
}

function postback(rng: Rng, env: Env): HttpCase {
  const key = rng.pick([
    env.apiKey,
    env.apiKey,
    '',
    'tsk_',
    `tsk_${rng.str(16, TOKEN.slice(0, 36))}_${rng.str(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}`,
    `${env.apiKey}x`,
    env.apiKey.slice(0, -1),
    env.apiKey.toUpperCase(),
    rng.str(rng.range(1, 200), PRINTABLE),
  ]);
  const fields: Array<[string, string]> = [
    ['campaignId', DEMO_CAMPAIGN_ID],
    ['clickId', 'click-1'],
    ['type', 'conversion'],
    ['value', '10'],
    ['currency', 'EUR'],
  ].filter(() => rng.bool(0.8)) as Array<[string, string]>;
  for (let d = rng.range(1, 3); d > 0; d--) {
    const name = rng.pick([
      'campaignId',
      'clickId',
      'type',
      'value',
      'currency',
      'ts',
      'name',
      'orderId',
      'url',
      'accountId',
      'key',
      'bogus',
      rng.pick(BAD_ENCODINGS),
    ]);
    fields.push([name, rng.pick(BAD_QUERY_VALUES)]);
  }
  const how = rng.int(4);
  const headers: OutgoingHttpHeaders = { 'user-agent': 'curl/8.0' };
  if (how === 0) headers.authorization = `Bearer ${key}`;
  else if (how === 1) headers['x-api-key'] = key;
  else if (how === 2) fields.push(['key', key]);
  const query = fields.map(([k, v]) => `${k}=${v}`).join('&');
  if (rng.bool(0.7))
    return { kind: 'http', category: 'postback', method: 'GET', path: `/postback?${query}`, headers };
  const json: Record<string, unknown> = {};
  for (const [k, v] of fields) json[k] = rng.bool(0.5) ? v : wrongValue(rng);
  return {
    kind: 'http',
    category: 'postback',
    method: 'POST',
    path: how === 2 ? `/postback?key=${key}` : '/postback',
    headers: {
      ...headers,
      'content-type': rng.pick(['application/json', 'text/plain', 'application/json; charset=utf-16']),
    },
    body: Buffer.from(JSON.stringify(json)),
  };
}

function unknownRoute(rng: Rng): HttpCase {
  const path = rng.pick<() => string>([
    () => rng.pick(KNOWN_PATHS),
    () => rng.pick(ODD_PATHS),
    () => `/${rng.str(rng.range(1, 2000), TOKEN + '/')}`,
    () => `/${rng.str(rng.range(1, 200), PRINTABLE)}`,
    () => `${rng.pick(KNOWN_PATHS)}?${rng.str(rng.range(1, 300), PRINTABLE)}`,
  ])();
  const method = rng.pick(METHODS);
  const withBody = rng.bool(0.3);
  return {
    kind: 'http',
    category: 'route-method',
    method,
    path,
    headers: {
      ...fuzzHeaders(rng),
      ...(withBody ? { 'content-type': rng.pick(['application/json', 'text/plain']) } : {}),
    },
    body: withBody ? rng.bytes(rng.range(0, 1000)) : undefined,
  };
}

// ---- raw TCP cases ---------------------------------------------------------------------------------

function templates(): Buffer[] {
  const body = JSON.stringify({
    accountId: DEMO_ACCOUNT_ID,
    campaignId: DEMO_CAMPAIGN_ID,
    events: [{ type: 'click', name: 'raw' }],
  });
  return [
    `GET /p.gif?a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&n=raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${BROWSER_USER_AGENT}\r\n\r\n`,
    `POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    `POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    `GET /i?a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ts_optout=1\r\n\r\n`,
  ].map((s) => Buffer.from(s, 'latin1'));
}
const TEMPLATES = templates();

function rawMutated(rng: Rng): RawCase {
  let b = Buffer.from(rng.pick(TEMPLATES));
  for (let m = rng.range(1, 8); m > 0; m--) {
    const at = rng.int(b.length);
    switch (rng.int(5)) {
      case 0:
        b[at] = rng.int(256);
        break;
      case 1:
        b = Buffer.concat([
          b.subarray(0, at),
          Buffer.from([rng.pick([0x00, 0x0d, 0x0a, 0x20, 0x09, 0x7f, 0xff])]),
          b.subarray(at),
        ]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.range(1, 20)))]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + rng.range(1, 50)), b.subarray(at)]);
        break;
      default:
        b = Buffer.concat([b.subarray(0, at), Buffer.from('\r\n'), b.subarray(at)]);
    }
  }
  return { kind: 'raw', category: 'raw-mutated', data: b, close: 'end' };
}

function rawTruncated(rng: Rng): RawCase {
  const t = rng.pick(TEMPLATES);
  const lying = Buffer.from(
    `POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${rng.range(10, 70_000)}\r\n\r\n{"events":[`,
  );
  const data = rng.bool(0.3) ? lying : t.subarray(0, rng.range(1, t.length - 1));
  return { kind: 'raw', category: 'raw-truncated', data, close: rng.bool(0.7) ? 'end' : 'hold' };
}

function rawBadTarget(rng: Rng): RawCase {
  const junk = () =>
    rng.pick<() => Buffer>([
      () => Buffer.from([0xff, 0xfe]),
      () => Buffer.from([0xc0, 0xaf]),
      () => Buffer.from([0xed, 0xa0, 0x80]),
      () => Buffer.from([0x00]),
      () => Buffer.from([rng.int(32)]),
      () => Buffer.from([0x7f]),
      () => rng.bytes(rng.range(1, 10)),
      () => Buffer.from(rng.pick(BAD_ENCODINGS)),
      () => Buffer.from(' '),
    ])();
  const target = Buffer.concat([
    Buffer.from(
      rng.pick([
        '/p.gif?a=',
        '/i?n=',
        '/config/',
        '/',
        '/postback?clickId=',
        '/collect?',
        `/p.gif?a=${DEMO_ACCOUNT_ID}&c=`,
      ]),
    ),
    junk(),
    Buffer.from(rng.bool() ? `&n=x` : ''),
    junk(),
  ]);
  const method = rng.pick(['GET', 'GET', 'POST', 'get', 'G ET', 'GETT', '', 'HEAD', 'DELETE']);
  const version = rng.pick([
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/1.0',
    'HTTP/9.9',
    'HTTP/1.1x',
    'HTTP/0.9',
    '',
    'http/1.1',
    'HTTP/1.1 extra',
  ]);
  const data = Buffer.concat([
    Buffer.from(`${method} `),
    target,
    Buffer.from(
      ` ${version}\r\nHost: 127.0.0.1\r\nUser-Agent: ${BROWSER_USER_AGENT}\r\nContent-Length: 2\r\n\r\n{}`,
    ),
  ]);
  return { kind: 'raw', category: 'raw-bad-target', data, close: 'end' };
}

function rawBadHeaders(rng: Rng): RawCase {
  const line = `${rng.pick(['GET /healthz', `GET /p.gif?a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}`, 'POST /collect', 'POST /postback'])} HTTP/1.1\r\n`;
  const body = '{"events":[]}';
  const head = rng.pick<() => string>([
    () => `Host: a\r\nX-Nul: a\u0000b\r\n`,
    () => `Host: a\r\nNoColon\r\n`,
    () => `Host: a\r\nX-Space : 1\r\n`,
    () => `Host: a\r\nX-Fold: a\r\n  folded\r\n`,
    () => `Host: a\r\nUser-Agent: ${'A'.repeat(rng.range(16_000, 40_000))}\r\n`,
    () =>
      `Host: a\r\n${Array.from({ length: rng.range(100, 3000) }, (_, i) => `X-H${i}: ${i}\r\n`).join('')}`,
    () => `Host: a\r\nCookie: ${'ts_optout=1; '.repeat(rng.range(1, 2000))}\r\n`,
    () => `Host: a\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n`,
    () => `Host: a\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`,
    () => `Host: a\r\nContent-Length: -1\r\n`,
    () => `Host: a\r\nContent-Length: 1e3\r\n`,
    () => `Host: a\r\nContent-Length: 99999999999999999999\r\n`,
    () => `Host: a\r\nTransfer-Encoding: chunked, identity\r\n`,
    () => `Host: a\r\nTransfer-Encoding: gzip\r\n`,
    () => `Host: a\r\nHost: b\r\n`,
    () => ``,
    () => `Host: a\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n`,
    () => `Host: a\r\nDNT: 1\r\nDNT: 0\r\nSec-GPC: 1\r\nCookie: a=1\r\nCookie: ts_optout=1\r\n`,
    () => `Host: a\r\n\u00ff\u00fe: x\r\n`,
    () => `Host: a\r\nUser-Agent: \u00ff\u00fe\u0080\r\nX-Request-Id: \u00e9\r\n`,
    () => `Host: a\r\nExpect: ${rng.pick(['100-continue', 'bogus'])}\r\n`,
    () => `Host: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`,
  ])();
  const chunked = head.includes('chunked');
  const tail = chunked
    ? rng.pick([
        `zz\r\n${body}\r\n0\r\n\r\n`,
        `ffffffffffffffffff\r\n${body}\r\n`,
        `-1\r\n\r\n`,
        `${body.length.toString(16)};ext=${'x'.repeat(5000)}\r\n${body}\r\n0\r\n\r\n`,
        `${body.length.toString(16)}\r\n${body}\r\n`,
      ])
    : body;
  const framing = /Content-Length|Transfer-Encoding/.test(head) ? '' : `Content-Length: ${body.length}\r\n`;
  const data = Buffer.from(`${line}${head}Content-Type: application/json\r\n${framing}\r\n${tail}`, 'latin1');
  return { kind: 'raw', category: 'raw-bad-headers', data, close: 'end' };
}

function rawPipelined(rng: Rng): RawCase {
  const parts: Buffer[] = [];
  for (let n = rng.range(2, 10); n > 0; n--) {
    parts.push(
      rng.pick<() => Buffer>([
        () => rng.pick(TEMPLATES),
        () => rawMutated(rng).data,
        () => rng.bytes(rng.range(1, 100)),
      ])(),
    );
  }
  return { kind: 'raw', category: 'raw-pipelined', data: Buffer.concat(parts), close: 'end' };
}

// ---- sending -------------------------------------------------------------------------------------

/** What one case produced: HTTP statuses seen, or how the exchange ended without one. */
interface Outcome {
  readonly statuses: number[];
  /** `closed` (no response), an error code, or `timeout`. */
  readonly end?: string;
  /** First bytes of the response body, kept for the report of a 5xx. */
  readonly body?: string;
}

function sendHttp(port: number, agent: Agent, c: HttpCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const statuses: number[] = [];
    let settled = false;
    const done = (o: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    let req;
    try {
      req = request({
        host: '127.0.0.1',
        port,
        method: c.method,
        path: c.path,
        headers: c.headers,
        agent,
        timeout: HTTP_TIMEOUT_MS,
      });
    } catch (err) {
      // The case itself is not sendable by an HTTP client (a generator bug, not a service failure).
      return done({ statuses, end: `client:${(err as NodeJS.ErrnoException).code ?? 'error'}` });
    }
    req.on('response', (res) => {
      statuses.push(res.statusCode ?? 0);
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        if (body.length < 1000) body += d;
      });
      res.on('end', () => done({ statuses, body }));
      res.on('error', () => done({ statuses, body }));
      res.on('aborted', () => done({ statuses, body, end: 'aborted' }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) => done({ statuses, end: err.code ?? err.message }));
    req.end(c.body);
  });
}

function sendRaw(port: number, c: RawCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let end: string | undefined;
    const socket = connect({ host: '127.0.0.1', port });
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      // Status lines of every response, pipelined ones included (they follow a body without a line break).
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ statuses, end: end ?? (statuses.length ? undefined : 'closed'), body: text.slice(0, 1000) });
    };
    const timer = setTimeout(() => {
      end = 'timeout';
      socket.destroy();
    }, RAW_TIMEOUT_MS);
    socket.on('data', (d: Buffer) => {
      if (size < 64 * 1024) chunks.push(d);
      size += d.length;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      end ??= err.code ?? err.message;
    });
    socket.on('close', finish);
    socket.on('connect', () => {
      if (c.close === 'end') {
        socket.end(c.data);
      } else {
        socket.write(c.data);
        setTimeout(() => socket.resetAndDestroy(), 20 + (c.data.length % 180));
      }
    });
  });
}

// ---- the test ------------------------------------------------------------------------------------

/** What one category of cases produced. */
interface CategoryStats {
  cases: number;
  totalMs: number;
  maxMs: number;
  /** HTTP status or end of exchange → occurrences. */
  readonly outcomes: Map<string, number>;
}

let proc: IngestProcess | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await proc?.stop('SIGTERM', 10_000);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test(`${TOTAL} malformed requests: no 5xx, no crash, bounded memory`, async () => {
  console.log(
    `fuzz seed=${SEED} (rerun with FUZZ_SEED=${SEED}), ${TOTAL} requests, concurrency ${CONCURRENCY}`,
  );
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-fuzz-'));
  proc = await spawnIngest(dataDir);
  const p = proc;
  const apiKey = p.apiKey;
  if (!apiKey) throw new Error(`the child printed no API key:\n${p.output()}`);
  const env: Env = { apiKey };

  const rssBeforeKb = await vmRssKb(p.pid);
  let rssPeakKb = rssBeforeKb;
  const sampler = setInterval(() => {
    vmRssKb(p.pid).then(
      (kb) => (rssPeakKb = Math.max(rssPeakKb, kb)),
      () => undefined,
    );
  }, 200);

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const byCategory = new Map<string, CategoryStats>();
  const serverErrors: string[] = [];
  let httpCases = 0;
  let httpAnswered = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < TOTAL; i = next++) {
      const c = buildCase(i, env);
      const t0 = performance.now();
      const outcome = c.kind === 'http' ? await sendHttp(p.port, agent, c) : await sendRaw(p.port, c);
      const ms = performance.now() - t0;
      let stats = byCategory.get(c.category);
      if (!stats)
        byCategory.set(c.category, (stats = { cases: 0, totalMs: 0, maxMs: 0, outcomes: new Map() }));
      stats.cases++;
      stats.totalMs += ms;
      stats.maxMs = Math.max(stats.maxMs, ms);
      for (const key of [...outcome.statuses.map(String), ...(outcome.end ? [outcome.end] : [])])
        stats.outcomes.set(key, (stats.outcomes.get(key) ?? 0) + 1);
      if (c.kind === 'http') {
        httpCases++;
        if (outcome.statuses.length > 0) httpAnswered++;
      }
      if (outcome.statuses.some((s) => s >= 500)) {
        const what =
          c.kind === 'http'
            ? `${c.method} ${c.path.slice(0, 200)} headers=${JSON.stringify(c.headers).slice(0, 300)} body=${JSON.stringify(c.body?.subarray(0, 200).toString('latin1') ?? '')}`
            : `raw ${JSON.stringify(c.data.subarray(0, 300).toString('latin1'))}`;
        serverErrors.push(
          `#${i} [${c.category}] ${what}\n  → ${outcome.statuses.join(',')} ${outcome.body?.slice(0, 300) ?? ''}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  clearInterval(sampler);

  const alive = p.alive();
  // A dead child is reported with its output (the crash's stack) rather than as a failed fetch.
  if (!alive)
    throw new Error(`fuzz seed=${SEED}: the service died during the run:\n${p.output().slice(-8000)}`);
  const health = await fetch(`${p.url}/healthz`);
  const rssAfterKb = await vmRssKb(p.pid);
  rssPeakKb = Math.max(rssPeakKb, rssAfterKb);
  const growthMb = (rssAfterKb - rssBeforeKb) / 1024;
  const errorLogs = p
    .output()
    .split('\n')
    .filter((l) => /"level":(50|60)/.test(l));

  const table = [...byCategory.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, stats]) => {
      const outcomes = [...stats.outcomes.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}:${v}`)
        .join(' ');
      const timing = `mean ${(stats.totalMs / stats.cases).toFixed(1)} ms, max ${stats.maxMs.toFixed(0)} ms`;
      return `  ${category.padEnd(22)} ${String(stats.cases).padStart(6)}  ${outcomes}  (${timing})`;
    })
    .join('\n');
  console.log(
    `fuzz seed=${SEED}: ${TOTAL} cases in ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)}/s); ` +
      `HTTP cases answered ${httpAnswered}/${httpCases}; 5xx ${serverErrors.length}\n` +
      `  RSS before ${(rssBeforeKb / 1024).toFixed(1)} MB, peak ${(rssPeakKb / 1024).toFixed(1)} MB, ` +
      `after ${(rssAfterKb / 1024).toFixed(1)} MB, growth ${growthMb.toFixed(1)} MB (bound ${MAX_RSS_GROWTH_MB} MB)\n` +
      `  error-level log lines from the service: ${errorLogs.length}\n` +
      `outcomes per category (statuses seen, or how the exchange ended without one):\n${table}`,
  );
  if (errorLogs.length) console.log(`first error logs:\n${errorLogs.slice(0, 5).join('\n')}`);

  expect({ seed: SEED, serverErrors: serverErrors.slice(0, 20), count: serverErrors.length }).toEqual({
    seed: SEED,
    serverErrors: [],
    count: 0,
  });
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  expect(growthMb).toBeLessThan(MAX_RSS_GROWTH_MB);
  // Guards against a vacuous pass: the stream must actually have reached the service's HTTP layer.
  expect(httpAnswered).toBeGreaterThan(httpCases * 0.9);
}, 120_000);
