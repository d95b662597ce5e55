/**
 * The ingest service (`IngestService`): the function, its origin and secret, its role, and what it adds to
 * the key policy, on a bare stack of a replica location (europe) with the key, the event store and stream,
 * and the directory replica. The stack outputs of the origin contract are tested in regional-stack.test.ts.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DIRECTORY, names, REGIONS } from '../../../../platform';
import { parseIngestEnv } from '../../../../platform/contracts/ingest-env';
import { NODE_RUNTIME } from '../../../../infra/aws/lib/constructs/trackstack-function';
import {
  actions,
  bareIngest,
  functionOf,
  iamPattern,
  type Json,
  keyPolicy,
  logicalIdOf,
  only,
  partitionsAllowed,
  ref,
  rolePolicy,
  stageConfig,
  type StatementJson,
  temporaryOutdir,
} from './support';

const EU = REGIONS.europe.aws;

const outdir = temporaryOutdir('cdk-ingest');
const config = stageConfig();
let europe: Template;

beforeAll(() => {
  europe = Template.fromStack(bareIngest('europe', outdir, config).stack);
});

describe('ingest function', () => {
  const fn = () => functionOf(europe, 'ingest');

  test('ARM64, the newest Node runtime, X-Ray, JSON logs, stage-sized concurrency and memory', () => {
    expect(fn().props).toMatchObject({
      Architectures: ['arm64'],
      Runtime: NODE_RUNTIME.name,
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      ReservedConcurrentExecutions: config.ingestReservedConcurrency,
      MemorySize: config.ingestMemoryMb,
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO' },
    });
  });

  test('its log group is encrypted with the key and kept for the stage retention', () => {
    const logGroup = logicalIdOf(europe, 'AWS::Logs::LogGroup', {
      LogGroupName: '/trackstack-dev/europe/ingest',
    });
    europe.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/trackstack-dev/europe/ingest',
      RetentionInDays: config.logRetentionDays,
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
});
