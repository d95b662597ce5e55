/**
 * A campaign's `allowedOrigins`: which pages' browser hits it takes. Matching is on the origin the browser
 * itself reports (see `pageOriginOf`), so a page cannot claim another site's origin; a non-browser client
 * can claim anything, which is why this guards against other sites embedding a customer's tag, not
 * against forgery, and why postbacks are authenticated by key instead.
 */

/** The origin of the service's own documents (the iframe tag's), which `/i` checked when serving them. */
export const SELF_ORIGIN = 'self';

/**
 * Whether a browser hit from `origin` may be stored for a campaign allowing `allowed`. An empty list allows
 * every origin; otherwise an unknown origin (the browser sent neither `Origin` nor `Referer`) is refused.
 * An entry `https://*.shop.example` allows every subdomain of `shop.example`, not the domain itself.
 */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  if (allowed.length === 0 || origin === SELF_ORIGIN) return true;
  if (origin === undefined) return false;
  const o = origin.toLowerCase();
  for (const entry of allowed) {
    const e = entry.toLowerCase();
    const wildcard = e.indexOf('://*.');
    if (wildcard < 0) {
      if (o === e) return true;
      continue;
    }
    // `scheme://*.domain[:port]`: the origin is `scheme://`, one or more labels, then `.domain[:port]`.
    const scheme = e.slice(0, wildcard + 3);
    const suffix = e.slice(wildcard + 4);
    if (!o.startsWith(scheme) || !o.endsWith(suffix)) continue;
    const labels = o.slice(scheme.length, o.length - suffix.length);
    if (/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(labels)) return true;
  }
  return false;
}
