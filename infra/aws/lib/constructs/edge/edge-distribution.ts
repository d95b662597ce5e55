/**
 * The CloudFront distribution of a stage: the ingest origins of every location, routed hit by hit by the
 * router function, and the config bucket for the snippet and the campaign configs.
 */
import { Duration } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  API_KEY_HEADER,
  CONTENT_SHA256_HEADER,
  edgeHealthPath,
  edgeOriginId,
  type Location,
} from '../../../../../platform';
import { acknowledgeEdgeDistribution } from '../../../../../policies/aws/edge-acknowledgements';
import { routerFunctionCode } from '../../edge/router-code';
import { CONFIG_PREFIX } from './config-bucket';
import { withOriginAccessControl } from './private/oac-origin';
import { SNIPPET_PATH, snippetRewriteCode } from './snippet';
import { securityHeaders } from './private/headers';

/** The hit routes: each goes to the ingest origin the router function picks, never cached. */
export const HIT_ROUTES = {
  '/p.gif': cloudfront.AllowedMethods.ALLOW_GET_HEAD,
  '/collect': cloudfront.AllowedMethods.ALLOW_ALL,
  '/i': cloudfront.AllowedMethods.ALLOW_GET_HEAD,
  '/postback': cloudfront.AllowedMethods.ALLOW_ALL,
} as const;

/**
 * The viewer headers the ingest service reads, forwarded to its origins: `Host` is never among them (a
 * Function URL answers only to its own host name, and origin access control signs that name).
 */
export const INGEST_HEADERS = [
  'user-agent',
  'content-type',
  'origin',
  'referer',
  'dnt',
  'sec-gpc',
  API_KEY_HEADER,
  CONTENT_SHA256_HEADER,
  'CloudFront-Viewer-Address',
  'CloudFront-Viewer-Country',
] as const;

/** How long the CDN keeps a campaign config: `publish-config` invalidates it, this bounds a missed one. */
export const CONFIG_CDN_TTL = Duration.seconds(60);
/** How long the CDN keeps a snippet version: forever in practice, since every version has its own key. */
export const SNIPPET_CDN_TTL = Duration.days(365);
/** How long browsers keep `/snippet.js`: a new version reaches pages within this time. */
export const SNIPPET_BROWSER_TTL = Duration.minutes(5);

/** A custom domain of the distribution. */
export interface EdgeDomain {
  /** The domain, e.g. `t.example.com`. */
  readonly domainName: string;
  /** An ACM certificate in us-east-1 that covers it. */
  readonly certificate: acm.ICertificate;
}

/** Properties of {@link EdgeDistribution}. */
export interface EdgeDistributionProps {
  /**
   * Each deployed location's ingest Function URL host name (`<id>.lambda-url.<region>.on.aws`, of a URL with
   * `AuthType AWS_IAM`), in the stage's order.
   */
  readonly ingestOrigins: ReadonlyMap<Location, string>;
  /**
   * Accounts pinned to a home location by the stage configuration, embedded in the router's code.
   * @default - none
   */
  readonly homeLocations?: Readonly<Record<string, Location>>;
  /** The edge store the router function reads (`down`, `home:<account>`, `revoked:<keyId>`). */
  readonly keyValueStore: cloudfront.IKeyValueStore;
  /**
   * The config bucket, referenced by name (`ConfigBucket.bucketByName`): its key's policy names this
   * distribution, so the distribution may not reference the bucket resource.
   */
  readonly configBucket: s3.IBucket;
  /** The bucket of the access logs, referenced by name for the same reason. */
  readonly logBucket: s3.IBucket;
  /** The config bucket key of the current snippet version (`snippetObjectKey`). */
  readonly snippetObjectKey: string;
  /**
   * ARN of the web ACL (scope CLOUDFRONT) that guards the distribution.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * The custom domain: TLS 1.2 (TLSv1.2_2021) with its certificate.
   * @default - the `*.cloudfront.net` domain, with which CloudFront allows TLSv1
   */
  readonly domain?: EdgeDomain;
  /**
   * Which edge locations serve the distribution.
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
}

/**
 * The distribution and everything it is made of: origin access control for the Lambda and S3 origins,
 * the router and snippet functions, the cache, origin request and response headers policies.
 *
 * Every location's Function URL is an origin with id `edgeOriginId(location)`, which is what the router
 * function selects. CDK adds an origin to a distribution only through a behaviour, so each location gets
 * one: `/_health/<location>` (`edgeHealthPath`), whose origin is that location's URL. Those behaviours
 * double as the health check's probes: the router sends a health path to its own location's `/readyz`,
 * whatever the viewer's location, so the check sees each region exactly as CloudFront reaches it.
 */
export class EdgeDistribution extends Construct {
  /** The distribution. */
  public readonly distribution: cloudfront.Distribution;
  /** The viewer-request function that routes hits (JavaScript runtime 2.0, with the edge store). */
  public readonly routerFunction: cloudfront.Function;
  /** The viewer-request function that serves `/snippet.js` from its current version's object. */
  public readonly snippetFunction: cloudfront.Function;
  /** The origin access control of the ingest Function URLs (SigV4, always signing). */
  public readonly functionUrlAccessControl: cloudfront.FunctionUrlOriginAccessControl;
  /** The origin access control of the config bucket (SigV4, always signing). */
  public readonly bucketAccessControl: cloudfront.S3OriginAccessControl;
  /** The origin request policy of the hit and health routes. */
  public readonly ingestOriginRequestPolicy: cloudfront.OriginRequestPolicy;
  /** The cache policies of the campaign configs and of the snippet. */
  public readonly configCachePolicy: cloudfront.CachePolicy;
  /** The cache policy of the snippet's versions. */
  public readonly snippetCachePolicy: cloudfront.CachePolicy;
  /** The response headers policies: hits, the iframe route, the configs, the snippet. */
  public readonly headers: {
    readonly hits: cloudfront.ResponseHeadersPolicy;
    readonly iframe: cloudfront.ResponseHeadersPolicy;
    readonly config: cloudfront.ResponseHeadersPolicy;
    readonly snippet: cloudfront.ResponseHeadersPolicy;
  };

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    const locations = [...props.ingestOrigins.keys()];
    if (locations.length === 0)
      throw new Error(`[${this.node.path}] ingestOrigins: needs at least one location`);

    this.functionUrlAccessControl = new cloudfront.FunctionUrlOriginAccessControl(
      this,
      'IngestAccessControl',
      {
        description: 'CloudFront signs every request to the ingest Function URLs (AuthType AWS_IAM)',
        signing: cloudfront.Signing.SIGV4_ALWAYS,
      },
    );
    this.bucketAccessControl = new cloudfront.S3OriginAccessControl(this, 'ConfigBucketAccessControl', {
      description: 'CloudFront signs every request to the config bucket',
      signing: cloudfront.Signing.SIGV4_ALWAYS,
    });

    this.routerFunction = new cloudfront.Function(this, 'Router', {
      comment: 'Routes each hit to its ingest origin: home location, else nearest healthy location',
      code: cloudfront.FunctionCode.fromInline(
        routerFunctionCode({ locations, homeLocations: props.homeLocations }),
      ),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      keyValueStore: props.keyValueStore,
    });
    this.snippetFunction = new cloudfront.Function(this, 'SnippetVersion', {
      comment: 'Serves /snippet.js from the object of the current snippet version',
      code: cloudfront.FunctionCode.fromInline(snippetRewriteCode(props.snippetObjectKey)),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });
    const routed: cloudfront.FunctionAssociation[] = [
      { function: this.routerFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
    ];

    this.ingestOriginRequestPolicy = new cloudfront.OriginRequestPolicy(this, 'IngestOriginRequest', {
      comment: 'Trackstack hits: every query parameter, the opt-out cookie and the headers the ingest reads',
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.all(),
      // The ingest reads only its opt-out cookie; forwarding all keeps the policy independent of its name.
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.all(),
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(...INGEST_HEADERS),
    });
    this.configCachePolicy = bucketCachePolicy(this, 'ConfigCache', {
      comment: 'Trackstack campaign configs: short, publish-config invalidates on change',
      defaultTtl: CONFIG_CDN_TTL,
      minTtl: Duration.seconds(0),
      maxTtl: CONFIG_CDN_TTL,
    });
    this.snippetCachePolicy = bucketCachePolicy(this, 'SnippetCache', {
      comment: 'Trackstack snippet versions: each has its own object key, so they never change',
      defaultTtl: SNIPPET_CDN_TTL,
      // The object's own Cache-Control (if any) must not shorten the CDN's copy.
      minTtl: SNIPPET_CDN_TTL,
      maxTtl: SNIPPET_CDN_TTL,
    });
    this.headers = securityHeaders(this, {
      configMaxAge: CONFIG_CDN_TTL,
      snippetMaxAge: SNIPPET_BROWSER_TTL,
    });

    // An HTTPS origin by host name, as `FunctionUrlOrigin` renders one: the host name crosses regions
    // as a plain stack output, where the URL would need Fn::Split over it in this template.
    const ingestOrigin = (location: Location, domainName: string) =>
      withOriginAccessControl(
        new origins.HttpOrigin(domainName, {
          originId: edgeOriginId(location),
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        this.functionUrlAccessControl,
      );
    const ingest = new Map(locations.map((l) => [l, ingestOrigin(l, props.ingestOrigins.get(l)!)]));
    // Hits name any location's origin: the router function selects the real one for every request.
    const hitOrigin = ingest.get(locations[0]!)!;
    const hitBehaviour = (
      allowedMethods: cloudfront.AllowedMethods,
      iframe = false,
    ): cloudfront.BehaviorOptions => ({
      origin: hitOrigin,
      allowedMethods,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: this.ingestOriginRequestPolicy,
      responseHeadersPolicy: iframe ? this.headers.iframe : this.headers.hits,
      functionAssociations: routed,
      compress: true,
    });
    const additionalBehaviors: Record<string, cloudfront.BehaviorOptions> = {};
    for (const [path, methods] of Object.entries(HIT_ROUTES)) {
      additionalBehaviors[path] = hitBehaviour(methods, path === '/i');
    }
    for (const location of locations) {
      additionalBehaviors[edgeHealthPath(location)] = {
        ...hitBehaviour(cloudfront.AllowedMethods.ALLOW_GET_HEAD),
        origin: ingest.get(location)!,
      };
    }

    const bucketOrigin = withOriginAccessControl(
      origins.S3BucketOrigin.withBucketDefaults(props.configBucket, { originId: 'config-bucket' }),
      this.bucketAccessControl,
    );
    additionalBehaviors[SNIPPET_PATH] = {
      origin: bucketOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: this.snippetCachePolicy,
      responseHeadersPolicy: this.headers.snippet,
      functionAssociations: [
        { function: this.snippetFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
      ],
    };
    additionalBehaviors[`/${CONFIG_PREFIX}*`] = {
      origin: bucketOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: this.configCachePolicy,
      responseHeadersPolicy: this.headers.config,
    };

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Trackstack edge: snippet, campaign configs and hits',
      // Anything else is the bucket's, which lets CloudFront read only config/ and snippet/: a 403.
      defaultBehavior: {
        origin: bucketOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: this.configCachePolicy,
        responseHeadersPolicy: this.headers.config,
      },
      additionalBehaviors,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      webAclId: props.webAclArn,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cdn/',
      domainNames: props.domain ? [props.domain.domainName] : undefined,
      certificate: props.domain?.certificate,
      minimumProtocolVersion: props.domain ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
    });
    acknowledgeEdgeDistribution(this.distribution, { customDomain: props.domain !== undefined });
  }
}

function bucketCachePolicy(
  scope: Construct,
  id: string,
  props: Pick<cloudfront.CachePolicyProps, 'comment' | 'defaultTtl' | 'minTtl' | 'maxTtl'>,
): cloudfront.CachePolicy {
  return new cloudfront.CachePolicy(scope, id, {
    ...props,
    queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
    headerBehavior: cloudfront.CacheHeaderBehavior.none(),
    cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    enableAcceptEncodingGzip: true,
    enableAcceptEncodingBrotli: true,
  });
}
