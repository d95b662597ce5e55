import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import {
  AwsSolutionsChecks,
  HIPAASecurityChecks,
  NIST80053R5Checks,
  type NagPack,
  NagRuleCompliance,
  type IApplyRule,
  PCIDSS321Checks,
} from 'cdk-nag';
import { createApp, readCdkJsonContext } from '../../../infra/aws/lib/app';
import { TrackstackChecks } from '../../../policies/aws/trackstack-checks';
import { ignoredLintChecks } from '../../../scripts/synth/cfn-lint';
import { policies as gcpPolicies } from '../../../policies/gcp/policies';
import { CUSTOMER_PROMISES, GDPR, promisesOfRule, type CustomerPromise } from '../../../policies/promises';
import { SKIP_BUNDLING } from '../infra/aws/support';

const CDK_NAG_PACKS = ['AwsSolutions', 'NIST.800.53.R5', 'PCI.DSS.321', 'HIPAA.Security'] as const;

/**
 * Every rule id a pack can report, as cdk-nag forms it (`<packName>-<ruleSuffixOverride or rule name>`).
 * A pack's checkResource calls applyRule once per rule for every resource, unconditionally (each rule decides
 * for itself whether it applies), so recording those calls for one resource lists the whole pack.
 */
function ruleIdsOf(pack: NagPack): string[] {
  const ids = new Set<string>();
  probe(
    pack,
    [new CfnResource(new Stack(new App(), 'Probe'), 'Resource', { type: 'AWS::S3::Bucket' })],
    (id) => ids.add(id),
  );
  return [...ids];
}

/** Runs a pack over resources, calling `seen` with each rule id and what the rule says of each resource. */
function probe(pack: NagPack, nodes: CfnResource[], seen: (id: string, params: IApplyRule) => void): void {
  const spy = pack as unknown as {
    packName: string;
    applyRule: (params: IApplyRule) => void;
    checkResource: (node: CfnResource) => void;
  };
  spy.applyRule = (params) =>
    seen(`${spy.packName}-${params.ruleSuffixOverride ?? params.rule.name}`, params);
  for (const node of nodes) spy.checkResource(node);
}

const CDK_NAG_IDS = new Set(
  [
    new AwsSolutionsChecks(),
    new NIST80053R5Checks(),
    new PCIDSS321Checks(),
    new HIPAASecurityChecks(),
  ].flatMap(ruleIdsOf),
);
const TRACKSTACK_IDS = new Set(ruleIdsOf(new TrackstackChecks()));
const GCP_NAMES = new Set(gcpPolicies.map((p) => p.name));
const CFN_LINT_ID = /^[EWI]\d{4}$/;

/**
 * The cfn-lint checks `npm run synth` runs: the installed cfn-lint's errors and warnings (informational
 * checks run only when asked for), less those `.cfnlintrc.yaml` ignores.
 */
function cfnLintChecksRun(): Set<string> {
  const listed = spawnSync('cfn-lint', ['--list-rules'], { encoding: 'utf8' });
  if (listed.status !== 0)
    throw new Error(`cfn-lint --list-rules failed: ${listed.stderr || listed.error?.message}`);
  const ignored = new Set(ignoredLintChecks());
  return new Set(
    [...listed.stdout.matchAll(/^([EW]\d{4}):/gm)].map((m) => m[1] ?? '').filter((id) => !ignored.has(id)),
  );
}

const ALL_RULES = CUSTOMER_PROMISES.flatMap((p) => p.rules);
const promise = (id: string): CustomerPromise => {
  const found = CUSTOMER_PROMISES.find((p) => p.id === id);
  if (!found) throw new Error(`no promise ${id}`);
  return found;
};

/**
 * The promises that no compliance rule enforces: service code and its tests keep them. Adding a rule to one,
 * or a promise without a rule, must be a deliberate change here.
 */
const UNENFORCED = [
  'front-end-only',
  'consent-respected',
  'personal-fields-sealed',
  'break-glass-alarmed',
  'api-keys-hashed',
  'cdn-fault-tolerant',
  'data-residency',
  'deleted-after-expiry',
  'deletion-on-request',
  'key-contained',
  'customers-notified-72h',
  'incidents-recorded',
  'incident-resolved',
];

/** The project's own rules that serve no customer promise, with the reason they exist anyway. */
const OWN_RULES_WITHOUT_PROMISE: Record<string, string> = {
  'Trackstack-LambdaFunctionArm64': 'ARM64 is a cost choice, not something promised to customers.',
};

describe('the rule ids the packs evaluate', () => {
  test('the collector finds every cdk-nag pack and the project pack in full', () => {
    // cdk-nag 3.0.2: 131 + 85 + 69 + 90 applyRule calls, every id distinct.
    expect(CDK_NAG_IDS.size).toBe(375);
    for (const pack of CDK_NAG_PACKS) {
      expect([...CDK_NAG_IDS].some((id) => id.startsWith(`${pack}-`))).toBe(true);
    }
    expect([...TRACKSTACK_IDS].sort()).toEqual([
      'Trackstack-IAMRoleHasPermissionsBoundary',
      'Trackstack-KMSKeyAdminCannotDecrypt',
      'Trackstack-KMSKeyRetained',
      'Trackstack-LambdaFunctionArm64',
    ]);
    expect(GCP_NAMES.size).toBe(gcpPolicies.length);
  });
});

describe('customer promises', () => {
  test('every rule id in the mapping is a rule a pack evaluates, or a cfn-lint check that synth runs', () => {
    const lintIds = ALL_RULES.filter((id) => CFN_LINT_ID.test(id));
    const unknown = ALL_RULES.filter(
      (id) => !CDK_NAG_IDS.has(id) && !TRACKSTACK_IDS.has(id) && !GCP_NAMES.has(id) && !CFN_LINT_ID.test(id),
    );
    expect(unknown).toEqual([]);
    const run = cfnLintChecksRun();
    expect(run.size).toBeGreaterThan(100);
    expect(lintIds.filter((id) => !run.has(id))).toEqual([]);
  });

  test('ids are unique and kebab-case; no promise lists a rule twice', () => {
    const ids = CUSTOMER_PROMISES.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of CUSTOMER_PROMISES) {
      expect(p.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(new Set(p.rules).size).toBe(p.rules.length);
    }
  });

  test('every promise has a one-line title, a full-sentence statement and at least one GDPR article', () => {
    const articles = new Set<unknown>(Object.values(GDPR));
    for (const p of CUSTOMER_PROMISES) {
      expect(p.title).toMatch(/^[A-Z][^\n]{10,80}[^.]$/);
      expect(p.statement).toMatch(/^[A-Z][^\n]{40,}\.$/);
      expect(['data-handling', 'breach-response']).toContain(p.policy);
      expect(p.gdpr.length).toBeGreaterThan(0);
      // Only the named constants: an article typed inline could carry a made-up title.
      for (const a of p.gdpr) expect(articles.has(a)).toBe(true);
    }
  });

  test('both policies are covered, and every GDPR constant is a distinct article', () => {
    expect(CUSTOMER_PROMISES.filter((p) => p.policy === 'data-handling').length).toBeGreaterThan(10);
    expect(CUSTOMER_PROMISES.filter((p) => p.policy === 'breach-response').length).toBeGreaterThan(4);
    const articles = Object.values(GDPR).map((a) => a.article);
    expect(new Set(articles).size).toBe(articles.length);
    for (const a of articles) expect(a).toMatch(/^\d+(?:\(\d+\)(?:\([a-z]\))?)?$/);
    expect(GDPR.storageLimitation).toEqual({ article: '5(1)(e)', title: 'Storage limitation' });
    expect(GDPR.securityOfProcessing).toEqual({ article: '32', title: 'Security of processing' });
  });

  test('exactly the named promises have no rule behind them', () => {
    const unenforced = CUSTOMER_PROMISES.filter((p) => p.rules.length === 0).map((p) => p.id);
    expect(unenforced.sort()).toEqual([...UNENFORCED].sort());
    // The breach policy's own clock and the purge's timing are among them: no rule can see either.
    expect(unenforced).toEqual(expect.arrayContaining(['customers-notified-72h', 'deleted-after-expiry']));
  });

  test('every GCP policy and every Trackstack rule serves a promise, except the named cost rule', () => {
    for (const name of GCP_NAMES)
      expect({ name, promises: promisesOfRule(name).length > 0 }).toEqual({ name, promises: true });
    const withoutPromise = [...TRACKSTACK_IDS].filter((id) => promisesOfRule(id).length === 0);
    expect(withoutPromise.sort()).toEqual(Object.keys(OWN_RULES_WITHOUT_PROMISE).sort());
  });

  test('encryption at rest is enforced by all four cdk-nag packs and the GCP pack', () => {
    const rules = promise('encrypted-at-rest').rules;
    for (const pack of CDK_NAG_PACKS) expect(rules.some((r) => r.startsWith(`${pack}-`))).toBe(true);
    expect(rules).toContain('gcp-cmek-on-buckets-and-topics');
    expect(promise('no-human-decrypt').rules).toEqual(['Trackstack-KMSKeyAdminCannotDecrypt']);
    expect(promise('least-privilege').rules).toEqual(
      expect.arrayContaining([
        'AwsSolutions-IAM5',
        'Trackstack-IAMRoleHasPermissionsBoundary',
        'gcp-no-primitive-roles',
      ]),
    );
  });
});

describe('promisesOfRule', () => {
  test('a finding id is matched by its rule', () => {
    const ofRule = promisesOfRule('AwsSolutions-IAM5');
    expect(ofRule.map((p) => p.id)).toEqual(['least-privilege']);
    expect(promisesOfRule('AwsSolutions-IAM5[Resource::*]')).toEqual(ofRule);
    expect(promisesOfRule('AwsSolutions-IAM5[Action::s3:*]')).toEqual(ofRule);
  });

  test('a rule serving several promises finds them all, in mapping order', () => {
    expect(promisesOfRule('gcp-kms-key-symmetric-rotated-90-days').map((p) => p.id)).toEqual([
      'encrypted-at-rest',
      'keys-rotated',
    ]);
  });

  test('a rule that serves no promise, or no rule at all, finds none', () => {
    expect(promisesOfRule('AwsSolutions-EB1')).toEqual([]);
    expect(promisesOfRule('Trackstack-LambdaFunctionArm64')).toEqual([]);
    expect(promisesOfRule('')).toEqual([]);
    // A prefix of a mapped id is a different rule.
    expect(promisesOfRule('AwsSolutions-S')).toEqual([]);
  });
});

describe('the AWS rules of the mapping, over the dev stage', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'trackstack-promises-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test('every mapped cdk-nag and Trackstack rule applies to at least one resource we deploy', () => {
    // A rule that is NOT_APPLICABLE to every resource enforces nothing here, and listing it would be false
    // comfort (cdk-nag's DynamoDB PITR rules, for one, never see the TableV2 tables).
    const { app } = createApp({
      context: { ...readCdkJsonContext(), ...SKIP_BUNDLING, stage: 'dev' },
      outdir,
      builtinCloudFormationValidation: false,
    });
    app.synth();
    const nodes = app.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c));
    const mapped = new Set(ALL_RULES);
    const applies = new Set<string>();
    const packs = [
      new AwsSolutionsChecks(),
      new NIST80053R5Checks(),
      new PCIDSS321Checks(),
      new HIPAASecurityChecks(),
      new TrackstackChecks(),
    ];
    for (const pack of packs) {
      probe(pack, nodes, (id, params) => {
        if (!mapped.has(id) || applies.has(id)) return;
        try {
          if (params.rule(params.node) !== NagRuleCompliance.NOT_APPLICABLE) applies.add(id);
        } catch {
          // A rule that throws on a resource (an unresolved token) still looked at it.
          applies.add(id);
        }
      });
    }
    const awsRules = [...mapped].filter((id) => CDK_NAG_IDS.has(id) || TRACKSTACK_IDS.has(id));
    expect(awsRules.filter((id) => !applies.has(id))).toEqual([]);
    expect(awsRules.length).toBeGreaterThan(60);
  });
});
