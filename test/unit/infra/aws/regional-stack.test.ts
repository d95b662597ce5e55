/**
 * The regional stacks as a whole (`RegionalStack`, `createApp`): which stack holds what, in which order they
 * deploy, what every construct adds up to in the key policy and the alarms, and the outputs. Each construct
 * is tested on its own, on a bare stack, in its own file; the IAM boundary in permissions-boundary.test.ts.
 * The directory home's purge and the CDN's config bucket are tested here, because only the stack wires them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { CAMPAIGN_CONFIG, LOCATIONS, names, PURGE_METRICS, REGIONS } from '../../../../platform';
import { parsePurgeEnv } from '../../../../platform/contracts/purge-env';
import { createApp, readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { RegionalStack } from '../../../../infra/aws/lib/regional-stack';
import { STAGES_CONTEXT_KEY } from '../../../../infra/aws/lib/stage-context';
import {
  actions,
  boundaryOf,
  functionOf,
  iamPattern,
  type Json,
  keyPolicy,
  logicalIdOf,
  only,
  ref,
  render,
  rolePolicy,
  synthesizeStage,
  type SynthesizedApp,
  SKIP_BUNDLING,
  TEST_ACCOUNT,
} from './support';

// Europe is a replica location, americas the directory home.
const EU = REGIONS.europe.aws;
const CRYPTO = /^kms:(Decrypt|Encrypt|GenerateDataKey|ReEncrypt|CreateGrant|\*)/;
const ROOT = { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] };

let synth: SynthesizedApp;
let europe: Template;
let americas: Template;

beforeAll(() => {
  // The templates' policies, not the functions' code: the snapshot and compliance tests bundle for real.
  synth = synthesizeStage('dev', SKIP_BUNDLING);
  europe = synth.templates.europe!;
  americas = synth.templates.americas!;
});
afterAll(() => synth?.dispose());

describe('stacks', () => {
  test('one regional stack per location, with stable ids and an explicit region', () => {
    expect(synth.regionalStacks.map((s) => s.stackName)).toEqual([
      'Trackstack-dev-americas',
      'Trackstack-dev-europe',
      'Trackstack-dev-apac',
    ]);
    for (const stack of synth.regionalStacks) expect(stack.region).toBe(REGIONS[stack.location].aws);
  });

  test('the directory home (americas) deploys after the stacks whose keys encrypt its replicas', () => {
    const home = synth.regionalStacks.find((s) => s.location === 'americas')!;
    expect(home.dependencies.map((s) => s.stackName).sort()).toEqual([
      'Trackstack-dev-apac',
      'Trackstack-dev-europe',
    ]);
  });
});

describe('a stage without the primary location', () => {
  test('creates the directory in its first location, after the stacks of the other locations', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-narrow-'));
    try {
      const narrowed = createApp({
        context: {
          ...readCdkJsonContext(),
          stage: 'dev',
          [STAGES_CONTEXT_KEY]: { dev: { locations: ['europe', 'apac'] } },
          ...SKIP_BUNDLING,
        },
        outdir,
      });
      const [home, replica] = narrowed.regionalStacks;
      expect(home?.stackName).toBe('Trackstack-dev-europe');
      expect(home?.directory).toBeDefined();
      expect(replica?.directory).toBeUndefined();
      expect(home?.dependencies).toEqual([replica]);
      // The receipts bucket goes with the directory; every purge job writes there and empties both buckets.
      expect(home?.purgeReceipts).toBeDefined();
      expect(replica?.purgeReceipts).toBeUndefined();
      for (const stack of [home!, replica!]) {
        expect(stack.purge.function.environment).toMatchObject({
          TS_RECEIPTS_REGION: REGIONS.europe.aws,
          TS_LOCATIONS: ['europe', 'apac'],
        });
        expect(stack.purge.function.environment.TS_EVENT_BUCKET_AMERICAS).toBeUndefined();
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('regional key policy, with every construct’s statements', () => {
  test('the account gets cryptographic use only through DynamoDB (and Firehose’s grant)', () => {
    const rootStatements = keyPolicy(europe).filter(
      (s) =>
        JSON.stringify(s.Principal) === JSON.stringify({ AWS: ROOT }) &&
        actions(s).some((a) => CRYPTO.test(a)),
    );
    const viaServices = rootStatements.map((s) => s.Condition?.StringEquals?.['kms:ViaService']);
    expect(viaServices.sort()).toEqual([`dynamodb.${EU}.amazonaws.com`, `firehose.${EU}.amazonaws.com`]);
    const firehose = rootStatements.find((s) => s.Sid === 'EventStreamEncryptionGrant')!;
    expect(actions(firehose).sort()).toEqual(['kms:CreateGrant', 'kms:DescribeKey']);
    expect(firehose.Condition?.Bool).toEqual({ 'kms:GrantIsForAWSResource': 'true' });
  });

  test('nobody else gets unconditional cryptographic use: every statement is bound to a role or service', () => {
    for (const statement of keyPolicy(europe)) {
      if (!actions(statement).some((a) => CRYPTO.test(a) && a !== 'kms:CreateGrant')) continue;
      const principal = statement.Principal as { AWS?: unknown; Service?: unknown };
      const isRole = JSON.stringify(principal.AWS ?? '').includes('Fn::GetAtt');
      expect(isRole || statement.Condition !== undefined).toBe(true);
      expect(principal.AWS).not.toBe('*');
    }
  });

  test('services are bound to this account or these resources', () => {
    const byService = (service: string) =>
      keyPolicy(europe).filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: service }));
    const logs = byService(`logs.${EU}.amazonaws.com`);
    expect(logs).toHaveLength(3);
    const logGroups = logs.map((s) =>
      JSON.stringify(s.Condition?.ArnEquals?.['kms:EncryptionContext:aws:logs:arn']),
    );
    expect(logGroups.some((g) => g.includes(':log-group:/trackstack-dev/europe/ingest'))).toBe(true);
    expect(logGroups.some((g) => g.includes(':log-group:/trackstack-dev/europe/event-stream'))).toBe(true);
    expect(logGroups.some((g) => g.includes(':log-group:/trackstack-dev/europe/purge'))).toBe(true);
    const [cloudwatch] = byService('cloudwatch.amazonaws.com');
    expect(cloudwatch?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    });
  });
});

describe('directory', () => {
  test('the global table lives in the primary location only', () => {
    expect(europe.findResources('AWS::DynamoDB::GlobalTable')).toEqual({});
    expect(synth.templates.apac!.findResources('AWS::DynamoDB::GlobalTable')).toEqual({});
    expect(americas.findResources('AWS::DynamoDB::Table')).toEqual({});
  });
});

describe('purge', () => {
  const ACCOUNT = { Ref: 'AWS::AccountId' };
  /** A name built by `names.*` with the account token, as CloudFormation renders it. */
  const withAccount = (name: string, suffix = '') => ({
    'Fn::Join': ['', [name, ACCOUNT, ...(suffix ? [suffix] : [])]],
  });
  const eventBucketName = (l: (typeof LOCATIONS)[number]) => withAccount(`trackstack-dev-${l}-events-`);

  test('every event bucket is named by stage, location and account, so every region can address it', () => {
    for (const location of LOCATIONS) {
      synth.templates[location]!.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: eventBucketName(location),
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'events/' }),
      });
    }
  });

  describe('receipts bucket', () => {
    test('only in the directory home’s stack', () => {
      for (const l of ['europe', 'apac'] as const) {
        expect(
          synth.templates[l]!.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } }),
        ).toEqual({});
      }
    });
  });
});

describe('purge of published configs in the CDN’s config bucket', () => {
  // Only the directory home's job (americas) deletes configs.
  const configBucket = {
    'Fn::Join': ['', ['arn:aws:s3:::trackstack-dev-config-', { Ref: 'AWS::AccountId' }]],
  };
  const configObjects = {
    'Fn::Join': [
      '',
      ['arn:aws:s3:::trackstack-dev-config-', { Ref: 'AWS::AccountId' }, `/${CAMPAIGN_CONFIG.root}*`],
    ],
  };
  const purgeStatements = (template: Template) =>
    rolePolicy(
      template,
      logicalIdOf(template, 'AWS::IAM::Role', { Description: 'Execution role of the purge function' }),
    );

  test('the directory home’s job gets TS_CONFIG_BUCKET, by name, and the handler accepts it', () => {
    const template = synth.templates.americas!;
    const variables = (
      functionOf(template, 'purge').props.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(variables.TS_CONFIG_BUCKET).toEqual({
      'Fn::Join': ['', ['trackstack-dev-config-', { Ref: 'AWS::AccountId' }]],
    });
    expect(render(template, variables.TS_CONFIG_BUCKET, REGIONS.americas.aws)).toBe(
      names.configBucket('dev', TEST_ACCOUNT),
    );
    const resolved = Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : render(template, v, 'x')]),
    );
    expect(parsePurgeEnv(resolved).TS_CONFIG_BUCKET).toBe(names.configBucket('dev', TEST_ACCOUNT));
  });

  test('its role lists under config/ and deletes objects and versions under config/ only', () => {
    const bySid = Object.fromEntries(purgeStatements(synth.templates.americas!).map((s) => [s.Sid, s]));
    expect(bySid.ListPublishedConfigs).toEqual({
      Sid: 'ListPublishedConfigs',
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:ListBucketVersions'],
      Resource: configBucket,
      Condition: { StringLike: { 's3:prefix': `${CAMPAIGN_CONFIG.root}*` } },
    });
    expect(bySid.DeletePublishedConfigs).toEqual({
      Sid: 'DeletePublishedConfigs',
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      Resource: configObjects,
    });
    const document = CAMPAIGN_CONFIG.path('acc_example01', 'cmp_1');
    expect(
      iamPattern(`${names.configBucket('dev', TEST_ACCOUNT)}/${CAMPAIGN_CONFIG.root}*`).test(
        `${names.configBucket('dev', TEST_ACCOUNT)}/${document}`,
      ),
    ).toBe(true);
  });

  test('the home stack’s boundary lets it, and nothing reaches the config bucket elsewhere', () => {
    const boundary = boundaryOf(synth.templates.americas!);
    expect(boundary.find((s) => s.Sid === 'DeletePublishedConfigs')).toMatchObject({
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      Resource: configObjects,
    });
    expect(boundary.find((s) => s.Sid === 'ListPublishedConfigs')).toMatchObject({
      Action: ['s3:ListBucket', 's3:ListBucketVersions'],
      Resource: configBucket,
    });
    for (const location of ['europe', 'apac'] as const) {
      const template = synth.templates[location]!;
      const variables = (
        functionOf(template, 'purge').props.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      expect(variables).not.toHaveProperty('TS_CONFIG_BUCKET');
      const mentions = [...purgeStatements(template), ...boundaryOf(template)].filter((s) =>
        JSON.stringify(s.Resource).includes('-config-'),
      );
      expect(mentions).toEqual([]);
    }
  });
});

describe('alarms', () => {
  test('a KMS-encrypted topic that CloudWatch alarms of this account may publish to', () => {
    const topic = only(europe, 'AWS::SNS::Topic');
    expect(topic.props).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] },
    });
    europe.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
  });

  test('errors, throttles, delivery, partitions, throttled records and spool backlog all notify the topic', () => {
    const topic = ref(europe, 'AWS::SNS::Topic');
    const alarms = Object.values(europe.findResources('AWS::CloudWatch::Alarm')) as { Properties: Json }[];
    // The per-key anomaly alarms watch Contributor Insights rules through metric math: no metric name.
    const named = alarms.filter((a) => a.Properties.MetricName !== undefined);
    expect(alarms.length - named.length).toBe(4);
    expect(named.map((a) => a.Properties.MetricName).sort()).toEqual([
      'ApproximateNumberOfMessagesVisible',
      'DeliveryToS3.DataFreshness',
      'DeliveryToS3.Success',
      'Errors',
      'Errors',
      'FailedInvocations',
      'PartitionCount',
      'PartitionCountExceeded',
      PURGE_METRICS.overdueAccounts,
      PURGE_METRICS.overdueAccounts,
      'SpoolDepth',
      'ThrottledRecords',
      'Throttles',
    ]);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topic]);
    europe.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SpoolDepth',
      Namespace: 'trackstack/dev',
      Dimensions: [{ Name: 'Location', Value: 'europe' }],
    });
    europe.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToS3.Success',
      Namespace: 'AWS/Firehose',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: names.eventStream('dev', 'europe') }],
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
    });
  });
});

describe('origin lock', () => {
  test('in every region, only CloudFront distributions of this account may call the ingest URL', () => {
    for (const location of LOCATIONS) {
      const template = synth.templates[location]!;
      template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
      const fromCloudFront = Object.values(
        template.findResources('AWS::Lambda::Permission', {
          Properties: { Principal: 'cloudfront.amazonaws.com' },
        }),
      ).map((r) => (r as { Properties: Json }).Properties);
      expect(fromCloudFront.map((p) => p.Action).sort()).toEqual([
        'lambda:InvokeFunction',
        'lambda:InvokeFunctionUrl',
      ]);
      for (const permission of fromCloudFront) {
        expect(permission.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
        expect(JSON.stringify(permission.SourceArn)).toMatch(/:cloudfront::.*:distribution\/\*"/);
      }
      // Nobody else: no permission names a public principal.
      for (const r of Object.values(template.findResources('AWS::Lambda::Permission'))) {
        expect((r as { Properties: Json }).Properties.Principal).not.toBe('*');
      }
    }
  });

  test('no stack holds an origin secret any more', () => {
    for (const location of LOCATIONS) {
      expect(synth.templates[location]!.findResources('AWS::SecretsManager::Secret')).toEqual({});
    }
  });

  test('home locations given to the stack reach its ingest function', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-home-'));
    try {
      const built = createApp({
        context: { ...readCdkJsonContext(), stage: 'dev', ...SKIP_BUNDLING },
        outdir,
      });
      const config = built.config;
      const stack = new RegionalStack(built.app, 'HomeLocations', {
        env: { region: REGIONS.europe.aws },
        config,
        location: 'europe',
        directoryHome: 'americas',
        homeLocations: { acc_example01: 'europe' },
      });
      expect(stack.ingest.function.environment.TS_HOME_LOCATIONS).toEqual({ acc_example01: 'europe' });
      // Without them, the variable is left out.
      const europeStack = built.regionalStacks.find((s) => s.location === 'europe')!;
      expect(europeStack.ingest.function.environment.TS_HOME_LOCATIONS).toBeUndefined();
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('outputs', () => {
  test('the origin contract for the edge stack: the Function URL, and no origin secret', () => {
    europe.hasOutput('IngestOriginUrl', {
      Value: { 'Fn::GetAtt': [only(europe, 'AWS::Lambda::Url').id, 'FunctionUrl'] },
    });
    expect(Object.keys(europe.findOutputs('OriginSecretArn'))).toEqual([]);
  });
});
