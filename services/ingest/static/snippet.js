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
  var base = new URL(script.src).origin;
  var queue = [];
  var config = null;

  function send(events) {
    if (!config || events.length === 0) return;
    var body = JSON.stringify({ accountId: config.accountId, campaignId: config.campaignId, events: events });
    var url = config.collectUrl || base + '/collect';
    // text/plain keeps the beacon a "simple" request: no CORS preflight.
    var sent = navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }));
    if (!sent)
      fetch(url, { method: 'POST', body: body, headers: { 'content-type': 'text/plain' }, keepalive: true });
  }

  function event(type, fields) {
    var e = { type: type, url: location.href.slice(0, 2048), ts: Date.now() };
    if (document.referrer) e.referrer = document.referrer.slice(0, 2048);
    for (var k in fields || {}) if (Object.prototype.hasOwnProperty.call(fields, k)) e[k] = fields[k];
    return e;
  }

  window.trackstack = {
    /** Records an event; before the config has loaded, events wait in a queue. */
    track: function (type, fields) {
      var e = event(type, fields);
      if (config) send([e]);
      else queue.push(e);
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
  // Campaign ids are unique per account only, so the config's path carries the account.
  fetch(base + '/config/' + account + '/' + campaign + '.json', { credentials: 'omit' })
    .then(function (res) {
      if (!res.ok) throw new Error('config ' + res.status);
      return res.json();
    })
    .then(function (c) {
      if (c.accountId !== account || c.campaignId !== campaign)
        throw new Error('config is for another campaign');
      config = c;
      if (c.autoPageview !== false) queue.unshift(event('pageview'));
      send(queue.splice(0, 50));
      document.dispatchEvent(new CustomEvent('trackstack:ready', { detail: c }));
    })
    .catch(function (err) {
      console.warn('trackstack: ' + err.message);
    });
})();
