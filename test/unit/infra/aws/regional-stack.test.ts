import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  DIRECTORY,
  EVENT_OBJECTS,
  LOCATIONS,
  names,
  RECEIPTS,
  REGIONS,
  RETENTION,
} from '../../../../platform';
import { NODE_RUNTIME } from '../../../../infra/aws/lib/constructs/trackstack-function';
import { DirectoryTable } from '../../../../infra/aws/lib/constructs/directory-table';
import {
  EVENT_PREFIX,
  FIREHOSE_S3_DELIVERY_ACTIONS,
  PARTITION_QUERY,
} from '../../../../infra/aws/lib/constructs/event-stream';
import { parseIngestEnv } from '../../../../platform/contracts/ingest-env';
import { eventBucketVariable, parsePurgeEnv } from '../../../../platform/contracts/purge-env';
import { PURGE_METRICS } from '../../../../platform';
import { PURGE_TIME_BUDGET, PURGE_TIMEOUT } from '../../../../infra/aws/lib/constructs/purge-service';
import { createApp, readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { STAGES_CONTEXT_KEY } from '../../../../infra/aws/lib/stage-context';
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

/** The function of a service (`Trackstack ingest (…)`, `Trackstack purge … (…)`). */
function functionOf(template: Template, service: 'ingest' | 'purge'): { id: string; props: Json } {
  const id = logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp(`^Trackstack ${service} `),
  });
  return { id, props: template.toJSON().Resources[id].Properties as Json };
}

/** The statements of the customer-managed policy attached to a role. */
function rolePolicy(template: Template, roleId: string): StatementJson[] {
  const policy = template.findResources('AWS::IAM::ManagedPolicy', {
    Properties: { Roles: [{ Ref: roleId }] },
  });
  expect(Object.keys(policy)).toHaveLength(1);
  return (Object.values(policy)[0] as { Properties: { PolicyDocument: { Statement: StatementJson[] } } })
    .Properties.PolicyDocument.Statement;
}

/** The statements of the stack's permissions boundary. */
function boundaryOf(template: Template): StatementJson[] {
  const id = logicalIdOf(template, 'AWS::IAM::ManagedPolicy', {
    Description: Match.stringLikeRegexp('^Permissions boundary'),
  });
  return (template.toJSON().Resources[id].Properties as { PolicyDocument: { Statement: StatementJson[] } })
    .PolicyDocument.Statement;
}

function resourcesOf(statement: StatementJson): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** An IAM wildcard pattern (`*`, `?`) as a regular expression. */
function iamPattern(pattern: string): RegExp {
  const parts = pattern
    .split(/([*?])/)
    .map((p) => (p === '*' ? '.*' : p === '?' ? '.' : p.replace(/[.+^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('')}$`);
}

/**
 * The `dynamodb:LeadingKeys` patterns under which a role's statements allow an action, sorted; `*` when a
 * statement allows it without a `ForAllValues:StringLike` condition on the partition key.
 */
function partitionsAllowed(statements: StatementJson[], action: string): string[] {
  const patterns = statements
    .filter((s) => s.Effect === 'Allow' && actions(s).includes(action))
    .flatMap((s) => {
      const keys = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      return keys === undefined ? ['*'] : (keys as string[]);
    });
  return [...new Set(patterns)].sort();
}

const TEST_ACCOUNT = '123456789012';

/**
 * Renders a template value (an ARN built with `Fn::Join`, `Ref` and `Fn::GetAtt`) as the string it becomes
 * once deployed in `region` of account {@link TEST_ACCOUNT}; generated ids become the logical id.
 */
function render(template: Template, value: unknown, region: string): string {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const prop = (id: string, name: string) => render(template, resources[id]!.Properties[name], region);
  const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${TEST_ACCOUNT}:${rest}`;
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: [string, string] };
  const pseudo: Record<string, string> = {
    'AWS::AccountId': TEST_ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (v.Ref !== undefined) {
    if (v.Ref in pseudo) return pseudo[v.Ref]!;
    const type = resources[v.Ref]?.Type;
    if (type === 'AWS::SecretsManager::Secret')
      return arn('secretsmanager', `secret:${prop(v.Ref, 'Name')}-AbCdEf`);
    if (type === 'AWS::Logs::LogStream') return prop(v.Ref, 'LogStreamName');
    if (type === 'AWS::DynamoDB::GlobalTable') return prop(v.Ref, 'TableName');
  }
  if (v['Fn::Join']) return v['Fn::Join'][1].map((p) => render(template, p, region)).join(v['Fn::Join'][0]);
  if (v['Fn::GetAtt']?.[1] === 'Arn') {
    const id = v['Fn::GetAtt'][0];
    switch (resources[id]?.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${prop(id, 'BucketName')}`;
      case 'AWS::KMS::Key':
        return arn('kms', `key/${id}`);
      case 'AWS::KinesisFirehose::DeliveryStream':
        return arn('firehose', `deliverystream/${prop(id, 'DeliveryStreamName')}`);
      case 'AWS::Logs::LogGroup':
        return arn('logs', `log-group:${prop(id, 'LogGroupName')}:*`);
      case 'AWS::SQS::Queue':
        return arn('sqs', prop(id, 'QueueName'));
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
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
          // Firehose's error output is not partitioned by account: it expires by the purge's own deadline.
          expect.objectContaining({
            Status: 'Enabled',
            Prefix: 'errors/',
            ExpirationInDays: RETENTION.purgeEligibleAfterDays,
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

  /**
   * Which statements of the event bucket's policy deny a PutObject over TLS 1.3 with these request values
   * (headers as condition keys; the regional key's ARN as the template writes it).
   */
  function deniedUploads(request: Record<string, unknown>): string[] {
    const [policy] = Object.values(
      europe.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: eventBucketId() } } }),
    ) as { Properties: { PolicyDocument: { Statement: StatementJson[] } } }[];
    const context: Record<string, unknown> = {
      'aws:SecureTransport': 'true',
      's3:TlsVersion': 1.3,
      ...request,
    };
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const holds = (operator: string, key: string, value: unknown): boolean => {
      const actual = context[key];
      switch (operator) {
        case 'Bool':
        case 'StringEquals':
          return actual !== undefined && same(actual, value);
        // A negated operator, and any ...IfExists one, holds when the key is missing.
        case 'StringNotEquals':
        case 'StringNotEqualsIfExists':
          return actual === undefined || !same(actual, value);
        case 'Null':
          return (actual === undefined) === (value === 'true');
        case 'NumericLessThan':
          return Number(actual) < Number(value);
      }
      throw new Error(`no evaluation of ${operator} in this test`);
    };
    return policy!.Properties.PolicyDocument.Statement.filter(
      (s) =>
        s.Effect === 'Deny' &&
        actions(s).some((a) => iamPattern(a).test('s3:PutObject')) &&
        Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
          Object.entries(keys).every(([k, v]) => holds(operator, k, v)),
        ),
    ).map((s) => s.Sid ?? JSON.stringify(s.Condition));
  }
  const SSE = 's3:x-amz-server-side-encryption';
  const SSE_KEY = 's3:x-amz-server-side-encryption-aws-kms-key-id';
  const SSE_C = 's3:x-amz-server-side-encryption-customer-algorithm';

  test('the event bucket refuses uploads that ask for any encryption but SSE-KMS with the regional key', () => {
    const otherKey = `arn:aws:kms:${EU}:${TEST_ACCOUNT}:key/00000000-0000-0000-0000-000000000000`;
    expect(deniedUploads({ [SSE]: 'AES256' })).not.toEqual([]);
    expect(deniedUploads({ [SSE]: 'aws:kms:dsse', [SSE_KEY]: key() })).not.toEqual([]);
    expect(deniedUploads({ [SSE]: 'aws:kms', [SSE_KEY]: otherKey })).not.toEqual([]);
    expect(deniedUploads({ [SSE_KEY]: otherKey })).not.toEqual([]);
    // aws:kms without a key id means the AWS managed key (aws/s3), not the regional key.
    expect(deniedUploads({ [SSE]: 'aws:kms' })).not.toEqual([]);
    expect(deniedUploads({ [SSE_C]: 'AES256' })).not.toEqual([]);
    expect(deniedUploads({ [SSE]: 'aws:kms', [SSE_KEY]: key(), [SSE_C]: 'AES256' })).not.toEqual([]);
  });

  test('what the event stream asks for passes, and so does an upload that leaves encryption to the bucket', () => {
    const stream = only<{
      ExtendedS3DestinationConfiguration: {
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: unknown } };
      };
    }>(europe, 'AWS::KinesisFirehose::DeliveryStream').props;
    const streamKey =
      stream.ExtendedS3DestinationConfiguration.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN;
    expect(streamKey).toEqual(key());
    expect(deniedUploads({ [SSE]: 'aws:kms', [SSE_KEY]: streamKey })).toEqual([]);
    // Multipart parts and uploads without headers are encrypted by the bucket default: the same key.
    expect(deniedUploads({})).toEqual([]);
  });

  test('the encryption denials name the event objects and everyone', () => {
    const [policy] = Object.values(
      europe.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: eventBucketId() } } }),
    ) as { Properties: { PolicyDocument: { Statement: StatementJson[] } } }[];
    const denials = policy!.Properties.PolicyDocument.Statement.filter(
      (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('server-side-encryption'),
    );
    expect(denials.length).toBeGreaterThanOrEqual(3);
    for (const s of denials) {
      expect(s).toMatchObject({
        Action: 's3:PutObject',
        Principal: { AWS: '*' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [eventBucketId(), 'Arn'] }, '/*']] },
      });
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
  const fn = () => functionOf(europe, 'ingest');

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
      TS_TRUST_PROXY: 'cloudfront',
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
    expect(bySid.StoreDataKeysAndConversionClaims).toMatchObject({
      Action: 'dynamodb:PutItem',
      Resource: table,
      Condition: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [`${DIRECTORY.dataKeyPk('')}*`, `${DIRECTORY.dedupPk('')}*`],
        },
      },
    });
    expect(bySid.ReleaseConversionClaims).toMatchObject({
      Action: 'dynamodb:DeleteItem',
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${DIRECTORY.dedupPk('')}*`] } },
    });
    expect(bySid.ReadOriginSecret).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: ref(europe, 'AWS::SecretsManager::Secret'),
    });
    const wildcard = statements.filter((s) => s.Resource === '*');
    expect(wildcard.map((s) => s.Sid)).toEqual(['WriteTraces']);
  });

  test('it writes only data keys and conversion claims: never an account, campaign or API key', () => {
    const role = logicalIdOf(europe, 'AWS::IAM::Role', {
      Description: 'Execution role of the ingest function',
    });
    const statements = rolePolicy(europe, role);
    expect(statements.flatMap((s) => actions(s).filter((a) => a.startsWith('dynamodb:'))).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    const puts = partitionsAllowed(statements, 'dynamodb:PutItem');
    const deletes = partitionsAllowed(statements, 'dynamodb:DeleteItem');
    expect(puts).toEqual([`${DIRECTORY.dataKeyPk('')}*`, `${DIRECTORY.dedupPk('')}*`]);
    // It only releases a conversion claim whose event could not be stored.
    expect(deletes).toEqual([`${DIRECTORY.dedupPk('')}*`]);
    const account = 'acc_example01';
    for (const pattern of [...puts, ...deletes]) {
      for (const pk of [DIRECTORY.accountPk(account), DIRECTORY.apiKeyPk('abcdefghijklmnop')])
        expect(iamPattern(pattern).test(pk)).toBe(false);
    }
    expect(puts.some((p) => iamPattern(p).test(DIRECTORY.dataKeyPk(account)))).toBe(true);
    expect(puts.some((p) => iamPattern(p).test(DIRECTORY.dedupPk(account)))).toBe(true);
    expect(deletes.some((p) => iamPattern(p).test(DIRECTORY.dataKeyPk(account)))).toBe(false);
    // Reads stay on the whole table: accounts, campaigns and API keys are looked up on the hot path.
    for (const read of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'])
      expect(partitionsAllowed(statements, read)).toEqual(['*']);
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
      'sqs',
      'xray',
    ]);
    const denied = statements.filter((s) => s.Effect === 'Deny').flatMap(actions);
    expect(denied).toEqual(
      expect.arrayContaining(['iam:*', 'organizations:*', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy']),
    );
  });

  test('the boundary names the project’s buckets, never every bucket', () => {
    for (const location of LOCATIONS) {
      const template = synth.templates[location]!;
      const region = REGIONS[location].aws;
      const statements = boundaryOf(template);
      for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
        for (const resource of resourcesOf(statement)) {
          const arn = render(template, resource, region);
          expect(arn).not.toMatch(/^arn:aws:s3:::\*/);
          if (arn.startsWith('arn:aws:s3:')) expect(arn).toMatch(/^arn:aws:s3:::trackstack-dev-[a-z]/);
        }
      }
      // Objects are written into this location's event bucket (Firehose) and the receipts bucket (purge).
      const eventBucket = `arn:aws:s3:::${names.eventBucket('dev', location, TEST_ACCOUNT)}`;
      const receipts = `arn:aws:s3:::${names.purgeReceiptsBucket('dev', TEST_ACCOUNT)}/${RECEIPTS.prefix}*`;
      const putTargets = statements
        .filter((s) => s.Effect === 'Allow' && actions(s).includes('s3:PutObject'))
        .flatMap((s) => resourcesOf(s).map((r) => render(template, r, region)));
      expect(putTargets.sort()).toEqual([eventBucket, `${eventBucket}/*`, receipts].sort());
      const onBucket = statements.find((s) =>
        resourcesOf(s).some(
          (r) => render(template, r, region) === eventBucket && actions(s).includes('s3:ListBucket'),
        ),
      );
      expect(actions(onBucket!)).toEqual([...FIREHOSE_S3_DELIVERY_ACTIONS]);
      expect(statements.find((s) => s.Sid === 'UseDirectory')).toMatchObject({
        Action: expect.arrayContaining(['dynamodb:DeleteItem']),
      });
    }
  });

  test('every permission that a role of the stack is granted lies within the boundary', () => {
    for (const location of LOCATIONS) {
      const template = synth.templates[location]!;
      const region = REGIONS[location].aws;
      const boundary = boundaryOf(template);
      const ceiling = boundary
        .filter((s) => s.Effect === 'Allow')
        .map((s) => ({
          actions: actions(s),
          resources: resourcesOf(s).map((r) => iamPattern(render(template, r, region))),
        }));
      const denied = boundary.filter((s) => s.Effect === 'Deny').flatMap((s) => actions(s).map(iamPattern));
      const policies = Object.entries(template.findResources('AWS::IAM::ManagedPolicy')).filter(
        ([, p]) => (p as { Properties: Json }).Properties.Roles !== undefined,
      );
      expect(policies.length).toBeGreaterThanOrEqual(3);
      const outside: string[] = [];
      for (const [id, policy] of policies) {
        const statements = (policy as { Properties: { PolicyDocument: { Statement: StatementJson[] } } })
          .Properties.PolicyDocument.Statement;
        for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
          for (const action of actions(statement)) {
            for (const resource of resourcesOf(statement).map((r) => render(template, r, region))) {
              const allowed = ceiling.some(
                (c) => c.actions.includes(action) && c.resources.some((r) => r.test(resource)),
              );
              if (!allowed || denied.some((d) => d.test(action)))
                outside.push(`${location} ${id} ${statement.Sid}: ${action} on ${resource}`);
            }
          }
        }
      }
      expect(outside).toEqual([]);
    }
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

  test('the stage’s point-in-time recovery period on the table and every replica, and a time-to-live', () => {
    expect(synth.config.directoryRecoveryDays).toBe(RETENTION.directoryRecoveryDays);
    const table = only<Json>(americas, 'AWS::DynamoDB::GlobalTable').props;
    const replicas = table.Replicas as Json[];
    expect(replicas).toHaveLength(LOCATIONS.length);
    for (const replica of replicas) {
      expect(replica.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
        RecoveryPeriodInDays: RETENTION.directoryRecoveryDays,
      });
    }
    // Conversion claims carry their expiry; DynamoDB deletes them once it has passed.
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: DIRECTORY.ttlAttribute, Enabled: true });
  });

  test('the table construct refuses a recovery period that would outlast the 90-day promise', () => {
    const stack = new Stack(new App(), 'S', { env: { account: TEST_ACCOUNT, region: REGIONS.americas.aws } });
    const encryptionKey = new kms.Key(stack, 'Key');
    const table = (id: string, recoveryPeriodInDays: number) =>
      new DirectoryTable(stack, id, { tableName: 't', encryptionKey, recoveryPeriodInDays });
    expect(() => table('Long', RETENTION.maxDirectoryRecoveryDays + 1)).toThrow(
      /S\/Long\] recoveryPeriodInDays: must be a whole number of days from 1 to 10/,
    );
    expect(() => table('None', 0)).toThrow(/recoveryPeriodInDays/);
    expect(() => table('Max', RETENTION.maxDirectoryRecoveryDays)).not.toThrow();
  });

  test('a stage that sets directoryRecoveryDays gets that period on every replica', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-pitr-'));
    try {
      const app = createApp({
        context: {
          ...readCdkJsonContext(),
          stage: 'dev',
          [STAGES_CONTEXT_KEY]: { dev: { directoryRecoveryDays: 3 } },
        },
        outdir,
        builtinCloudFormationValidation: false,
      });
      const home = app.regionalStacks.find((s) => s.directory !== undefined)!;
      const table = only<Json>(Template.fromStack(home), 'AWS::DynamoDB::GlobalTable').props;
      const periods = (table.Replicas as Json[]).map(
        (r) => (r.PointInTimeRecoverySpecification as Json).RecoveryPeriodInDays,
      );
      expect(periods).toEqual([3, 3, 3]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
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

  test('errors, throttles, delivery failures, freshness and spool backlog all notify the topic', () => {
    const topic = ref(europe, 'AWS::SNS::Topic');
    const alarms = Object.values(europe.findResources('AWS::CloudWatch::Alarm')) as { Properties: Json }[];
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual([
      'ApproximateNumberOfMessagesVisible',
      'DeliveryToS3.DataFreshness',
      'DeliveryToS3.Success',
      'Errors',
      'Errors',
      'FailedInvocations',
      PURGE_METRICS.overdueAccounts,
      PURGE_METRICS.overdueAccounts,
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

describe('purge', () => {
  const ACCOUNT = { Ref: 'AWS::AccountId' };
  /** A name built by `names.*` with the account token, as CloudFormation renders it. */
  const withAccount = (name: string, suffix = '') => ({
    'Fn::Join': ['', [name, ACCOUNT, ...(suffix ? [suffix] : [])]],
  });
  const eventBucketName = (l: (typeof LOCATIONS)[number]) => withAccount(`trackstack-dev-${l}-events-`);
  const eventBucketArn = (l: (typeof LOCATIONS)[number], suffix = '') =>
    withAccount(`arn:aws:s3:::trackstack-dev-${l}-events-`, suffix);
  const receiptObjects = withAccount('arn:aws:s3:::trackstack-dev-purge-receipts-', `/${RECEIPTS.prefix}*`);
  const roleId = (template: Template) =>
    logicalIdOf(template, 'AWS::IAM::Role', { Description: 'Execution role of the purge function' });
  const statementsOf = (template: Template) => rolePolicy(template, roleId(template));
  const queueId = (template: Template) => only(template, 'AWS::SQS::Queue').id;
  /** Every partition kind that holds an account's items: the purge deletes all of them. */
  const OWNED_PARTITIONS = [
    `${DIRECTORY.accountPk('')}*`,
    `${DIRECTORY.apiKeyPk('')}*`,
    `${DIRECTORY.dataKeyPk('')}*`,
    `${DIRECTORY.dedupPk('')}*`,
  ];

  test('prefixes agree with the event stream and the job: account=<id>/ and receipts/', () => {
    expect(EVENT_PREFIX.startsWith(EVENT_OBJECTS.accountKey)).toBe(true);
    expect(EVENT_OBJECTS.accountPrefix('acc_example01').startsWith(EVENT_OBJECTS.accountKey)).toBe(true);
    expect(RECEIPTS.purgeKey('acc_example01', 'prg_1').startsWith(RECEIPTS.prefix)).toBe(true);
  });

  test('every event bucket is named by stage, location and account, so every region can address it', () => {
    for (const location of LOCATIONS) {
      synth.templates[location]!.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: eventBucketName(location),
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'events/' }),
      });
    }
  });

  describe.each(LOCATIONS)('in %s', (location) => {
    const template = () => synth.templates[location]!;

    test('the function: ARM64, one run at a time, 15 minutes, a shorter time budget, async retries into the DLQ', () => {
      const fn = functionOf(template(), 'purge');
      expect(fn.props).toMatchObject({
        Architectures: ['arm64'],
        Runtime: NODE_RUNTIME.name,
        ReservedConcurrentExecutions: 1,
        Timeout: PURGE_TIMEOUT.toSeconds(),
        TracingConfig: { Mode: 'Active' },
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queueId(template()), 'Arn'] } },
        Role: { 'Fn::GetAtt': [roleId(template()), 'Arn'] },
      });
      const variables = (fn.props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Number(variables.TS_TIME_BUDGET_SECONDS)).toBe(PURGE_TIME_BUDGET.toSeconds());
      expect(PURGE_TIME_BUDGET.toSeconds()).toBeLessThan(PURGE_TIMEOUT.toSeconds());
      template().hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fn.id },
        MaximumRetryAttempts: 2,
      });
      template().hasResourceProperties('AWS::IAM::Role', {
        RoleName: `trackstack-dev-${location}-purge`,
        Description: 'Execution role of the purge function',
      });
    });

    test('its environment names every location’s event bucket, the replica, the receipts bucket, and the handler accepts it', () => {
      const variables = (
        functionOf(template(), 'purge').props.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      expect(variables).toMatchObject({
        TS_STAGE: 'dev',
        TS_LOCATION: location,
        TS_LOCATIONS: LOCATIONS.join(','),
        TS_DIRECTORY: 'dynamodb',
        TS_OBJECT_STORE: 's3',
        TS_RECEIPT_STORE: 's3',
        TS_RECEIPTS_BUCKET: withAccount('trackstack-dev-purge-receipts-'),
        TS_RECEIPTS_REGION: REGIONS.americas.aws,
        TS_RECEIPT_RETENTION_DAYS: String(RETENTION.receiptRetentionDays),
      });
      for (const l of LOCATIONS) expect(variables[eventBucketVariable(l)]).toEqual(eventBucketName(l));
      if (location !== 'americas') expect(variables.TS_TABLE_NAME).toBe(names.directoryTable('dev'));
      const resolved = Object.fromEntries(
        Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved-${k}`]),
      );
      expect(() => parsePurgeEnv(resolved)).not.toThrow();
    });

    test('a daily schedule, at an hour of its own, with retries and the dead-letter queue', () => {
      const rule = only<Json>(template(), 'AWS::Events::Rule').props;
      const hour = { americas: 2, europe: 10, apac: 18 }[location];
      expect(rule).toMatchObject({
        Name: `trackstack-dev-${location}-purge-daily`,
        ScheduleExpression: `cron(0 ${hour} * * ? *)`,
        State: 'ENABLED',
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [functionOf(template(), 'purge').id, 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId(template()), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 3 },
          },
        ],
      });
      template().hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [only(template(), 'AWS::Events::Rule').id, 'Arn'] },
      });
    });

    test('the dead-letter queue: the regional key, 14 days, TLS only, only this rule may send as EventBridge', () => {
      expect(only<Json>(template(), 'AWS::SQS::Queue').props).toEqual({
        QueueName: `trackstack-dev-${location}-purge-dlq`,
        KmsMasterKeyId: { 'Fn::GetAtt': [only(template(), 'AWS::KMS::Key').id, 'Arn'] },
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      const statements = only<{ PolicyDocument: { Statement: StatementJson[] } }>(
        template(),
        'AWS::SQS::QueuePolicy',
      ).props.PolicyDocument.Statement;
      expect(statements).toEqual([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Condition: {
            ArnEquals: {
              'aws:SourceArn': { 'Fn::GetAtt': [only(template(), 'AWS::Events::Rule').id, 'Arn'] },
            },
          },
        }),
      ]);
    });

    test('the role deletes object versions only under account= of the stage’s event buckets, and lists only there', () => {
      const statements = statementsOf(template());
      const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
      const deletes = statements.filter((s) => actions(s).some((a) => /^s3:Delete/.test(a)));
      expect(deletes.map((s) => s.Sid)).toEqual(['DeleteAccountObjectVersions']);
      expect(actions(bySid.DeleteAccountObjectVersions!)).toEqual([
        's3:DeleteObject',
        's3:DeleteObjectVersion',
      ]);
      expect(bySid.DeleteAccountObjectVersions!.Resource).toEqual(
        expect.arrayContaining(LOCATIONS.map((l) => eventBucketArn(l, `/${EVENT_OBJECTS.accountKey}*`))),
      );
      expect(bySid.DeleteAccountObjectVersions!.Resource).toHaveLength(LOCATIONS.length);
      expect(bySid.ListAccountObjectVersions).toMatchObject({
        Action: 's3:ListBucketVersions',
        Condition: { StringLike: { 's3:prefix': `${EVENT_OBJECTS.accountKey}*` } },
      });
      expect(bySid.ListAccountObjectVersions!.Resource).toEqual(
        expect.arrayContaining(LOCATIONS.map((l) => eventBucketArn(l))),
      );
      // Receipts: written (with their retention) and read back, never deleted; nothing else of S3.
      expect(bySid.WriteReceipts).toMatchObject({
        Action: ['s3:PutObject', 's3:PutObjectRetention'],
        Resource: receiptObjects,
      });
      expect(bySid.ReadReceipts).toMatchObject({ Action: 's3:GetObject', Resource: receiptObjects });
      const s3Actions = statements.flatMap((s) => actions(s).filter((a) => a.startsWith('s3:'))).sort();
      expect(s3Actions).toEqual([
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:GetBucketObjectLockConfiguration',
        's3:GetObject',
        's3:ListBucketVersions',
        's3:PutObject',
        's3:PutObjectRetention',
      ]);
    });

    test('the role writes only the partitions a purge deletes, of its own region’s replica', () => {
      const statements = statementsOf(template());
      const table = {
        'Fn::Join': [
          '',
          [`arn:aws:dynamodb:${REGIONS[location].aws}:`, ACCOUNT, `:table/${names.directoryTable('dev')}`],
        ],
      };
      const dynamo = statements.filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
      for (const s of dynamo) {
        if (location !== 'americas') expect(s.Resource).toEqual(table);
        const writes = actions(s).filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a));
        if (writes.length === 0) continue;
        const leading = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[];
        expect(leading.length).toBeGreaterThan(0);
        for (const k of leading) expect(OWNED_PARTITIONS).toContain(k);
      }
      expect(dynamo.flatMap(actions).sort()).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
      ]);
    });

    test('it reads and deletes an account’s own, data-key and conversion-claim partitions, and puts only accounts', () => {
      const statements = statementsOf(template());
      const owned = [...OWNED_PARTITIONS].sort();
      for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'])
        expect(partitionsAllowed(statements, action)).toEqual(owned);
      // The account record carries the purge's progress; nothing else is ever put.
      expect(partitionsAllowed(statements, 'dynamodb:PutItem')).toEqual([`${DIRECTORY.accountPk('')}*`]);
      expect(partitionsAllowed(statements, 'dynamodb:Scan')).toEqual(['*']);
    });

    test('no kms:Decrypt on customer data: every KMS use goes through DynamoDB, SQS or S3 receipts', () => {
      const statements = statementsOf(template());
      const kmsStatements = statements.filter((s) => actions(s).some((a) => a.startsWith('kms:')));
      expect(kmsStatements.map((s) => s.Sid).sort()).toEqual([
        'DecryptTableKeyThroughDynamoDb',
        'EncryptDeadLettersThroughSqs',
        'EncryptReceiptsThroughS3',
      ]);
      for (const s of kmsStatements) {
        // Never a direct Decrypt (which would unwrap a data key), never through Firehose or the event buckets.
        const via = s.Condition?.StringEquals?.['kms:ViaService'] as string;
        expect(via).toMatch(/^(dynamodb|sqs|s3)\.[a-z0-9-]+\.amazonaws\.com$/);
        expect(actions(s).every((a) => ['kms:Decrypt', 'kms:GenerateDataKey'].includes(a))).toBe(true);
        if (via.startsWith('s3.')) {
          expect(via).toBe(`s3.${REGIONS.americas.aws}.amazonaws.com`);
          expect(s.Condition?.StringLike?.['kms:EncryptionContext:aws:s3:arn']).toEqual(receiptObjects);
        }
        if (via.startsWith('sqs.')) {
          expect(s.Condition?.StringEquals?.['kms:EncryptionContext:aws:sqs:arn']).toEqual({
            'Fn::GetAtt': [queueId(template()), 'Arn'],
          });
        }
      }
      // The key policy names the role only for SQS (and, in the receipts bucket's region, for S3 receipts).
      const role = { 'Fn::GetAtt': [roleId(template()), 'Arn'] };
      const namingRole = keyPolicy(template()).filter((s) =>
        JSON.stringify(s.Principal).includes(JSON.stringify(role)),
      );
      expect(namingRole.map((s) => s.Sid).sort()).toEqual(
        location === 'americas'
          ? ['PurgeSendsDeadLettersThroughSqs', 'PurgeWritesReceiptsThroughS3']
          : ['PurgeSendsDeadLettersThroughSqs'],
      );
    });

    test('no wildcard resource but traces and, outside the receipts region, that region’s key named by alias', () => {
      const wildcard = statementsOf(template()).filter((s) =>
        JSON.stringify(s.Resource).endsWith(':key/*"]]}'),
      );
      expect(wildcard.map((s) => s.Sid)).toEqual(location === 'americas' ? [] : ['EncryptReceiptsThroughS3']);
      for (const s of wildcard) {
        expect(s.Condition?.['ForAnyValue:StringEquals']).toEqual({
          'kms:ResourceAliases': `alias/${names.keyAlias('dev', 'americas')}`,
        });
      }
      const star = statementsOf(template()).filter((s) => s.Resource === '*');
      expect(star.map((s) => s.Sid)).toEqual(['WriteTraces']);
    });

    test('the boundary allows the purge’s deletes only under account= and never Object Lock changes', () => {
      const boundary = logicalIdOf(template(), 'AWS::IAM::ManagedPolicy', {
        Description: Match.stringLikeRegexp('^Permissions boundary'),
      });
      const statements = (
        template().toJSON().Resources[boundary].Properties as {
          PolicyDocument: { Statement: StatementJson[] };
        }
      ).PolicyDocument.Statement;
      const allowsDelete = statements.filter(
        (s) => s.Effect === 'Allow' && actions(s).some((a) => a.startsWith('s3:Delete')),
      );
      expect(allowsDelete).toHaveLength(1);
      expect(allowsDelete[0]!.Resource).toEqual(
        expect.arrayContaining(LOCATIONS.map((l) => eventBucketArn(l, `/${EVENT_OBJECTS.accountKey}*`))),
      );
      expect(allowsDelete[0]!.Resource).toHaveLength(LOCATIONS.length);
      expect(actions(allowsDelete[0]!)).toEqual(['s3:DeleteObject', 's3:DeleteObjectVersion']);
      const denied = statements.filter((s) => s.Effect === 'Deny').flatMap(actions);
      expect(denied).toEqual(
        expect.arrayContaining(['s3:PutBucketObjectLockConfiguration', 's3:BypassGovernanceRetention']),
      );
    });

    test('alarms: an account past expiredAt + 80 days, a silent job, errors, dead letters, schedule failures', () => {
      const topic = ref(template(), 'AWS::SNS::Topic');
      const alarms = (
        Object.values(template().findResources('AWS::CloudWatch::Alarm')) as { Properties: Json }[]
      )
        .map((a) => a.Properties)
        .filter((p) => String(p.AlarmDescription).match(/purge/i));
      expect(alarms).toHaveLength(5);
      for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([topic]);
      const job = { Namespace: 'trackstack/dev', Dimensions: [{ Name: 'Location', Value: location }] };
      template().hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...job,
        MetricName: PURGE_METRICS.overdueAccounts,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'ignore',
        AlarmDescription: Match.stringLikeRegexp(`${RETENTION.purgeAlarmAfterDays} days after it expired`),
      });
      // A job that stops publishing alarms: no datapoint for more than a day counts as breaching.
      const silent = alarms.find((a) => a.TreatMissingData === 'breaching')!;
      expect(silent).toMatchObject({
        ...job,
        MetricName: PURGE_METRICS.overdueAccounts,
        Statistic: 'SampleCount',
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
      });
      expect(Number(silent.Period) * Number(silent.EvaluationPeriods)).toBeGreaterThan(24 * 3600);
      template().hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionOf(template(), 'purge').id } }],
      });
      template().hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId(template()), 'QueueName'] } }],
        Threshold: 1,
      });
      template().hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Events',
        MetricName: 'FailedInvocations',
      });
    });
  });

  describe('receipts bucket', () => {
    const bucketId = () => logicalIdOf(americas, 'AWS::S3::Bucket', { ObjectLockEnabled: true });

    test('only in the directory home’s stack', () => {
      for (const l of ['europe', 'apac'] as const) {
        expect(
          synth.templates[l]!.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } }),
        ).toEqual({});
      }
    });

    test('Object Lock in COMPLIANCE mode for the receipt retention, versioned, SSE-KMS, private, logged, retained', () => {
      const id = bucketId();
      const resource = americas.toJSON().Resources[id];
      expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      expect(resource.Properties).toMatchObject({
        BucketName: withAccount('trackstack-dev-purge-receipts-'),
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: RETENTION.receiptRetentionDays } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: false,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [only(americas, 'AWS::KMS::Key').id, 'Arn'] },
              },
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: { LogFilePrefix: 'purge-receipts/' },
      });
      americas.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    test('the key lets the purge role of every location encrypt through S3, for receipt objects only', () => {
      const statement = keyPolicy(americas).find((s) => s.Sid === 'PurgeWritesReceiptsThroughS3')!;
      const roleArn = (l: string) => withAccount('arn:aws:iam::', `:role/trackstack-dev-${l}-purge`);
      expect(statement).toEqual({
        Sid: 'PurgeWritesReceiptsThroughS3',
        Effect: 'Allow',
        Principal: {
          AWS: [{ 'Fn::GetAtt': [roleId(americas), 'Arn'] }, roleArn('apac'), roleArn('europe')],
        },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:ViaService': `s3.${REGIONS.americas.aws}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': receiptObjects },
        },
      });
      expect(keyPolicy(europe).find((s) => s.Sid === 'PurgeWritesReceiptsThroughS3')).toBeUndefined();
    });
  });
});
