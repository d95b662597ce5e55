import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { DIRECTORY, RETENTION, REGIONS, names } from '../../../infra/platform';
import { NODE_RUNTIME } from '../../../infra/aws/lib/constructs/trackstack-function';
import { EVENT_PREFIX, PARTITION_QUERY } from '../../../infra/aws/lib/constructs/event-stream';
import { parseIngestEnv } from '../../../services/ingest/src/env';
import { createApp, readCdkJsonContext } from '../../../infra/aws/lib/app';
import { STAGES_CONTEXT_KEY } from '../../../infra/aws/lib/stage-context';
import { synthesizeStage, type SynthesizedApp } from './support';

type Json = Record<string, unknown>;
interface StatementJson {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

// Europe is a replica location, americas the directory home.
const EU = REGIONS.europe.aws;
const CRYPTO = /^kms:(Decrypt|Encrypt|GenerateDataKey|ReEncrypt|CreateGrant|\*)/;
const ROOT = { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] };

let synth: SynthesizedApp;
let europe: Template;
let americas: Template;

beforeAll(() => {
  synth = synthesizeStage('dev');
  europe = synth.templates.europe!;
  americas = synth.templates.americas!;
});
afterAll(() => synth?.dispose());

function only<T = Json>(template: Template, type: string): { id: string; props: T; resource: Json } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  const id = ids[0]!;
  const resource = found[id] as Json;
  return { id, props: resource.Properties as T, resource };
}

function actions(statement: StatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function keyPolicy(template: Template): StatementJson[] {
  return only<{ KeyPolicy: { Statement: StatementJson[] } }>(template, 'AWS::KMS::Key').props.KeyPolicy
    .Statement;
}

function ref(template: Template, type: string): { Ref: string } {
  return { Ref: only(template, type).id };
}

function logicalIdOf(template: Template, type: string, props: Json): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found).toHaveLength(1);
  return found[0]!;
}

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
        },
        outdir,
      });
      const [home, replica] = narrowed.regionalStacks;
      expect(home?.stackName).toBe('Trackstack-dev-europe');
      expect(home?.directory).toBeDefined();
      expect(replica?.directory).toBeUndefined();
      expect(home?.dependencies).toEqual([replica]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('regional key', () => {
  test('rotates, is retained, and has the platform alias', () => {
    const key = only(europe, 'AWS::KMS::Key');
    expect(key.props).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 30 });
    expect(key.resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    europe.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: `alias/${names.keyAlias('dev', 'europe')}`,
      TargetKeyId: { 'Fn::GetAtt': [key.id, 'Arn'] },
    });
  });

  test('administrators manage the key but cannot use it', () => {
    const admin = keyPolicy(europe).find((s) => s.Sid === 'AccountAdministratorsManageButDoNotUse')!;
    expect(admin.Principal).toEqual({ AWS: ROOT });
    expect(actions(admin)).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion']));
    expect(actions(admin).filter((a) => CRYPTO.test(a))).toEqual([]);
    expect(admin.Condition).toBeUndefined();
  });

  test('the account gets cryptographic use only through DynamoDB and Secrets Manager', () => {
    const rootStatements = keyPolicy(europe).filter(
      (s) =>
        JSON.stringify(s.Principal) === JSON.stringify({ AWS: ROOT }) &&
        actions(s).some((a) => CRYPTO.test(a)),
    );
    const viaServices = rootStatements.map((s) => s.Condition?.StringEquals?.['kms:ViaService']);
    expect(viaServices.sort()).toEqual([
      `dynamodb.${EU}.amazonaws.com`,
      `firehose.${EU}.amazonaws.com`,
      `secretsmanager.${EU}.amazonaws.com`,
    ]);
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

  test('the ingest role may unwrap and generate data keys only with an accountId encryption context', () => {
    const role = logicalIdOf(europe, 'AWS::IAM::Role', {
      Description: 'Execution role of the ingest function',
    });
    const statement = keyPolicy(europe).find((s) => s.Sid === 'IngestWrapsAccountDataKeys')!;
    expect(statement).toEqual({
      Sid: 'IngestWrapsAccountDataKeys',
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::GetAtt': [role, 'Arn'] } },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: '*',
      Condition: {
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['accountId'] },
        Null: { 'kms:EncryptionContextKeys': 'false' },
      },
    });
  });

  test('services are bound to this account or these resources', () => {
    const byService = (service: string) =>
      keyPolicy(europe).filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: service }));
    const logs = byService(`logs.${EU}.amazonaws.com`);
    expect(logs).toHaveLength(2);
    const logGroups = logs.map((s) =>
      JSON.stringify(s.Condition?.ArnEquals?.['kms:EncryptionContext:aws:logs:arn']),
    );
    expect(logGroups.some((g) => g.includes(':log-group:/trackstack-dev/europe/ingest'))).toBe(true);
    expect(logGroups.some((g) => g.includes(':log-group:/trackstack-dev/europe/event-stream'))).toBe(true);
    const [cloudwatch] = byService('cloudwatch.amazonaws.com');
    expect(cloudwatch?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    });
  });
});

describe('event store', () => {
  const key = () => ({ 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] });
  const eventBucketId = () =>
    logicalIdOf(europe, 'AWS::S3::Bucket', { LoggingConfiguration: Match.anyValue() });

  test('the event bucket: SSE-KMS with the regional key and bucket keys, versioned, private, logged', () => {
    const id = eventBucketId();
    expect(europe.toJSON().Resources[id].Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key() },
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          expect.objectContaining({
            Status: 'Enabled',
            NoncurrentVersionExpiration: { NoncurrentDays: RETENTION.noncurrentVersionDays },
          }),
        ],
      },
    });
    expect(europe.toJSON().Resources[id].DeletionPolicy).toBe('Retain');
  });

  test('the access log bucket: SSE-S3, private, logs expire after the platform retention', () => {
    const id = logicalIdOf(europe, 'AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    europe.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: id }, LogFilePrefix: 'events/' },
    });
    europe.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.objectLike({}),
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ ExpirationInDays: RETENTION.logRetentionDays, Status: 'Enabled' })],
      },
    });
  });

  test('both buckets refuse requests without TLS 1.2', () => {
    const policies = europe.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies) as Json[]) {
      const statements = (policy.Properties as { PolicyDocument: { Statement: StatementJson[] } })
        .PolicyDocument.Statement;
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      );
    }
  });
});

describe('event stream', () => {
  test('Direct PUT into the event bucket, partitioned by account and day, encrypted with the key', () => {
    const key = { 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] };
    const stream = only<Json>(europe, 'AWS::KinesisFirehose::DeliveryStream').props;
    expect(stream).toMatchObject({
      DeliveryStreamName: names.eventStream('dev', 'europe'),
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK', KeyARN: key },
      ExtendedS3DestinationConfiguration: {
        Prefix: 'account=!{partitionKeyFromQuery:account}/dt=!{partitionKeyFromQuery:dt}/',
        ErrorOutputPrefix: expect.stringMatching(/^errors\/!\{firehose:error-output-type\}\//),
        DynamicPartitioningConfiguration: { Enabled: true },
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: key } },
        CloudWatchLoggingOptions: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'MetadataExtraction',
              Parameters: expect.arrayContaining([
                {
                  ParameterName: 'MetadataExtractionQuery',
                  ParameterValue: '{account: .accountId, dt: .dt}',
                },
              ]),
            },
          ],
        },
      },
    });
    expect(EVENT_PREFIX).toContain('account=');
    expect(PARTITION_QUERY).toBe('{account: .accountId, dt: .dt}');
    const hints = (stream.ExtendedS3DestinationConfiguration as { BufferingHints: { SizeInMBs: number } })
      .BufferingHints;
    expect(hints.SizeInMBs).toBeGreaterThanOrEqual(64);
  });

  test('its role may be assumed only by this stream and write only this bucket, via S3, and its log stream', () => {
    const role = logicalIdOf(europe, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('^Delivers ') });
    europe.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('^Delivers '),
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'firehose.amazonaws.com' },
            Condition: {
              StringEquals: {
                'aws:SourceAccount': { Ref: 'AWS::AccountId' },
                'aws:SourceArn': Match.anyValue(),
              },
            },
          }),
        ],
      },
    });
    const policy = europe.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { Roles: [{ Ref: role }] },
    });
    const statements = (
      Object.values(policy)[0] as { Properties: { PolicyDocument: { Statement: StatementJson[] } } }
    ).Properties.PolicyDocument.Statement;
    expect(statements.map((s) => s.Sid)).toEqual([
      'DeliverIntoEventBucket',
      'EncryptObjectsThroughS3',
      'LogDeliveryErrors',
    ]);
    expect(statements[1]!.Condition?.StringEquals).toEqual({
      'kms:ViaService': `s3.${EU}.amazonaws.com`,
    });
  });
});

describe('ingest function', () => {
  const fn = () => only<Json>(europe, 'AWS::Lambda::Function');

  test('ARM64, the newest Node runtime, X-Ray, JSON logs, stage-sized concurrency and memory', () => {
    expect(fn().props).toMatchObject({
      Architectures: ['arm64'],
      Runtime: NODE_RUNTIME.name,
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      ReservedConcurrentExecutions: synth.config.ingestReservedConcurrency,
      MemorySize: synth.config.ingestMemoryMb,
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO' },
    });
  });

  test('its log group is encrypted with the key and kept for the stage retention', () => {
    const logGroup = logicalIdOf(europe, 'AWS::Logs::LogGroup', {
      LogGroupName: '/trackstack-dev/europe/ingest',
    });
    europe.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/trackstack-dev/europe/ingest',
      RetentionInDays: synth.config.logRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] },
    });
    expect((fn().props.LoggingConfig as Json).LogGroup).toEqual({ Ref: logGroup });
  });

  test('its environment selects the cloud sink, key provider and directory, and the handler accepts it', () => {
    const variables = (fn().props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      TS_STAGE: 'dev',
      TS_LOCATION: 'europe',
      TS_SINK: 'firehose',
      TS_FIREHOSE_STREAM: names.eventStream('dev', 'europe'),
      TS_KEY_PROVIDER: 'kms',
      TS_KMS_KEY_ID: { 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] },
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: names.directoryTable('dev'),
      TS_SPOOL_DIR: '/tmp/spool',
      TS_TRUST_PROXY: 'true',
      TS_METRICS_EMF: 'true',
      TS_ORIGIN_SECRET_ID: ref(europe, 'AWS::SecretsManager::Secret'),
    });
    expect(variables).not.toHaveProperty('TS_ORIGIN_SECRET');
    const resolved = Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved-${k}`]),
    );
    expect(() => parseIngestEnv(resolved)).not.toThrow();
  });

  test('the origin is a Function URL without IAM auth, guarded by a KMS-encrypted origin secret', () => {
    europe.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', InvokeMode: 'BUFFERED' });
    europe.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'trackstack-dev/europe/origin-verify',
      KmsKeyId: { 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] },
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    europe.hasOutput('IngestOriginUrl', Match.anyValue());
    europe.hasOutput('OriginSecretArn', { Value: ref(europe, 'AWS::SecretsManager::Secret') });
  });

  test('its role holds only scoped permissions, in a customer-managed policy', () => {
    const role = logicalIdOf(europe, 'AWS::IAM::Role', {
      Description: 'Execution role of the ingest function',
    });
    expect(fn().props.Role).toEqual({ 'Fn::GetAtt': [role, 'Arn'] });
    const policy = europe.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { Roles: [{ Ref: role }] },
    });
    const statements = (
      Object.values(policy)[0] as { Properties: { PolicyDocument: { Statement: StatementJson[] } } }
    ).Properties.PolicyDocument.Statement;
    const key = { 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] };
    const table = {
      'Fn::Join': [
        '',
        [`arn:aws:dynamodb:${EU}:`, { Ref: 'AWS::AccountId' }, `:table/${names.directoryTable('dev')}`],
      ],
    };
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.PutEvents).toMatchObject({
      Action: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'],
      Resource: { 'Fn::GetAtt': [only(europe, 'AWS::KinesisFirehose::DeliveryStream').id, 'Arn'] },
    });
    expect(bySid.WrapAccountDataKeys).toMatchObject({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: key,
      Condition: {
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['accountId'] },
        Null: { 'kms:EncryptionContextKeys': 'false' },
      },
    });
    expect(bySid.ReadDirectory).toMatchObject({
      Action: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'],
      Resource: table,
    });
    expect(bySid.StoreAccountDataKeys).toMatchObject({
      Action: 'dynamodb:PutItem',
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${DIRECTORY.accountPk('')}*`] } },
    });
    expect(bySid.ReadOriginSecret).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: ref(europe, 'AWS::SecretsManager::Secret'),
    });
    const wildcard = statements.filter((s) => s.Resource === '*');
    expect(wildcard.map((s) => s.Sid)).toEqual(['WriteTraces']);
  });
});

describe('IAM', () => {
  test('every role has the stack’s permissions boundary', () => {
    for (const template of Object.values(synth.templates)) {
      const boundary = logicalIdOf(template, 'AWS::IAM::ManagedPolicy', {
        Description: Match.stringLikeRegexp('^Permissions boundary'),
      });
      const roles = Object.values(template.findResources('AWS::IAM::Role')) as Json[];
      expect(roles.length).toBeGreaterThanOrEqual(2);
      for (const role of roles) {
        expect((role.Properties as Json).PermissionsBoundary).toEqual({ Ref: boundary });
      }
    }
  });

  test('no inline policies and no wildcard action anywhere', () => {
    for (const template of Object.values(synth.templates)) {
      expect(template.findResources('AWS::IAM::Policy')).toEqual({});
      for (const role of Object.values(template.findResources('AWS::IAM::Role')) as Json[]) {
        expect((role.Properties as Json).Policies).toBeUndefined();
      }
      for (const policy of Object.values(template.findResources('AWS::IAM::ManagedPolicy')) as Json[]) {
        const statements = (policy.Properties as { PolicyDocument: { Statement: StatementJson[] } })
          .PolicyDocument.Statement;
        for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
          expect(actions(statement).filter((a) => a.includes('*'))).toEqual([]);
        }
      }
    }
  });

  test('the boundary allows only the platform’s actions and denies escalation and key destruction', () => {
    const boundary = logicalIdOf(europe, 'AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('^Permissions boundary'),
    });
    const statements = (
      europe.toJSON().Resources[boundary].Properties as { PolicyDocument: { Statement: StatementJson[] } }
    ).PolicyDocument.Statement;
    const services = new Set(
      statements.filter((s) => s.Effect === 'Allow').flatMap((s) => actions(s).map((a) => a.split(':')[0])),
    );
    expect([...services].sort()).toEqual([
      'dynamodb',
      'firehose',
      'kms',
      'logs',
      's3',
      'secretsmanager',
      'xray',
    ]);
    const denied = statements.filter((s) => s.Effect === 'Deny').flatMap(actions);
    expect(denied).toEqual(
      expect.arrayContaining(['iam:*', 'organizations:*', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy']),
    );
  });
});

describe('directory', () => {
  test('the global table lives in the primary location only', () => {
    expect(europe.findResources('AWS::DynamoDB::GlobalTable')).toEqual({});
    expect(synth.templates.apac!.findResources('AWS::DynamoDB::GlobalTable')).toEqual({});
    expect(americas.findResources('AWS::DynamoDB::Table')).toEqual({});
  });

  test('on demand, PITR and deletion protection on every replica, each with its own region’s key', () => {
    const table = only<Json>(americas, 'AWS::DynamoDB::GlobalTable');
    const aliasArn = (location: 'europe' | 'apac') => ({
      'Fn::Join': [
        '',
        [
          `arn:aws:kms:${REGIONS[location].aws}:`,
          { Ref: 'AWS::AccountId' },
          `:alias/${names.keyAlias('dev', location)}`,
        ],
      ],
    });
    expect(table.props).toMatchObject({
      TableName: names.directoryTable('dev'),
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: DIRECTORY.partitionKey, KeyType: 'HASH' },
        { AttributeName: DIRECTORY.sortKey, KeyType: 'RANGE' },
      ],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    expect(table.resource).toMatchObject({ DeletionPolicy: 'Retain' });
    const replicas = table.props.Replicas as Json[];
    const byRegion = Object.fromEntries(replicas.map((r) => [r.Region, r]));
    expect(Object.keys(byRegion).sort()).toEqual(
      Object.values(REGIONS)
        .map((r) => r.aws)
        .sort(),
    );
    for (const replica of replicas) {
      expect(replica).toMatchObject({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    }
    expect(byRegion[REGIONS.americas.aws]!.SSESpecification).toEqual({
      KMSMasterKeyId: { 'Fn::GetAtt': [only(americas, 'AWS::KMS::Key').id, 'Arn'] },
    });
    expect(byRegion[EU]!.SSESpecification).toEqual({ KMSMasterKeyId: aliasArn('europe') });
    expect(byRegion[REGIONS.apac.aws]!.SSESpecification).toEqual({ KMSMasterKeyId: aliasArn('apac') });
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

  test('errors, throttles, delivery failures, freshness and spool backlog all notify the topic', () => {
    const topic = ref(europe, 'AWS::SNS::Topic');
    const alarms = Object.values(europe.findResources('AWS::CloudWatch::Alarm')) as { Properties: Json }[];
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual([
      'DeliveryToS3.DataFreshness',
      'DeliveryToS3.Success',
      'Errors',
      'SpoolDepth',
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
