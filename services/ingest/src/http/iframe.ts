/** The iframe tag's document: it posts the hit to `/collect` as a keepalive fetch carrying the body's hash. */
import { randomBytes } from 'node:crypto';
import { CONTENT_SHA256_HEADER, EDGE_ACCOUNT_PARAM } from '../../../../platform/contracts/edge';
import type { TrackEvent } from '../pipeline/validation';

/** Escapes JSON for a `<script>` element, so no value can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Builds the iframe document and the CSP nonce of its script. */
export function iframeHtml(event: TrackEvent): { html: string; nonce: string } {
  const nonce = randomBytes(16).toString('base64');
  // Like the snippet: the body's SHA-256 in x-amz-content-sha256 (Lambda behind the CDN's origin access
  // control takes a POST only with it) and the account as `a`, by which the edge routes the hit. Without
  // crypto.subtle (an embedding page on plain http) only an unhashed beacon is left, which the CDN's origin
  // refuses and an origin without origin access control takes.
  const collectUrl = `collect?${EDGE_ACCOUNT_PARAM}=${encodeURIComponent(event.accountId)}`;
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>trackstack</title></head><body>
<script nonce="${nonce}">
(function () {
  var body = JSON.stringify(${scriptJson(event)});
  var url = ${scriptJson(collectUrl)};
  function unhashed() {
    var ok = navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }));
    if (!ok) fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: body, keepalive: true, credentials: 'same-origin' });
  }
  var subtle = window.isSecureContext && window.crypto && window.crypto.subtle;
  if (!subtle || !window.TextEncoder) return unhashed();
  var bytes = new TextEncoder().encode(body);
  subtle.digest('SHA-256', bytes).then(function (digest) {
    var hex = Array.prototype.map.call(new Uint8Array(digest), function (b) { return (b < 16 ? '0' : '') + b.toString(16); }).join('');
    fetch(url, { method: 'POST', body: bytes, keepalive: true, credentials: 'same-origin', headers: { 'content-type': 'text/plain', ${scriptJson(CONTENT_SHA256_HEADER)}: hex } });
  }, unhashed);
})();
</script>
</body></html>
`;
  return { html, nonce };
}
