/**
 * The GCP edge: one global external Application Load Balancer (EXTERNAL_MANAGED). Hits go to one backend
 * service over the three regional serverless NEGs, so each reaches the nearest healthy region; the snippet
 * and configs come from the config bucket through Cloud CDN. Cloud Armor guards both: a backend policy on
 * the ingest (preconfigured WAF rules, a rate-based ban per IP, a throttle per API key, and the revoked-key
 * rules the incident tooling adds in its reserved priority range) and an edge policy on the CDN (a backend
 * policy does not see cache hits). HTTPS with a managed certificate when the stack has a domain, HTTP
 * redirected to it; without a domain the load balancer answers HTTP on its address (development only).
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { ARMOR_REVOKED_KEY_RULES, API_KEY_HEADER, LIMITS, names, type Stage } from '../../../platform';
import type { IngestLimitConfig } from '../../../platform/contracts/ingest-env';

/** Properties of the {@link Edge}. */
export interface EdgeProps {
  readonly project: string;
  readonly stage: Stage;
  /** The serverless NEGs of the regional ingest functions. */
  readonly negs: readonly pulumi.Input<string>[];
  /** The config bucket (snippet and configs). */
  readonly configBucket: gcp.storage.Bucket;
  /**
   * Custom domain served over HTTPS with a Google-managed certificate.
   * @default - none: HTTP on the load balancer's address
   */
  readonly domainName?: string;
  /**
   * The ingest's own per-IP and per-key rates, from which Cloud Armor's thresholds follow (see
   * {@link armorRateThresholds}), so that raising them in the stage configuration is not undone here.
   * @default the platform's `LIMITS`
   */
  readonly ingestLimits?: Pick<IngestLimitConfig, 'ingestIpRatePerSecond' | 'ingestKeyRatePerSecond'>;
}

/**
 * Cloud Armor's rate thresholds, per minute: a client over ten times the service's per-IP rate for a
 * minute is banned (the service's limiter answers the ordinary excess, this one stops floods before they
 * cost a function), and an API key over twice its rate is throttled.
 */
export function armorRateThresholds(
  limits: Pick<IngestLimitConfig, 'ingestIpRatePerSecond' | 'ingestKeyRatePerSecond'>,
): { ipPerMinute: number; apiKeyPerMinute: number } {
  return {
    ipPerMinute: Math.ceil(limits.ingestIpRatePerSecond * 60 * 10),
    apiKeyPerMinute: Math.ceil(limits.ingestKeyRatePerSecond * 60 * 2),
  };
}

/** The Cloud Armor WAF rules: preconfigured OWASP sets at sensitivity 1 (few false positives), denied. */
const WAF_RULES = [
  'sqli-v33-stable',
  'xss-v33-stable',
  'lfi-v33-stable',
  'rfi-v33-stable',
  'rce-v33-stable',
  'methodenforcement-v33-stable',
  'scannerdetection-v33-stable',
  'protocolattack-v33-stable',
  'sessionfixation-v33-stable',
] as const;

/**
 * Priorities of the program's own rules: after the revoked keys (which must win over any allow), before
 * the default rule. Every rule is its own resource, so a `pulumi up` keeps the rules the tooling added.
 */
const PRIORITY = { waf: 3000, ipBan: 4000, keyThrottle: 4100 } as const;

/** The paths served from the config bucket through Cloud CDN. */
export const CDN_PATHS = ['/config/*', '/snippet/*'] as const;

/** The load balancer, its backends and their Cloud Armor policies. */
export class Edge extends pulumi.ComponentResource {
  /** The ingest backend's policy. */
  public readonly backendPolicy: gcp.compute.SecurityPolicy;
  /** The CDN's edge policy. */
  public readonly edgePolicy: gcp.compute.SecurityPolicy;
  /** The config bucket behind Cloud CDN. */
  public readonly backendBucket: gcp.compute.BackendBucket;
  /** The ingest backend over the regional NEGs. */
  public readonly backendService: gcp.compute.BackendService;
  /** Routes hits to the ingest and `/config/*`, `/snippet/*` to the CDN. */
  public readonly urlMap: gcp.compute.URLMap;
  /** The load balancer's global address. */
  public readonly address: gcp.compute.GlobalAddress;

  constructor(name: string, props: EdgeProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:Edge', name, {}, opts);
    const { project, stage } = props;
    const child = { parent: this };
    this.backendPolicy = new gcp.compute.SecurityPolicy(
      `${name}-ingest-policy`,
      {
        project,
        name: names.gcpBackendSecurityPolicy(stage),
        type: 'CLOUD_ARMOR',
        description: `Ingest: WAF, per-IP ban, per-key throttle; revoked keys at ${ARMOR_REVOKED_KEY_RULES.firstPriority}-${ARMOR_REVOKED_KEY_RULES.lastPriority}.`,
        advancedOptionsConfig: { logLevel: 'NORMAL', jsonParsing: 'STANDARD' },
      },
      child,
    );
    const rule = (id: string, args: Omit<gcp.compute.SecurityPolicyRuleArgs, 'securityPolicy' | 'project'>) =>
      new gcp.compute.SecurityPolicyRule(
        `${name}-${id}`,
        { project, securityPolicy: this.backendPolicy.name, ...args },
        child,
      );
    WAF_RULES.forEach((set, i) =>
      rule(`waf-${set.split('-')[0] ?? set}`, {
        priority: PRIORITY.waf + i,
        action: 'deny(403)',
        description: `Preconfigured WAF ${set}`,
        match: { expr: { expression: `evaluatePreconfiguredWaf('${set}', {'sensitivity': 1})` } },
      }),
    );
    const { ipPerMinute, apiKeyPerMinute } = armorRateThresholds(
      props.ingestLimits ?? {
        ingestIpRatePerSecond: LIMITS.ipRatePerSecond,
        ingestKeyRatePerSecond: LIMITS.apiKeyRatePerSecond,
      },
    );
    rule('ip-ban', {
      priority: PRIORITY.ipBan,
      action: 'rate_based_ban',
      description: 'Rate-based ban per client IP',
      match: { versionedExpr: 'SRC_IPS_V1', config: { srcIpRanges: ['*'] } },
      rateLimitOptions: {
        conformAction: 'allow',
        exceedAction: 'deny(429)',
        enforceOnKey: 'IP',
        rateLimitThreshold: { count: ipPerMinute, intervalSec: 60 },
        banThreshold: { count: ipPerMinute * 2, intervalSec: 120 },
        banDurationSec: 600,
      },
    });
    rule('key-throttle', {
      priority: PRIORITY.keyThrottle,
      action: 'throttle',
      description: 'Throttle per API key',
      match: { expr: { expression: `has(request.headers['${API_KEY_HEADER}'])` } },
      rateLimitOptions: {
        conformAction: 'allow',
        exceedAction: 'deny(429)',
        enforceOnKey: 'HTTP_HEADER',
        enforceOnKeyName: API_KEY_HEADER,
        rateLimitThreshold: { count: apiKeyPerMinute, intervalSec: 60 },
      },
    });
    this.edgePolicy = new gcp.compute.SecurityPolicy(
      `${name}-edge-policy`,
      {
        project,
        name: names.gcpEdgeSecurityPolicy(stage),
        type: 'CLOUD_ARMOR_EDGE',
        description: 'Snippet and configs: evaluated before the CDN cache, so cache hits are covered too.',
      },
      child,
    );

    this.backendBucket = new gcp.compute.BackendBucket(
      `${name}-config`,
      {
        project,
        name: `${names.gcpUrlMap(stage)}-config`,
        bucketName: props.configBucket.name,
        enableCdn: true,
        edgeSecurityPolicy: this.edgePolicy.selfLink,
        compressionMode: 'AUTOMATIC',
        cdnPolicy: {
          cacheMode: 'CACHE_ALL_STATIC',
          // Configs change on publish (which invalidates); the snippet is content-addressed.
          defaultTtl: 300,
          maxTtl: 86_400,
          clientTtl: 300,
          negativeCaching: true,
          serveWhileStale: 86_400,
        },
      },
      child,
    );
    // The bucket stays private (public access prevention): Cloud CDN fills its cache as its own agent.
    const number = gcp.organizations.getProjectOutput({ projectId: project }, child).number;
    new gcp.storage.BucketIAMMember(
      `${name}-cdn-reads-config`,
      {
        bucket: props.configBucket.name,
        role: 'roles/storage.objectViewer',
        member: pulumi.interpolate`serviceAccount:service-${number}@cloud-cdn-fill.iam.gserviceaccount.com`,
      },
      child,
    );

    this.backendService = new gcp.compute.BackendService(
      `${name}-ingest`,
      {
        project,
        name: `${names.gcpUrlMap(stage)}-ingest`,
        loadBalancingScheme: 'EXTERNAL_MANAGED',
        protocol: 'HTTPS',
        backends: props.negs.map((group) => ({ group })),
        securityPolicy: this.backendPolicy.selfLink,
        enableCdn: false,
        logConfig: { enable: true, sampleRate: 1 },
        // The service reads the client's country from this header only (TS_TRUST_PROXY=google-lb); it is
        // replaced, never appended, so a client cannot send its own.
        customRequestHeaders: ['X-Client-Geo-Country: {client_region}'],
      },
      child,
    );
    this.urlMap = new gcp.compute.URLMap(
      `${name}-urls`,
      {
        project,
        name: names.gcpUrlMap(stage),
        defaultService: this.backendService.selfLink,
        hostRules: [{ hosts: ['*'], pathMatcher: 'trackstack' }],
        pathMatchers: [
          {
            name: 'trackstack',
            defaultService: this.backendService.selfLink,
            pathRules: [{ paths: [...CDN_PATHS], service: this.backendBucket.selfLink }],
          },
        ],
        headerAction: { requestHeadersToRemoves: ['X-Client-Geo-Country'] },
      },
      child,
    );
    this.address = new gcp.compute.GlobalAddress(
      `${name}-address`,
      { project, name: `${names.gcpUrlMap(stage)}-ip` },
      child,
    );
    const forward = (id: string, target: pulumi.Input<string>, portRange: string) =>
      new gcp.compute.GlobalForwardingRule(
        `${name}-${id}`,
        {
          project,
          name: `${names.gcpUrlMap(stage)}-${id}`,
          loadBalancingScheme: 'EXTERNAL_MANAGED',
          ipAddress: this.address.address,
          portRange,
          target,
        },
        child,
      );
    if (props.domainName) {
      const certificate = new gcp.compute.ManagedSslCertificate(
        `${name}-cert`,
        { project, name: `${names.gcpUrlMap(stage)}-cert`, managed: { domains: [props.domainName] } },
        child,
      );
      const tls = new gcp.compute.SSLPolicy(
        `${name}-tls`,
        { project, name: `${names.gcpUrlMap(stage)}-tls`, profile: 'MODERN', minTlsVersion: 'TLS_1_2' },
        child,
      );
      const https = new gcp.compute.TargetHttpsProxy(
        `${name}-https`,
        {
          project,
          name: `${names.gcpUrlMap(stage)}-https`,
          urlMap: this.urlMap.selfLink,
          sslCertificates: [certificate.selfLink],
          sslPolicy: tls.selfLink,
        },
        child,
      );
      forward('https', https.selfLink, '443');
      const redirect = new gcp.compute.URLMap(
        `${name}-redirect`,
        {
          project,
          name: `${names.gcpUrlMap(stage)}-redirect`,
          defaultUrlRedirect: {
            httpsRedirect: true,
            stripQuery: false,
            redirectResponseCode: 'MOVED_PERMANENTLY_DEFAULT',
          },
        },
        child,
      );
      const http = new gcp.compute.TargetHttpProxy(
        `${name}-http`,
        { project, name: `${names.gcpUrlMap(stage)}-http`, urlMap: redirect.selfLink },
        child,
      );
      forward('http', http.selfLink, '80');
    } else {
      const http = new gcp.compute.TargetHttpProxy(
        `${name}-http`,
        { project, name: `${names.gcpUrlMap(stage)}-http`, urlMap: this.urlMap.selfLink },
        child,
      );
      forward('http', http.selfLink, '80');
    }
    this.registerOutputs({ address: this.address.address });
  }
}
