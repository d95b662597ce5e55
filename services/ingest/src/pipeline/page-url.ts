/**
 * What of a page URL or referrer is stored, and how (the README's privacy section): the origin and path in
 * clear; with consent, the campaign's attribution parameters in clear and the whole URL encrypted with the
 * personal fields; without consent, nothing past the path. Query strings carry e-mail addresses, reset
 * tokens and session ids often enough that they are never stored in clear by default.
 */
import { DEFAULT_CAMPAIGN_URL_PARAMS } from '../../../../platform';

/** Attribution parameters kept per event at most, and the longest value kept. */
const MAX_PARAMS = 20;
const MAX_PARAM_VALUE = 256;

/** A URL cut into what may be stored in clear and what may not. */
export interface PageUrlParts {
  /** `scheme://host[:port]/path`: no credentials, query string or fragment. */
  readonly base: string;
  /** Whether the URL had more than {@link base} (credentials, a query string or a fragment). */
  readonly hasMore: boolean;
  /** The query parameters, when there are any. */
  readonly query?: URLSearchParams;
}

/**
 * The common shape of a page URL, which the WHATWG parser leaves as written: `http(s)://`, a lower-case
 * ASCII host name whose last label starts with a letter (so it is not an IPv4 address in any notation), an
 * optional port without leading zeros, a path of unreserved characters, then an optional query and
 * fragment, all printable ASCII. Hosts with punycode, ports above 65535 and dot segments are left to the
 * parser by the callers. Reading these by hand saves the parser's cost, a twentieth of the pixel path.
 */
const PLAIN_URL =
  /^(https?):\/\/((?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*)(?::([1-9][0-9]{0,4}))?((?:\/[A-Za-z0-9_~.-]*)*)([?#][\x21-\x7e]*)?$/;
const DOT_SEGMENT = /\/\.\.?(?=\/|$)/;
const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' };

interface PlainUrl {
  /** `scheme://host[:port]`, the default port left out, as the parser writes an origin. */
  readonly origin: string;
  /** The path, `/` when empty. */
  readonly path: string;
  /** What follows the path: `?query#fragment`, either part optional, or the empty string. */
  readonly rest: string;
}

function plainUrl(url: string): PlainUrl | undefined {
  const m = PLAIN_URL.exec(url);
  if (!m) return undefined;
  const [, scheme, host, port, path, rest] = m;
  if (host!.includes('xn--') || DOT_SEGMENT.test(path!)) return undefined;
  if (port !== undefined && Number(port) > 65_535) return undefined;
  const origin =
    port === undefined || port === DEFAULT_PORT[scheme!]
      ? `${scheme}://${host}`
      : `${scheme}://${host}:${port}`;
  return { origin, path: path || '/', rest: rest ?? '' };
}

/**
 * The WHATWG origin of `url` (`scheme://host[:port]`), `undefined` when it does not parse or its origin
 * is opaque. The common shape is read without the URL parser.
 */
export function originOfUrl(url: string): string | undefined {
  // Only the origin is needed here, so any path and query will do: the prefix decides.
  const plain = plainUrl(url);
  if (plain) return plain.origin;
  if (!URL.canParse(url)) return undefined;
  const { origin } = new URL(url);
  return origin === 'null' ? undefined : origin;
}

/** Cuts a (validated, http or https) URL into its storable parts. */
export function splitPageUrl(url: string): PageUrlParts {
  const plain = plainUrl(url);
  if (plain) {
    const base = plain.origin + plain.path;
    const { rest } = plain;
    if (rest === '') return { base, hasMore: false };
    const hashAt = rest.indexOf('#');
    const search = rest.charCodeAt(0) === 63 /* ? */ ? rest.slice(1, hashAt < 0 ? undefined : hashAt) : '';
    const hasMore = search !== '' || (hashAt >= 0 && hashAt < rest.length - 1);
    // The constructor drops one leading `?`: given the query with its own, a query that starts with `?`
    // keeps it, as the parser's `searchParams` does.
    return search === '' ? { base, hasMore } : { base, hasMore, query: new URLSearchParams(`?${search}`) };
  }
  const u = new URL(url);
  const base = `${u.origin}${u.pathname}`;
  const hasMore = u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '';
  return u.search === '' ? { base, hasMore } : { base, hasMore, query: u.searchParams };
}

/** Whether a parameter name is on an allow-list whose entries may end in `*` (a prefix). */
export function paramAllowed(name: string, allowList: readonly string[]): boolean {
  for (const entry of allowList) {
    if (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry) return true;
  }
  return false;
}

/**
 * The allow-listed attribution parameters of a query string, first value of each, bounded in count and
 * length; `undefined` when there are none.
 */
export function attributionParams(
  query: URLSearchParams | undefined,
  allowList: readonly string[] = DEFAULT_CAMPAIGN_URL_PARAMS,
): Record<string, string> | undefined {
  if (!query) return undefined;
  let out: Record<string, string> | undefined;
  let n = 0;
  for (const [name, value] of query) {
    if (n >= MAX_PARAMS) break;
    if (!paramAllowed(name, allowList) || (out && name in out)) continue;
    // A null-prototype object: a parameter named __proto__ must stay a plain key.
    out ??= Object.create(null) as Record<string, string>;
    out[name] = value.slice(0, MAX_PARAM_VALUE);
    n++;
  }
  return out;
}
