/**
 * The response headers policies of the distribution: the same security headers everywhere, with the
 * differences each route needs.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type { Construct } from 'constructs';

/** Two years, as the HSTS preload list asks. */
export const HSTS_MAX_AGE = Duration.days(730);

/**
 * The fallback policy of the iframe document: the ingest service sends its own, with the nonce of the
 * document's script (which the edge cannot know), and the origin's header wins (`override: false`). This
 * one covers the responses the origin did not write (errors from CloudFront itself).
 */
export const IFRAME_CSP = "default-src 'none'; img-src 'self'; connect-src 'self'; frame-ancestors *";

/** What the policies differ in. */
export interface SecurityHeadersOptions {
  /** The browsers' cache time of a campaign config. */
  readonly configMaxAge: Duration;
  /** The browsers' cache time of `/snippet.js`. */
  readonly snippetMaxAge: Duration;
}

/**
 * The four policies: hits (`/p.gif`, `/collect`, `/postback`, health), the iframe route `/i` (embeddable,
 * with a CSP), the campaign configs and the snippet (both fetched cross-origin by customers' pages, so
 * with CORS for any origin, and a browser cache time of their own).
 */
export function securityHeaders(scope: Construct, options: SecurityHeadersOptions) {
  const base = (frameOptions: boolean, csp?: string): cloudfront.ResponseSecurityHeadersBehavior => ({
    strictTransportSecurity: {
      accessControlMaxAge: HSTS_MAX_AGE,
      includeSubdomains: true,
      preload: true,
      override: true,
    },
    contentTypeOptions: { override: true },
    referrerPolicy: {
      referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
      override: true,
    },
    frameOptions: frameOptions
      ? { frameOption: cloudfront.HeadersFrameOption.DENY, override: true }
      : undefined,
    contentSecurityPolicy: csp === undefined ? undefined : { contentSecurityPolicy: csp, override: false },
  });
  const cors: cloudfront.ResponseHeadersCorsBehavior = {
    accessControlAllowOrigins: ['*'],
    accessControlAllowMethods: ['GET', 'HEAD'],
    accessControlAllowHeaders: ['*'],
    accessControlAllowCredentials: false,
    accessControlMaxAge: Duration.days(1),
    originOverride: true,
  };
  const cacheControl = (maxAge: Duration): cloudfront.ResponseCustomHeadersBehavior => ({
    customHeaders: [
      { header: 'Cache-Control', value: `public, max-age=${maxAge.toSeconds()}`, override: true },
    ],
  });
  return {
    hits: new cloudfront.ResponseHeadersPolicy(scope, 'HitHeaders', {
      comment: 'Trackstack hits: HSTS, nosniff, referrer policy, no framing',
      securityHeadersBehavior: base(true),
    }),
    iframe: new cloudfront.ResponseHeadersPolicy(scope, 'IframeHeaders', {
      comment: 'Trackstack iframe tag: embeddable by customers pages, with a CSP',
      securityHeadersBehavior: base(false, IFRAME_CSP),
    }),
    config: new cloudfront.ResponseHeadersPolicy(scope, 'ConfigHeaders', {
      comment: 'Trackstack campaign configs: security headers, CORS, short browser cache',
      securityHeadersBehavior: base(true),
      corsBehavior: cors,
      customHeadersBehavior: cacheControl(options.configMaxAge),
    }),
    snippet: new cloudfront.ResponseHeadersPolicy(scope, 'SnippetHeaders', {
      comment: 'Trackstack snippet: security headers, CORS, short browser cache',
      securityHeadersBehavior: base(true),
      corsBehavior: cors,
      customHeadersBehavior: cacheControl(options.snippetMaxAge),
    }),
  };
}
