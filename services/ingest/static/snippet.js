/*! Trackstack snippet. Add to the <head> of a page:
 *  <script async src="https://CDN/snippet.js" data-account="acc_..." data-campaign="cmp_..."></script>
 * It fetches the campaign's config from the CDN, records a page view, and exposes
 * window.trackstack.track(type, fields) for clicks, impressions and conversions. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.trackstack) return;
  var account = script.getAttribute('data-account');
  var campaign = script.getAttribute('data-campaign');
  // Hits go to the origin the snippet came from: the CDN, which routes them by their `a` parameter.
  var base = new URL(script.src).origin;
  // The service takes at most 50 events per request.
  var MAX_EVENTS = 50;
  // keepalive fetches (and sendBeacon) of a page share 64 KiB of bodies in flight; a body that would pass
  // it is refused outright. So bodies are kept small enough for several to be in flight at once, and one
  // that does not fit the budget left goes without keepalive (it then only survives while the page does).
  var MAX_BODY_BYTES = 16 * 1024;
  var KEEPALIVE_BYTES = 64 * 1024;
  var keepaliveInFlight = 0;
  // A digest needs a secure context (https, or http://localhost); elsewhere crypto.subtle is undefined.
  var subtle = window.isSecureContext && window.crypto && window.crypto.subtle;
  var encoder = window.TextEncoder ? new window.TextEncoder() : null;
  var queue = [];
  var config = null;

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = '';
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return out;
  }

  function byteLength(text) {
    return encoder ? encoder.encode(text).length : new Blob([text]).size;
  }

  // Posts one body. Through the CDN, CloudFront signs the request to the Lambda origin (origin access
  // control), and Lambda takes a signed POST only with the SHA-256 of its body in x-amz-content-sha256;
  // sendBeacon cannot set a header, so beacons are keepalive fetches that carry the hash.
  function post(url, body) {
    if (!subtle || !encoder) return postUnhashed(url, body);
    var bytes = encoder.encode(body);
    subtle.digest('SHA-256', bytes).then(
      function (digest) {
        var keepalive = keepaliveInFlight + bytes.length <= KEEPALIVE_BYTES;
        if (keepalive) keepaliveInFlight += bytes.length;
        var settled = function () {
          if (keepalive) keepaliveInFlight -= bytes.length;
        };
        // The hash header makes a cross-origin beacon preflighted; the service answers the preflight.
        // Credentials go along so that the visitor's opt-out cookie on the tracking domain is honoured.
        fetch(url, {
          method: 'POST',
          body: bytes,
          keepalive: keepalive,
          credentials: 'include',
          headers: { 'content-type': 'text/plain', 'x-amz-content-sha256': hex(digest) },
        }).then(settled, settled);
      },
      function () {
        postUnhashed(url, body);
      },
    );
  }

  // Without crypto.subtle (a page on plain http other than localhost) there is no hash, and sendBeacon is
  // the surest way out of an unloading page. Such a beacon reaches an origin that takes unsigned POSTs
  // (`npm run local`, an origin not behind origin access control), but through the CDN CloudFront signs it
  // without a body hash and Lambda refuses it: pages on plain http are not counted there.
  function postUnhashed(url, body) {
    var blob = new Blob([body], { type: 'text/plain' });
    if (navigator.sendBeacon && navigator.sendBeacon(url, blob)) return;
    fetch(url, {
      method: 'POST',
      body: body,
      credentials: 'include',
      headers: { 'content-type': 'text/plain' },
    });
  }

  function envelope(events) {
    return JSON.stringify({ accountId: config.accountId, campaignId: config.campaignId, events: events });
  }

  // Sends events in bodies of at most MAX_EVENTS events and MAX_BODY_BYTES (one larger event goes alone).
  function send(events) {
    if (!config || events.length === 0) return;
    var url = base + '/collect?a=' + encodeURIComponent(config.accountId);
    var chunk = [];
    var size = byteLength(envelope([]));
    for (var i = 0; i < events.length; i++) {
      var eventBytes = byteLength(JSON.stringify(events[i])) + 1;
      if (chunk.length > 0 && (chunk.length === MAX_EVENTS || size + eventBytes > MAX_BODY_BYTES)) {
        post(url, envelope(chunk));
        chunk = [];
        size = byteLength(envelope([]));
      }
      chunk.push(events[i]);
      size += eventBytes;
    }
    post(url, envelope(chunk));
  }

  // Signals of withheld consent a page can see; the service also reads them (and its opt-out cookie).
  function withholdsConsent() {
    return navigator.doNotTrack === '1' || navigator.globalPrivacyControl === true;
  }

  function event(type, fields) {
    var e = { type: type, url: location.href.slice(0, 2048), ts: Date.now() };
    if (document.referrer) e.referrer = document.referrer.slice(0, 2048);
    for (var k in fields || {}) if (Object.prototype.hasOwnProperty.call(fields, k)) e[k] = fields[k];
    return e;
  }

  function counted() {
    // A campaign that does not count anonymous hits would drop them at the service: none is sent.
    return config.countAnonymous || !withholdsConsent();
  }

  window.trackstack = {
    /** Records an event; before the config has loaded, events wait in a queue. */
    track: function (type, fields) {
      var e = event(type, fields);
      if (!config) queue.push(e);
      else if (counted()) send([e]);
    },
    /** The campaign config, once loaded. */
    config: function () {
      return config;
    },
  };

  if (!/^acc_[a-z0-9]{8,32}$/.test(account || '') || !/^cmp_[a-z0-9-]{4,32}$/.test(campaign || '')) {
    console.warn('trackstack: data-account or data-campaign is missing or malformed');
    return;
  }
  // Campaign ids are unique per account only, so the config's path carries the account. The document's
  // fields are those of campaignConfigDocumentSchema (platform/contracts/campaign-config.ts), no others.
  fetch(base + '/config/' + account + '/' + campaign + '.json', { credentials: 'omit' })
    .then(function (res) {
      if (!res.ok) throw new Error('config ' + res.status);
      return res.json();
    })
    .then(function (c) {
      if (c.v !== 1) throw new Error('config format ' + c.v + ' is not supported by this snippet');
      if (c.accountId !== account || c.campaignId !== campaign)
        throw new Error('config is for another campaign');
      config = c;
      if (c.autoPageview) queue.unshift(event('pageview'));
      if (counted()) send(queue);
      queue = [];
      document.dispatchEvent(new CustomEvent('trackstack:ready', { detail: c }));
    })
    .catch(function (err) {
      console.warn('trackstack: ' + err.message);
    });
})();
