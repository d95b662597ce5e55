/**
 * `npm run deploy:local` as a test: the dev stage deployed into a fresh moto_server with the real CDK CLI
 * (bootstrap in three regions, deploy --all), the deployed resources checked against the templates, and a
 * hit sent through each region's ingest service to the deployed bucket. Fails, never skips, without
 * moto_server or cfn-lint. Takes about a minute.
 *
 * The first block tests the moto adjustments and the template resolver on small templates, without moto.
 */
import { DIRECTORY, RETENTION } from '../../../platform';
import { MOTO_IGNORED_PROPERTIES } from '../../../scripts/deploy-local/check-list';
import { parseDeployLocalArgs } from '../../../scripts/deploy-local/cli';
import { deployLocal, type DeployLocalResult } from '../../../scripts/deploy-local/deploy';
import { patchTemplateForMoto } from '../../../scripts/deploy-local/moto-patch';
import { motoCloudFormationTypes } from '../../../scripts/deploy-local/moto-types';
import { NOT_PROVEN, formatDeployLocalReport } from '../../../scripts/deploy-local/report';
import { TemplateResolver } from '../../../scripts/deploy-local/template-resolver';
import type { CfnTemplate, DeployedStack } from '../../../scripts/deploy-local/template';
import { assertCfnLintInstalled } from '../../../scripts/synth/cfn-lint';
import { assertMotoInstalled } from '../../../tooling/moto';

const place = { account: '000000000000', region: 'eu-west-1', stackName: 'S' };
const supported = new Set([
  'AWS::KMS::Key',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::S3::Bucket',
  'AWS::Lambda::Function',
]);

describe('patchTemplateForMoto', () => {
  const template: CfnTemplate = {
    Resources: {
      Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [{ Sid: 'A' }] } } },
      Stream: { Type: 'AWS::KinesisFirehose::DeliveryStream', Properties: { DeliveryStreamName: 'events' } },
      Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'app/origin' } },
      Url: { Type: 'AWS::Lambda::Url', Properties: {} },
      Cleanup: { Type: 'Custom::S3AutoDeleteObjects', Properties: { ServiceToken: 'x' }, DependsOn: ['Key'] },
      Policy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] },
          Env: { Ref: 'Secret' },
          Sub: { 'Fn::Sub': 'name=${Stream} url=${Url.FunctionUrl} keep=${Key.Arn}' },
          Custom: { 'Fn::GetAtt': ['Cleanup', 'Result'] },
          Kept: { 'Fn::GetAtt': ['Key', 'Arn'] },
        },
      },
    },
    Outputs: { Url: { Value: { 'Fn::GetAtt': ['Url', 'FunctionUrl'] } } },
  };
  const { template: out, patches, skipped } = patchTemplateForMoto(template, place, supported);
  const props = out.Resources.Policy!.Properties!;

  test('replaces Ref and GetAtt to skipped types with what AWS would return', () => {
    expect(props.Resource).toBe('arn:aws:firehose:eu-west-1:000000000000:deliverystream/events');
    expect(props.Env).toBe('arn:aws:secretsmanager:eu-west-1:000000000000:secret:app/origin');
    expect(props.Sub).toEqual({
      'Fn::Sub': 'name=events url=https://url.lambda-url.eu-west-1.on.aws/ keep=${Key.Arn}',
    });
    expect(out.Outputs!.Url!.Value).toBe('https://url.lambda-url.eu-west-1.on.aws/');
  });

  test('leaves references to supported resources alone', () => {
    expect(props.Kept).toEqual({ 'Fn::GetAtt': ['Key', 'Arn'] });
  });

  test('turns custom resources into no-ops, keeping their dependencies', () => {
    expect(out.Resources.Cleanup).toEqual({
      Type: 'AWS::CloudFormation::WaitConditionHandle',
      DependsOn: ['Key'],
    });
    expect(props.Custom).toBe('moto-stubbed-Cleanup-Result');
  });

  test('serializes KMS key policies, which moto mishandles as objects', () => {
    expect(out.Resources.Key!.Properties!.KeyPolicy).toEqual({
      'Fn::ToJsonString': { Statement: [{ Sid: 'A' }] },
    });
  });

  test('lists every change once and every skipped resource', () => {
    expect([...skipped.keys()].sort()).toEqual(['Secret', 'Stream', 'Url']);
    const changes = patches.map((p) => `${p.logicalId}: ${p.change}`);
    expect(new Set(changes).size).toBe(changes.length);
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Stream: GetAtt Arn/),
        expect.stringMatching(/^Cleanup: replaced by/),
      ]),
    );
    // The input is not modified.
    expect(template.Resources.Cleanup!.Type).toBe('Custom::S3AutoDeleteObjects');
  });
});

describe('TemplateResolver', () => {
  const stack: DeployedStack = {
    id: 'S',
    ...place,
    template: {
      Resources: {
        Key: { Type: 'AWS::KMS::Key' },
        Bucket: { Type: 'AWS::S3::Bucket' },
        Queue: { Type: 'AWS::SQS::Queue' },
        Rule: { Type: 'AWS::Events::Rule' },
        Stream: {
          Type: 'AWS::KinesisFirehose::DeliveryStream',
          Properties: { DeliveryStreamName: 'events' },
        },
      },
      Conditions: { InEurope: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] } },
      Outputs: { B: { Value: { Ref: 'Bucket' }, Export: { Name: 'bucket-name' } } },
    },
    physical: new Map([
      ['Key', 'k-1'],
      ['Bucket', 'my-bucket'],
      ['Queue', 'https://sqs.eu-west-1.amazonaws.com/000000000000/dlq'],
      ['Rule', 'daily'],
    ]),
    skipped: new Map([['Stream', 'AWS::KinesisFirehose::DeliveryStream']]),
  };
  const resolver = new TemplateResolver([stack]);

  test('resolves references to deployed and skipped resources, and the usual functions', () => {
    expect(
      resolver.resolve(
        {
          key: { 'Fn::GetAtt': ['Key', 'Arn'] },
          bucket: {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'Bucket' }, '/*']],
          },
          stream: { 'Fn::GetAtt': ['Stream', 'Arn'] },
          sub: { 'Fn::Sub': ['${AWS::Region}/${Name}', { Name: { Ref: 'Stream' } }] },
          cond: { 'Fn::If': ['InEurope', 'yes', { Ref: 'AWS::NoValue' }] },
          imported: { 'Fn::ImportValue': 'bucket-name' },
          gone: { Ref: 'AWS::NoValue' },
          queue: [{ 'Fn::GetAtt': ['Queue', 'Arn'] }, { 'Fn::GetAtt': ['Queue', 'QueueName'] }],
          rule: { 'Fn::GetAtt': ['Rule', 'Arn'] },
        },
        stack,
      ),
    ).toEqual({
      key: 'arn:aws:kms:eu-west-1:000000000000:key/k-1',
      bucket: 'arn:aws:s3:::my-bucket/*',
      stream: 'arn:aws:firehose:eu-west-1:000000000000:deliverystream/events',
      sub: 'eu-west-1/events',
      cond: 'yes',
      imported: 'my-bucket',
      queue: ['arn:aws:sqs:eu-west-1:000000000000:dlq', 'dlq'],
      rule: 'arn:aws:events:eu-west-1:000000000000:rule/daily',
    });
  });

  test('refuses what it cannot know instead of guessing', () => {
    expect(() => resolver.resolve({ 'Fn::GetAtt': ['Bucket', 'WebsiteURL'] }, stack)).toThrow(/not known/);
    expect(() => resolver.resolve({ Ref: 'Nope' }, stack)).toThrow(/unknown Nope/);
  });
});

test('the command line takes a stage and the --keep, --unpatched and --verbose flags', () => {
  expect(parseDeployLocalArgs([])).toEqual({
    stage: 'dev',
    keep: false,
    unpatched: false,
    verbose: false,
    help: false,
  });
  expect(parseDeployLocalArgs(['--stage', 'staging', '--keep']).keep).toBe(true);
  expect(() => parseDeployLocalArgs(['--stage', 'qa'])).toThrow(/--stage must be one of/);
  expect(() => parseDeployLocalArgs(['--force'])).toThrow(/Unknown option/);
});

describe('the dev stage deployed into moto', () => {
  let result: DeployLocalResult;
  let report: string;

  beforeAll(async () => {
    // Missing tools fail the suite here with an install hint; this test never skips.
    assertMotoInstalled();
    assertCfnLintInstalled();
    result = await deployLocal({ stage: 'dev' });
    report = formatDeployLocalReport(result).join('\n');
  }, 240_000);

  /** The whole report on failure: it says which step, resource and property went wrong. */
  function expectWithReport(pass: boolean, what: string): void {
    if (!pass) throw new Error(`${what}\n\n${report}`);
  }

  test('cdk bootstrap (three regions) and cdk deploy --all succeed', () => {
    expectWithReport(result.failure === undefined, `deploy:local stopped: ${result.failure}`);
    expect(result.regions).toEqual(['ap-southeast-1', 'eu-west-1', 'us-east-1']);
    expect(result.stacks.map((s) => s.id).sort()).toEqual(result.synth.stacks.map((s) => s.id).sort());
  });

  test('moto creates every resource of a type it supports, and only the others are skipped', () => {
    const { types } = motoCloudFormationTypes();
    for (const stack of result.stacks) {
      for (const [id, resource] of Object.entries(stack.template.Resources)) {
        const created = stack.physical.has(id);
        expectWithReport(
          created === types.has(resource.Type),
          `${stack.id} ${id} (${resource.Type}) was ${created ? 'created' : 'skipped'}`,
        );
      }
      const createdTypes = new Set(
        [...stack.physical.keys()].map((id) => stack.template.Resources[id]?.Type),
      );
      for (const type of [
        'AWS::KMS::Key',
        'AWS::KMS::Alias',
        'AWS::S3::Bucket',
        'AWS::Lambda::Function',
        'AWS::IAM::Role',
      ])
        expect(createdTypes).toContain(type);
    }
  });

  test('no deployed property differs from its template', () => {
    const mismatches = result.checks.filter((c) => c.status === 'mismatch');
    expectWithReport(mismatches.length === 0, `${mismatches.length} mismatches`);
  });

  test('every KMS key has rotation on, and DescribeKey works on it', () => {
    const keys = result.stacks.flatMap((s) =>
      Object.values(s.template.Resources).filter((r) => r.Type === 'AWS::KMS::Key'),
    );
    const rotation = result.checks.filter(
      (c) => c.type === 'AWS::KMS::Key' && c.property === 'EnableKeyRotation',
    );
    expect(rotation).toHaveLength(keys.length);
    for (const c of rotation) expect(c).toMatchObject({ status: 'ok', actual: 'true' });
    for (const c of result.checks.filter((c) => c.property === 'Enabled (DescribeKey)'))
      expect(c.status).toBe('ok');
  });

  test("every bucket that the template encrypts with a CMK is SSE-KMS with its stack's key", () => {
    const cmk = result.checks.filter(
      (c) => c.type === 'AWS::S3::Bucket' && c.property === 'BucketEncryption KMSMasterKeyID',
    );
    expect(cmk.length).toBeGreaterThanOrEqual(result.stacks.length);
    for (const c of cmk) {
      expect(c.status).toBe('ok');
      const stack = result.stacks.find((s) => s.id === c.stack)!;
      expect(c.actual).toMatch(new RegExp(`^arn:aws:kms:${stack.region}:000000000000:key/`));
    }
    // Versioning is checked too; moto 5.2 does not apply it, which the report says.
    for (const c of result.checks.filter((c) => c.property === 'VersioningConfiguration'))
      expect(['ok', 'not-applied']).toContain(c.status);
  });

  test('every function exists with the runtime, handler, environment and reserved concurrency of its template', () => {
    const fns = result.checks.filter((c) => c.type === 'AWS::Lambda::Function');
    const exists = fns.filter((c) => c.property === 'exists (GetFunctionConfiguration)');
    expect(exists.length).toBeGreaterThanOrEqual(result.stacks.length);
    for (const c of fns.filter((c) =>
      /^(exists|Runtime|Handler|Environment |ReservedConcurrentExecutions)/.test(c.property),
    ))
      expect(c.status).toBe('ok');
  });

  test("the directory table exists in every region, encrypted with that region's deployed key", () => {
    const tables = result.standIns.filter(
      (s) => s.type === 'AWS::DynamoDB::GlobalTable' && s.stack !== 'Trackstack-dev-security',
    );
    expect(tables.map((t) => t.region).sort()).toEqual(['ap-southeast-1', 'eu-west-1', 'us-east-1']);
    const directory = (c: { type: string; logicalId: string }) =>
      c.type === 'AWS::DynamoDB::GlobalTable' && c.logicalId.startsWith('DirectoryTable');
    const keys = result.checks.filter((c) => directory(c) && c.property.startsWith('replica key'));
    expect(keys).toHaveLength(3);
    for (const c of keys) expect(c.status).toBe('ok');
    // The template's recovery period and time-to-live, in every region.
    const periods = result.checks.filter(
      (c) => directory(c) && c.property === 'PointInTimeRecovery RecoveryPeriodInDays',
    );
    expect(periods.map((c) => [c.status, c.actual])).toEqual([
      ['ok', String(RETENTION.directoryRecoveryDays)],
      ['ok', String(RETENTION.directoryRecoveryDays)],
      ['ok', String(RETENTION.directoryRecoveryDays)],
    ]);
    const ttl = result.checks.filter((c) => directory(c) && c.property === 'TimeToLiveSpecification');
    expect(ttl).toHaveLength(3);
    for (const c of ttl) {
      expect(c.status).toBe('ok');
      expect(JSON.parse(c.actual)).toEqual({ AttributeName: DIRECTORY.ttlAttribute, Enabled: true });
    }
  });

  test("a hit sent through each region's ingest service reaches the deployed Firehose and bucket", () => {
    expect(result.dataPath.map((d) => d.region).sort()).toEqual(['ap-southeast-1', 'eu-west-1', 'us-east-1']);
    for (const d of result.dataPath) {
      expectWithReport(!d.error, `${d.location}: ${d.error}`);
      expect(d.readiness).toEqual({
        status: 'ready',
        checks: { sink: 'ok', keyProvider: 'ok', directory: 'ok' },
      });
      expect(d.hitStatus).toBe(200);
      const stack = result.stacks.find((s) => s.id === d.stack)!;
      const buckets = [...stack.physical]
        .filter(([id]) => stack.template.Resources[id]?.Type === 'AWS::S3::Bucket')
        .map(([, name]) => name);
      expect(buckets).toContain(/^s3:\/\/([^/]+)\//.exec(d.object ?? '')?.[1]);
      expect(d.objectEncryption).toMatch(new RegExp(`^aws:kms with arn:aws:kms:${d.region}:`));
      expect(d.event).toMatchObject({
        accountId: 'acc_demoaccount',
        type: 'pageview',
        location: d.location,
        consent: 'full',
      });
      expect(JSON.stringify(d.event)).not.toContain('198.51.100.7');
      expect(d.decrypted).toMatchObject({ ip: '198.51.100.7' });
    }
    expect(result.ok).toBe(true);
  });

  test("each region's purge function, dead-letter queue and daily schedule deploy, named as the other regions expect", () => {
    // Every name in a purge environment (three event buckets, the receipts bucket, the table) was deployed,
    // and the directory home's job (americas) also names the edge stack's config bucket.
    const wiring = result.checks.filter((c) => c.property.startsWith('purge '));
    expectWithReport(wiring.length === 3 * 5 + 1, `${wiring.length} purge wiring checks`);
    for (const c of wiring) expectWithReport(c.status === 'ok', `${c.stack} ${c.property}: ${c.actual}`);
    const config = wiring.filter((c) => c.property.startsWith('purge TS_CONFIG_BUCKET'));
    expect(config.map((c) => [c.stack, c.property, c.actual])).toEqual([
      [
        'Trackstack-dev-americas',
        'purge TS_CONFIG_BUCKET is a deployed bucket in us-east-1',
        'trackstack-dev-config-000000000000',
      ],
    ]);
    const queues = result.checks.filter((c) => c.type === 'AWS::SQS::Queue');
    // The purge's dead-letter queue in each region, and the containment function's.
    expect(new Set(queues.map((c) => c.stack)).size).toBe(4);
    // A daily purge schedule in each region, the edge health check's every-minute one, the per-key alarms
    // forwarded from eu-west-1 and ap-southeast-1, and their route to on-call in the security stack.
    const rules = result.checks.filter((c) => c.type === 'AWS::Events::Rule');
    expect([...new Set(rules.map((c) => c.stack))].sort()).toEqual([
      'Trackstack-dev-americas',
      'Trackstack-dev-apac',
      'Trackstack-dev-edge',
      'Trackstack-dev-europe',
      'Trackstack-dev-security',
    ]);
    for (const c of [...queues, ...rules])
      expectWithReport(c.status === 'ok', `${c.stack} ${c.logicalId} ${c.property}`);
    expect(result.checks.filter((c) => c.property === 'Targets Target0 DeadLetterConfig')).toHaveLength(3);
    // The purge receipts bucket and the audit-trail bucket.
    expect(result.checks.filter((c) => c.property === 'ObjectLockConfiguration')).toHaveLength(2);
  });

  test('the security stack: the incident table (its key, point-in-time recovery) and the containment function', () => {
    const incidents = result.checks.filter(
      (c) => c.type === 'AWS::DynamoDB::GlobalTable' && c.logicalId.startsWith('IncidentsTable'),
    );
    expect(incidents.length).toBeGreaterThan(0);
    for (const c of incidents) expectWithReport(c.status === 'ok', `${c.logicalId} ${c.property}`);
    expect(incidents.find((c) => c.property === 'PointInTimeRecovery RecoveryPeriodInDays')?.actual).toBe(
      '35',
    );
    const fn = result.checks.filter(
      (c) => c.stack.startsWith('Trackstack-dev-security') && c.type === 'AWS::Lambda::Function',
    );
    expect(fn.length).toBeGreaterThan(0);
    // Its environment matches the template, the edge store's ARN included, which reaches the function
    // through the edge stack's output (a weak reference, resolved for moto); moto ignores its architecture.
    for (const c of fn) expectWithReport(c.status !== 'mismatch', `${c.logicalId} ${c.property}`);
    expect(fn.some((c) => c.status === 'ok' && /^Environment/.test(c.property))).toBe(true);
  });

  test('the origin lock: in every region, both permissions for CloudFront read back with their scope', () => {
    const lock = result.checks.filter(
      (c) => c.type === 'AWS::Lambda::Permission' && /for cloudfront\.amazonaws\.com$/.test(c.expected),
    );
    const byStack = new Map<string, string[]>();
    for (const c of lock)
      byStack.set(c.stack, [...(byStack.get(c.stack) ?? []), `${c.property}=${c.actual}`]);
    expect([...byStack.keys()].sort()).toEqual([
      'Trackstack-dev-americas',
      'Trackstack-dev-apac',
      'Trackstack-dev-europe',
    ]);
    for (const checks of byStack.values()) {
      expect(checks.sort()).toEqual([
        'statement in the function policy (GetPolicy)=lambda:InvokeFunction for cloudfront.amazonaws.com',
        'statement in the function policy (GetPolicy)=lambda:InvokeFunctionUrl for cloudfront.amazonaws.com',
      ]);
    }
    const scopes = result.checks.filter(
      (c) =>
        c.type === 'AWS::Lambda::Permission' &&
        lock.some((l) => l.stack === c.stack && l.logicalId === c.logicalId),
    );
    for (const c of scopes) expectWithReport(c.status === 'ok', `${c.stack} ${c.logicalId} ${c.property}`);
    const actual = (property: string) => scopes.filter((c) => c.property === property).map((c) => c.actual);
    expect(new Set(actual('SourceArn'))).toEqual(
      new Set(['arn:aws:cloudfront::000000000000:distribution/*']),
    );
    expect(new Set(actual('SourceAccount'))).toEqual(new Set(['000000000000']));
    expect(actual('FunctionUrlAuthType')).toEqual(['AWS_IAM', 'AWS_IAM', 'AWS_IAM']);
    expect(actual('InvokedViaFunctionUrl')).toEqual(['true', 'true', 'true']);
    // No origin secret is deployed any more.
    for (const stack of result.stacks) {
      expect(Object.values(stack.template.Resources).map((r) => r.Type)).not.toContain(
        'AWS::SecretsManager::Secret',
      );
    }
  });

  test('the edge stack deploys what moto supports, and skips CloudFront and WAF, saying so', () => {
    const edge = result.stacks.find((s) => s.id === 'Trackstack-dev-edge')!;
    const skipped = new Set(edge.skipped.values());
    for (const type of [
      'AWS::CloudFront::Distribution',
      'AWS::CloudFront::Function',
      'AWS::CloudFront::KeyValueStore',
      'AWS::WAFv2::WebACL',
      'AWS::WAFv2::LoggingConfiguration',
    ])
      expect(skipped).toContain(type);
    const created = [...edge.physical.keys()].map((id) => edge.template.Resources[id]?.Type);
    for (const type of ['AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::Logs::LogGroup', 'AWS::Lambda::Function'])
      expect(created).toContain(type);
    expect(report).toMatch(/SKIPPED {2}AWS::WAFv2::WebACL/);
    expect(report).toMatch(/SKIPPED {2}AWS::CloudFront::Distribution/);
  });

  test('the report lists what moto skipped or did not apply, and what the local deploy does not prove', () => {
    for (const c of result.checks.filter((c) => c.status === 'not-applied'))
      expect(MOTO_IGNORED_PROPERTIES.has(`${c.type} ${c.property}`)).toBe(true);
    expect(report).toMatch(/SKIPPED {2}AWS::S3::BucketPolicy/);
    expect(report).toMatch(/stand-in created by deploy:local/);
    for (const line of NOT_PROVEN) expect(report).toContain(line);
    expect(report).toMatch(/deploy:local passed$/);
  });

  test('moto is stopped afterwards', async () => {
    await expect(fetch(`${result.endpoint}/moto-api/`)).rejects.toThrow();
  });
});
