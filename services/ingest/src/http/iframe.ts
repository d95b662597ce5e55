/** The iframe tag's document: it posts the hit to `/collect` as a beacon, with a pixel as no-script fallback. */
import { randomBytes } from 'node:crypto';
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
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>trackstack</title></head><body>
<script nonce="${nonce}">
(function () {
  var body = JSON.stringify(${scriptJson(event)});
  var ok = navigator.sendBeacon && navigator.sendBeacon('collect', new Blob([body], { type: 'text/plain' }));
  if (!ok) fetch('collect', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: body, keepalive: true });
})();
</script>
</body></html>
`;
  return { html, nonce };
}
