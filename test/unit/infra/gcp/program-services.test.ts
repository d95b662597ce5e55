/**
 * The GCP program's workloads and edge, run under `pulumi.runtime.setMocks` for the prod stack (custom
 * domain, alarm address): the functions and where their code, keys and images come from, every grant a
 * workload holds, the load balancer's wiring, Cloud Armor, Cloud CDN, the purge schedule and the alerts.
 */
import {
  ARMOR_REVOKED_KEY_RULES,
  ingestEnvSchema,
  LOCATIONS,
  purgeEnvSchema,
  REGIONS,
} from '../../../../platform';
import { armorRateThresholds } from '../../../../infra/gcp/components/edge';
import { parseGcpConfig } from '../../../../infra/gcp/config';
import { policies } from '../../../../policies/gcp/policies';
import { evaluatePolicies } from '../../../../policies/gcp/evaluate';
import { runProgram, stackConfig, type Registered } from './support';

const PROJECT = 'trackstack-prod-123456';
const SA = (id: string) => `serviceAccount:${id}@${PROJECT}.iam.gserviceaccount.com`;
let resources: Registered[];

const ofType = (type: string) => resources.filter((r) => r.type === type);
const one = (type: string, name: string) => {
  const found = resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
const FN = 'gcp:cloudfunctionsv2/function:Function';
const keyOf = (region: string, location: string) =>
  `projects/${PROJECT}/locations/${region}/keyRings/trackstack-prod-${location}/cryptoKeys/data`;

beforeAll(async () => {
  ({ resources } = await runProgram('prod'));
});

describe('GCP program, prod stack (mocked): workloads', () => {
  test('ingest and writer in every region, the purge once; each with CMEK, its own account and a CMEK image repository', () => {
    const names = ofType(FN).map((f) => String(f.inputs.name));
    expect(names.sort()).toEqual(
      [
        ...LOCATIONS.flatMap((l) => [`trackstack-prod-${l}-ingest`, `trackstack-prod-${l}-writer`]),
        'trackstack-prod-purge',
      ].sort(),
    );
    for (const f of ofType(FN)) {
      const region = String(f.inputs.location);
      const location = LOCATIONS.find((l) => REGIONS[l].gcp === region) ?? '?';
      expect(f.inputs.kmsKeyName).toBe(keyOf(region, location));
      const build = f.inputs.buildConfig as Record<string, unknown>;
      expect(build).toMatchObject({ runtime: 'nodejs22', entryPoint: 'handler' });
      const repo = ofType('gcp:artifactregistry/repository:Repository').find(
        (r) => `${r.name}-id` === build.dockerRepository,
      );
      expect(repo?.inputs).toMatchObject({ location: region, kmsKeyName: keyOf(region, location) });
      expect(build.serviceAccount).toBe('prod-storage-build-id');
      const source = (build.source as { storageSource: { bucket: string; object: string } }).storageSource;
      expect(source.bucket).toBe(`trackstack-prod-sources-${PROJECT}`);
      // The archive is named by the bundle's content hash: a changed bundle redeploys the function.
      expect(source.object).toMatch(/^(ingest|writer|purge)-gcp\/[0-9a-f]{64}\.zip$/);
      const service = f.inputs.serviceConfig as Record<string, unknown>;
      const workload = String(f.inputs.name).split('-').pop();
      const account = workload === 'purge' ? 'ts-prod-purge' : `ts-prod-${location}-${workload}`;
      expect(service.serviceAccountEmail).toBe(`${account}@${PROJECT}.iam.gserviceaccount.com`);
      expect(service.ingressSettings).toBe(
        workload === 'ingest' ? 'ALLOW_INTERNAL_AND_GCLB' : 'ALLOW_INTERNAL_ONLY',
      );
    }
  });

  test('the functions’ environments are the ones their handlers accept, pointing at their own region', () => {
    for (const l of LOCATIONS) {
      const env = (
        one(FN, `prod-${l}-ingest`).inputs.serviceConfig as { environmentVariables: Record<string, string> }
      ).environmentVariables;
      expect(ingestEnvSchema.safeParse(env).success).toBe(true);
      expect(env).toMatchObject({
        TS_LOCATION: l,
        TS_SINK: 'pubsub',
        TS_PUBSUB_TOPIC: `trackstack-prod-${l}-events`,
        TS_KEY_PROVIDER: 'cloudkms',
        TS_CLOUD_KMS_KEY: keyOf(REGIONS[l].gcp, l),
        TS_DIRECTORY: 'firestore',
        TS_FIRESTORE_DATABASE: 'trackstack-prod',
        TS_TRUST_PROXY: 'google-lb',
      });
    }
    const purge = (
      one(FN, 'prod-purge-fn').inputs.serviceConfig as { environmentVariables: Record<string, string> }
    ).environmentVariables;
    expect(purgeEnvSchema.safeParse(purge).success).toBe(true);
    expect(purge).toMatchObject({
      TS_OBJECT_STORE: 'gcs',
      TS_EVENT_BUCKET_EUROPE: `trackstack-prod-europe-events-${PROJECT}`,
      TS_RECEIPT_STORE: 'gcs',
      TS_RECEIPTS_BUCKET: `trackstack-prod-receipts-${PROJECT}`,
    });
  });

  test('the stack’s ingest limits reach every ingest function’s environment, and only the ingest’s', () => {
    const limits = parseGcpConfig(stackConfig('prod')).ingestLimits;
    const variablesOf = (name: string) =>
      (one(FN, name).inputs.serviceConfig as { environmentVariables: Record<string, string> })
        .environmentVariables;
    for (const l of LOCATIONS) {
      expect(variablesOf(`prod-${l}-ingest`)).toMatchObject({
        TS_IP_RATE_PER_SECOND: String(limits.ingestIpRatePerSecond),
        TS_KEY_RATE_PER_SECOND: String(limits.ingestKeyRatePerSecond),
        TS_POSTBACK_IP_RATE_PER_SECOND: String(limits.ingestPostbackIpRatePerSecond),
        TS_RATE_BURST_SECONDS: String(limits.ingestRateBurstSeconds),
        TS_KEY_CACHE_SECONDS: String(limits.ingestKeyCacheSeconds),
      });
      expect(Object.keys(variablesOf(`prod-${l}-writer`))).not.toContain('TS_IP_RATE_PER_SECOND');
    }
  });

  test('Cloud Armor’s per-IP ban and per-key throttle follow the stack’s ingest limits, not fixed numbers', () => {
    const limits = parseGcpConfig(stackConfig('prod')).ingestLimits;
    const { ipPerMinute, apiKeyPerMinute } = armorRateThresholds(limits);
    const RULE = 'gcp:compute/securityPolicyRule:SecurityPolicyRule';
    const threshold = (name: string) =>
      (one(RULE, name).inputs.rateLimitOptions as { rateLimitThreshold: { count: number } })
        .rateLimitThreshold.count;
    expect(threshold('prod-edge-ip-ban')).toBe(ipPerMinute);
    expect(threshold('prod-edge-key-throttle')).toBe(apiKeyPerMinute);
    // An operator who raises the service's rates raises the edge's with them.
    const raised = armorRateThresholds({ ingestIpRatePerSecond: 1_000, ingestKeyRatePerSecond: 5_000 });
    expect(raised).toEqual({ ipPerMinute: 600_000, apiKeyPerMinute: 600_000 });
    expect(raised.ipPerMinute).toBeGreaterThan(ipPerMinute);
  });

  test('every grant a workload holds, and nothing else (no primitive role, allUsers only on the load-balanced invoker)', () => {
    const agents = /@(gcp-sa-|gs-project-accounts|cloud-cdn-fill)/;
    const grants = resources
      .filter((r) => /iam(member|binding|policy)$/i.test(r.type))
      .filter((r) => !(r.type.endsWith('CryptoKeyIAMMember') && agents.test(String(r.inputs.member))))
      .map((r) => {
        const i = r.inputs;
        const target =
          i.cryptoKeyId ?? i.bucket ?? i.topic ?? i.subscription ?? i.repository ?? i.name ?? i.project;
        return `${String(i.member)} ${String(i.role)} ${String(target).replace(/^projects\/[^/]+\/locations\/([^/]+)\/.*$/, 'key:$1')}`;
      });
    const expected = [
      ...LOCATIONS.flatMap((l) => [
        `${SA(`ts-prod-${l}-ingest`)} roles/cloudkms.cryptoKeyEncrypterDecrypter key:${REGIONS[l].gcp}`,
        `${SA(`ts-prod-${l}-ingest`)} roles/datastore.user ${PROJECT}`,
        `${SA(`ts-prod-${l}-ingest`)} roles/pubsub.publisher trackstack-prod-${l}-events`,
        `allUsers roles/run.invoker trackstack-prod-${l}-ingest`,
        `${SA(`ts-prod-${l}-writer`)} roles/storage.objectCreator trackstack-prod-${l}-events-${PROJECT}`,
        `${SA(`ts-prod-${l}-push`)} roles/run.invoker trackstack-prod-${l}-writer`,
        `serviceAccount:service-123456789@gcp-sa-pubsub.iam.gserviceaccount.com roles/pubsub.publisher trackstack-prod-${l}-events-dead-letter`,
        `serviceAccount:service-123456789@gcp-sa-pubsub.iam.gserviceaccount.com roles/pubsub.subscriber trackstack-prod-${l}-events-writer`,
        `${SA('ts-prod-build')} roles/artifactregistry.writer prod-functions`,
        `${SA('ts-prod-purge')} roles/storage.objectUser trackstack-prod-${l}-events-${PROJECT}`,
      ]),
      `${SA('ts-prod-build')} roles/storage.objectViewer trackstack-prod-sources-${PROJECT}`,
      `${SA('ts-prod-build')} roles/logging.logWriter ${PROJECT}`,
      `serviceAccount:service-123456789@cloud-cdn-fill.iam.gserviceaccount.com roles/storage.objectViewer trackstack-prod-config-${PROJECT}`,
      `${SA('ts-prod-purge')} roles/datastore.user ${PROJECT}`,
      `${SA('ts-prod-purge')} roles/storage.objectUser trackstack-prod-config-${PROJECT}`,
      `${SA('ts-prod-purge')} roles/storage.objectCreator trackstack-prod-receipts-${PROJECT}`,
      `${SA('ts-prod-purge')} roles/storage.objectViewer trackstack-prod-receipts-${PROJECT}`,
      `${SA('ts-prod-purge-trigger')} roles/run.invoker trackstack-prod-purge`,
    ];
    expect(grants.sort()).toEqual(expected.sort());
    // Firestore grants are limited to the directory's database by an IAM condition.
    for (const r of ofType('gcp:projects/iAMMember:IAMMember').filter(
      (x) => x.inputs.role === 'roles/datastore.user',
    ))
      expect((r.inputs.condition as { expression: string }).expression).toBe(
        `resource.name == "projects/${PROJECT}/databases/trackstack-prod"`,
      );
  });

  test('the writer is fed by a push subscription with an OIDC token, a dead-letter topic and a holding subscription', () => {
    for (const l of LOCATIONS) {
      const sub = one('gcp:pubsub/subscription:Subscription', `prod-${l}-writer-subscription`).inputs;
      const url = `https://trackstack-prod-${l}-writer-abc123-uc.a.run.app`;
      expect(sub).toMatchObject({
        name: `trackstack-prod-${l}-events-writer`,
        topic: `projects/${PROJECT}/topics/trackstack-prod-${l}-events`,
        pushConfig: {
          pushEndpoint: url,
          oidcToken: {
            serviceAccountEmail: `ts-prod-${l}-push@${PROJECT}.iam.gserviceaccount.com`,
            audience: url,
          },
        },
        deadLetterPolicy: {
          deadLetterTopic: `projects/${PROJECT}/topics/trackstack-prod-${l}-events-dead-letter`,
        },
      });
      const writerEnv = (
        one(FN, `prod-${l}-writer`).inputs.serviceConfig as { environmentVariables: Record<string, string> }
      ).environmentVariables;
      expect(writerEnv.TS_EVENT_SUBSCRIPTION).toBe(`projects/${PROJECT}/subscriptions/${String(sub.name)}`);
      expect(one('gcp:pubsub/subscription:Subscription', `prod-${l}-dead-letter-hold`).inputs.topic).toBe(
        sub.deadLetterPolicy && (sub.deadLetterPolicy as { deadLetterTopic: string }).deadLetterTopic,
      );
    }
  });

  test('the purge runs daily from Cloud Scheduler as an account that may only invoke it', () => {
    const job = ofType('gcp:cloudscheduler/job:Job');
    expect(job).toHaveLength(1);
    const url = 'https://trackstack-prod-purge-abc123-uc.a.run.app';
    expect(job[0]?.inputs).toMatchObject({
      region: 'us-central1',
      schedule: '17 3 * * *',
      httpTarget: {
        uri: url,
        httpMethod: 'POST',
        oidcToken: {
          serviceAccountEmail: `ts-prod-purge-trigger@${PROJECT}.iam.gserviceaccount.com`,
          audience: url,
        },
      },
    });
    const timeout = Number(
      (one(FN, 'prod-purge-fn').inputs.serviceConfig as { timeoutSeconds: number }).timeoutSeconds,
    );
    const budget = Number(
      (one(FN, 'prod-purge-fn').inputs.serviceConfig as { environmentVariables: Record<string, string> })
        .environmentVariables.TS_TIME_BUDGET_SECONDS,
    );
    expect(timeout).toBeGreaterThan(budget);
  });
});

describe('GCP program, prod stack (mocked): edge', () => {
  test('one global EXTERNAL_MANAGED backend over the three serverless NEGs, guarded by Cloud Armor', () => {
    const negs = ofType('gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup');
    expect(
      negs.map((n) => `${String(n.inputs.region)} ${JSON.stringify(n.inputs.cloudFunction)}`).sort(),
    ).toEqual(LOCATIONS.map((l) => `${REGIONS[l].gcp} {"function":"trackstack-prod-${l}-ingest"}`).sort());
    for (const n of negs) expect(n.inputs.networkEndpointType).toBe('SERVERLESS');
    const [backend, ...more] = ofType('gcp:compute/backendService:BackendService');
    expect(more).toHaveLength(0);
    expect(backend?.inputs).toMatchObject({
      loadBalancingScheme: 'EXTERNAL_MANAGED',
      securityPolicy: 'https://compute.googleapis.com/prod-edge-ingest-policy',
      customRequestHeaders: ['X-Client-Geo-Country: {client_region}'],
    });
    expect((backend?.inputs.backends as { group: string }[]).map((b) => b.group).sort()).toEqual(
      negs.map((n) => `https://compute.googleapis.com/${n.name}`).sort(),
    );
  });

  test('configs and the snippet come from the config bucket through Cloud CDN with an edge policy', () => {
    const bucket = one('gcp:compute/backendBucket:BackendBucket', 'prod-edge-config').inputs;
    expect(bucket).toMatchObject({
      bucketName: `trackstack-prod-config-${PROJECT}`,
      enableCdn: true,
      edgeSecurityPolicy: 'https://compute.googleapis.com/prod-edge-edge-policy',
    });
    const urls = one('gcp:compute/uRLMap:URLMap', 'prod-edge-urls').inputs;
    expect(urls).toMatchObject({
      name: 'trackstack-prod-lb',
      defaultService: 'https://compute.googleapis.com/prod-edge-ingest',
      pathMatchers: [
        {
          defaultService: 'https://compute.googleapis.com/prod-edge-ingest',
          pathRules: [
            {
              paths: ['/config/*', '/snippet/*'],
              service: 'https://compute.googleapis.com/prod-edge-config',
            },
          ],
        },
      ],
      // A client's own country header is dropped before the load balancer sets it.
      headerAction: { requestHeadersToRemoves: ['X-Client-Geo-Country'] },
    });
  });

  test('Cloud Armor: preconfigured WAF, a per-IP ban, a per-key throttle, and the revoked-key range left free', () => {
    const rules = ofType('gcp:compute/securityPolicyRule:SecurityPolicyRule');
    const waf = rules.filter((r) =>
      String(JSON.stringify(r.inputs.match)).includes('evaluatePreconfiguredWaf'),
    );
    expect(waf.map((r) => /'([a-z]+)-v33-stable'/.exec(JSON.stringify(r.inputs.match))?.[1]).sort()).toEqual([
      'lfi',
      'methodenforcement',
      'protocolattack',
      'rce',
      'rfi',
      'scannerdetection',
      'sessionfixation',
      'sqli',
      'xss',
    ]);
    expect(rules.map((r) => r.inputs.action)).toEqual(expect.arrayContaining(['rate_based_ban', 'throttle']));
    for (const r of rules) {
      expect(r.inputs.securityPolicy).toBe('trackstack-prod-ingest');
      const priority = Number(r.inputs.priority);
      // The tooling's rules must win: every program rule comes after the range.
      expect(priority).toBeGreaterThan(ARMOR_REVOKED_KEY_RULES.lastPriority);
    }
    const policies = ofType('gcp:compute/securityPolicy:SecurityPolicy').map(
      (p) => `${String(p.inputs.name)} ${String(p.inputs.type)}`,
    );
    expect(policies.sort()).toEqual([
      'trackstack-prod-edge CLOUD_ARMOR_EDGE',
      'trackstack-prod-ingest CLOUD_ARMOR',
    ]);
  });

  test('with a domain: HTTPS with a managed certificate and TLS 1.2, and HTTP redirected to it', () => {
    expect(
      one('gcp:compute/managedSslCertificate:ManagedSslCertificate', 'prod-edge-cert').inputs.managed,
    ).toEqual({
      domains: ['t.example.com'],
    });
    expect(one('gcp:compute/sSLPolicy:SSLPolicy', 'prod-edge-tls').inputs).toMatchObject({
      minTlsVersion: 'TLS_1_2',
    });
    expect(one('gcp:compute/targetHttpsProxy:TargetHttpsProxy', 'prod-edge-https').inputs.urlMap).toBe(
      'https://compute.googleapis.com/prod-edge-urls',
    );
    expect(one('gcp:compute/uRLMap:URLMap', 'prod-edge-redirect').inputs.defaultUrlRedirect).toMatchObject({
      httpsRedirect: true,
    });
    expect(one('gcp:compute/targetHttpProxy:TargetHttpProxy', 'prod-edge-http').inputs.urlMap).toBe(
      'https://compute.googleapis.com/prod-edge-redirect',
    );
    const rules = ofType('gcp:compute/globalForwardingRule:GlobalForwardingRule').map(
      (r) => `${String(r.inputs.portRange)} ${String(r.inputs.loadBalancingScheme)}`,
    );
    expect(rules.sort()).toEqual(['443 EXTERNAL_MANAGED', '80 EXTERNAL_MANAGED']);
  });
});

describe('GCP program, prod stack (mocked): detection', () => {
  test('the project’s log bucket keeps logs for the stack’s trackstack:logRetentionDays', () => {
    expect(
      one('gcp:logging/projectBucketConfig:ProjectBucketConfig', 'prod-monitoring-log-retention').inputs,
    ).toMatchObject({
      bucketId: '_Default',
      retentionDays: 365,
    });
  });

  test('Data Access audit logs for Cloud KMS and Cloud Storage', () => {
    const audit = ofType('gcp:projects/iAMAuditConfig:IAMAuditConfig').map((a) => a.inputs);
    expect(audit.map((a) => a.service).sort()).toEqual(['cloudkms.googleapis.com', 'storage.googleapis.com']);
    for (const a of audit)
      expect((a.auditLogConfigs as { logType: string }[]).map((c) => c.logType)).toEqual(
        expect.arrayContaining(['DATA_READ', 'DATA_WRITE']),
      );
  });

  test('alert policies to the on-call address: function errors, purge overdue or silent, KMS key state, IAM changes', () => {
    const channel = one(
      'gcp:monitoring/notificationChannel:NotificationChannel',
      'prod-monitoring-email',
    ).inputs;
    expect(channel).toMatchObject({ type: 'email', labels: { email_address: 'oncall@example.com' } });
    const alerts = ofType('gcp:monitoring/alertPolicy:AlertPolicy');
    expect(alerts.map((a) => a.name).sort()).toEqual([
      'prod-monitoring-function-errors',
      'prod-monitoring-iam-policy-change',
      'prod-monitoring-kms-key-state',
      'prod-monitoring-purge-overdue',
    ]);
    for (const a of alerts)
      expect(a.inputs.notificationChannels).toEqual([
        `projects/${PROJECT}/notificationChannels/prod-monitoring-email`,
      ]);
    const metrics = Object.fromEntries(
      ofType('gcp:logging/metric:Metric').map((m) => [m.name, String(m.inputs.filter)]),
    );
    expect(metrics['prod-monitoring-purge-overdue']).toBe('jsonPayload.metric="PurgeOverdueAccounts"');
    expect(metrics['prod-monitoring-kms-key-state']).toContain('DestroyCryptoKeyVersion');
    expect(metrics['prod-monitoring-iam-policy-change']).toContain('SetIamPolicy');
    const overdue = alerts.find((a) => a.name === 'prod-monitoring-purge-overdue')?.inputs
      .conditions as object[];
    expect(overdue.map((c) => Object.keys(c).find((k) => k.startsWith('condition')))).toEqual([
      'conditionThreshold',
      'conditionAbsent',
    ]);
  });
});

describe('GCP program, prod stack (mocked): the policy pack', () => {
  const specs = () => resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs }));

  test('zero violations over every resource the prod program registers', async () => {
    expect(await evaluatePolicies(policies, specs())).toEqual([]);
  });

  test('an ingest function opened to the internet makes its allUsers invoker a violation', async () => {
    const opened = specs().map((r) =>
      r.name === 'prod-europe-ingest' && r.type === FN
        ? {
            ...r,
            props: {
              ...r.props,
              serviceConfig: { ...(r.props.serviceConfig as object), ingressSettings: 'ALLOW_ALL' },
            },
          }
        : r,
    );
    const violations = await evaluatePolicies(policies, opened);
    expect(violations.map((v) => v.policy)).toEqual(['gcp-public-invoker-only-through-load-balancer']);
  });

  test('the ingest backend without Cloud Armor is a violation', async () => {
    const bare = specs().map((r) =>
      r.type === 'gcp:compute/backendService:BackendService'
        ? { ...r, props: { ...r.props, securityPolicy: undefined } }
        : r,
    );
    const violations = await evaluatePolicies(policies, bare);
    expect(violations.map((v) => v.policy)).toEqual(['gcp-cloud-armor-on-public-backends']);
  });
});
