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

/** Cuts a (validated, http or https) URL into its storable parts. */
export function splitPageUrl(url: string): PageUrlParts {
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
