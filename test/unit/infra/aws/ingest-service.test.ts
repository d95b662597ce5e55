/**
 * The ingest service (`IngestService`): the function, its origin locked to CloudFront, its role, and what it
 * adds to the key policy, on a bare stack of a replica location (europe) with the key, the event store and
 * stream, and the directory replica. The stack outputs of the origin contract are tested in
 * regional-stack.test.ts.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DIRECTORY, LIMITS, names, REGIONS } from '../../../../platform';
import { parseIngestEnv } from '../../../../platform/contracts/ingest-env';
import { readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { RegionalStack } from '../../../../infra/aws/lib/regional-stack';
import { readStageConfig, STAGES_CONTEXT_KEY } from '../../../../infra/aws/lib/stage-context';
import { DirectoryTable } from '../../../../infra/aws/lib/constructs/directory-table';
import { IngestService } from '../../../../infra/aws/lib/constructs/ingest-service';
import { NODE_RUNTIME } from '../../../../infra/aws/lib/constructs/trackstack-function';
import {
  actions,
  bareIngest,
  bareStorage,
  functionOf,
  iamPattern,
  type Json,
  keyPolicy,
  logicalIdOf,
  only,
  partitionsAllowed,
  rolePolicy,
  SKIP_BUNDLING,
  stageConfig,
  type StatementJson,
  temporaryOutdir,
} from './support';

const EU = REGIONS.europe.aws;

/** A template's variables as the function sees them: each token (a key ARN, a name) as a plain string. */
const resolved = (variables: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved-${k}`]),
  );

const outdir = temporaryOutdir('cdk-ingest');
const config = stageConfig();
let europe: Template;
let built: ReturnType<typeof bareIngest>;

beforeAll(() => {
  built = bareIngest('europe', outdir, config);
  europe = Template.fromStack(built.stack);
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
      TS_FIREHOSE_STREAMS: names.eventStream('dev', 'europe'),
      TS_KEY_PROVIDER: 'kms',
      TS_KMS_KEY_ID: { 'Fn::GetAtt': [only(europe, 'AWS::KMS::Key').id, 'Arn'] },
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: names.directoryTable('dev'),
      TS_SPOOL_DIR: '/tmp/spool',
      TS_TRUST_PROXY: 'cloudfront',
      TS_METRICS_EMF: 'true',
    });
    // IAM and origin access control lock the origin: no shared secret on AWS, and no home locations unless
    // the stage names some.
    expect(variables).not.toHaveProperty('TS_ORIGIN_SECRET');
    expect(variables).not.toHaveProperty('TS_ORIGIN_SECRET_ID');
    expect(variables).not.toHaveProperty('TS_HOME_LOCATIONS');
    const resolved = Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved-${k}`]),
    );
    expect(() => parseIngestEnv(resolved)).not.toThrow();
  });

  test('the origin is a Function URL with IAM auth, and no origin secret exists', () => {
    europe.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      InvokeMode: 'BUFFERED',
      TargetFunctionArn: { 'Fn::GetAtt': [fn().id, 'Arn'] },
    });
    expect(europe.findResources('AWS::SecretsManager::Secret')).toEqual({});
  });

  test('only CloudFront distributions of this account may call the URL: both permissions, both scoped', () => {
    const permissions = Object.values(europe.findResources('AWS::Lambda::Permission')).map(
      (r) => (r as { Properties: Json }).Properties,
    );
    // The region's partition is known at synth (aws), so CDK writes it as text.
    const distributions = {
      'Fn::Join': ['', ['arn:aws:cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/*']],
    };
    const scoped = {
      FunctionName: { 'Fn::GetAtt': [fn().id, 'Arn'] },
      Principal: 'cloudfront.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: distributions,
    };
    const byAction = (action: string) => permissions.filter((p) => p.Action === action);
    expect(byAction('lambda:InvokeFunctionUrl')).toEqual([
      { ...scoped, Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'AWS_IAM' },
    ]);
    expect(byAction('lambda:InvokeFunction')).toEqual([
      { ...scoped, Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true },
    ]);
    // Nothing else may invoke the ingest function (the purge's schedule permission is in its own test).
    const ingestPermissions = permissions.filter(
      (p) => JSON.stringify(p.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [fn().id, 'Arn'] }),
    );
    expect(ingestPermissions).toHaveLength(2);
  });

  test('the URL’s host name is exposed for the edge stack’s origin', () => {
    const url = only(europe, 'AWS::Lambda::Url').id;
    expect(built.stack.resolve(built.ingest.functionUrlDomain)).toEqual({
      'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [url, 'FunctionUrl'] }] }],
    });
  });

  test('home locations from the stage reach the function as TS_HOME_LOCATIONS, which the handler parses', () => {
    const storage = bareStorage('apac', outdir);
    const homeLocations = { acc_example01: 'europe', acc_example02: 'apac' } as const;
    const ingest = new IngestService(storage.stack, 'Ingest', {
      stage: 'dev',
      location: 'apac',
      encryptionKey: storage.key.key,
      eventStream: storage.eventStream,
      directoryTable: DirectoryTable.fromTableName(storage.stack, 'Directory', names.directoryTable('dev')),
      logGroupName: '/trackstack-dev/apac/ingest',
      logRetentionDays: config.logRetentionDays,
      memorySize: config.ingestMemoryMb,
      reservedConcurrentExecutions: config.ingestReservedConcurrency,
      homeLocations,
    });
    const variables = (
      functionOf(Template.fromStack(storage.stack), 'ingest').props.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(JSON.parse(variables.TS_HOME_LOCATIONS as string)).toEqual(homeLocations);
    expect(ingest.function.environment.TS_HOME_LOCATIONS).toEqual(homeLocations);
  });

  test('the operator’s limits reach the function as TS_* variables, which the handler parses', () => {
    const storage = bareStorage('apac', outdir);
    const limits = {
      ingestIpRatePerSecond: 5,
      ingestKeyRatePerSecond: 70,
      ingestPostbackIpRatePerSecond: 90,
      ingestRateBurstSeconds: 3,
      ingestKeyCacheSeconds: 15,
    };
    new IngestService(storage.stack, 'Ingest', {
      stage: 'dev',
      location: 'apac',
      encryptionKey: storage.key.key,
      eventStream: storage.eventStream,
      directoryTable: DirectoryTable.fromTableName(storage.stack, 'Directory', names.directoryTable('dev')),
      logGroupName: '/trackstack-dev/apac/ingest',
      logRetentionDays: config.logRetentionDays,
      memorySize: config.ingestMemoryMb,
      reservedConcurrentExecutions: config.ingestReservedConcurrency,
      limits,
    });
    const variables = (
      functionOf(Template.fromStack(storage.stack), 'ingest').props.Environment as {
        Variables: Record<string, string>;
      }
    ).Variables;
    expect(variables).toMatchObject({
      TS_IP_RATE_PER_SECOND: '5',
      TS_KEY_RATE_PER_SECOND: '70',
      TS_POSTBACK_IP_RATE_PER_SECOND: '90',
      TS_RATE_BURST_SECONDS: '3',
      TS_KEY_CACHE_SECONDS: '15',
    });
    expect(parseIngestEnv(resolved(variables))).toMatchObject({
      TS_IP_RATE_PER_SECOND: 5,
      TS_KEY_CACHE_SECONDS: 15,
    });
  });

  test('without limits the function sets none, and the handler runs on today’s values', () => {
    const variables = (fn().props.Environment as { Variables: Record<string, string> }).Variables;
    expect(Object.keys(variables).filter((k) => /RATE|BURST|KEY_CACHE/.test(k))).toEqual([]);
    expect(parseIngestEnv(resolved(variables))).toMatchObject({
      TS_IP_RATE_PER_SECOND: LIMITS.ipRatePerSecond,
      TS_KEY_CACHE_SECONDS: LIMITS.keyStatusCacheSeconds,
    });
  });

  test('the stage context’s limits reach the regional stack’s ingest function', () => {
    const base = readCdkJsonContext();
    const stages = base[STAGES_CONTEXT_KEY] as Record<string, Record<string, unknown>>;
    const context: Record<string, unknown> = {
      ...base,
      ...SKIP_BUNDLING,
      stage: 'dev',
      [STAGES_CONTEXT_KEY]: {
        ...stages,
        dev: {
          ...stages.dev,
          ingestIpRatePerSecond: 5,
          ingestKeyRatePerSecond: 20,
          ingestKeyCacheSeconds: 10,
        },
      },
    };
    const staged = readStageConfig({ tryGetContext: (key) => context[key] });
    const app = new App({ outdir, context });
    const stack = new RegionalStack(app, 'Limits-europe', {
      env: { region: EU },
      config: staged,
      location: 'europe',
      directoryHome: 'americas',
    });
    const variables = (
      functionOf(Template.fromStack(stack), 'ingest').props.Environment as {
        Variables: Record<string, string>;
      }
    ).Variables;
    expect(variables).toMatchObject({
      TS_IP_RATE_PER_SECOND: '5',
      TS_KEY_RATE_PER_SECOND: '20',
      // Not set in the context: the configuration's defaults, today's values.
      TS_POSTBACK_IP_RATE_PER_SECOND: String(LIMITS.postbackIpRatePerSecond),
      TS_RATE_BURST_SECONDS: String(LIMITS.rateBurstSeconds),
      TS_KEY_CACHE_SECONDS: '10',
    });
  });

  test('it takes the location’s streams, or its one stream, never both nor none', () => {
    const storage = bareStorage('americas', outdir);
    const common = {
      stage: 'dev' as const,
      location: 'americas' as const,
      encryptionKey: storage.key.key,
      directoryTable: DirectoryTable.fromTableName(storage.stack, 'Directory', names.directoryTable('dev')),
      logGroupName: '/trackstack-dev/americas/ingest',
      logRetentionDays: config.logRetentionDays,
      memorySize: config.ingestMemoryMb,
      reservedConcurrentExecutions: config.ingestReservedConcurrency,
    };
    expect(() => new IngestService(storage.stack, 'NoStream', common)).toThrow(
      '[Bare-americas/NoStream] eventStreams: the function needs at least one stream',
    );
    expect(() => new IngestService(storage.stack, 'Empty', { ...common, eventStreams: [] })).toThrow(
      '[Bare-americas/Empty] eventStreams: the function needs at least one stream',
    );
    expect(
      () =>
        new IngestService(storage.stack, 'Both', {
          ...common,
          eventStream: storage.eventStream,
          eventStreams: [storage.eventStream],
        }),
    ).toThrow('[Bare-americas/Both] give eventStreams or eventStream, not both');
    const ingest = new IngestService(storage.stack, 'Ingest', {
      ...common,
      eventStreams: [storage.eventStream],
    });
    expect(ingest.function.environment.TS_FIREHOSE_STREAMS).toEqual([names.eventStream('dev', 'americas')]);
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
    expect(bySid.DecryptTableKeyThroughDynamoDb).toMatchObject({
      Action: 'kms:Decrypt',
      Resource: key,
      Condition: { StringEquals: { 'kms:ViaService': `dynamodb.${EU}.amazonaws.com` } },
    });
    expect(statements.flatMap(actions).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    const wildcard = statements.filter((s) => s.Resource === '*');
    expect(wildcard.map((s) => s.Sid)).toEqual(['WriteTraces']);
  });

  test("it writes only data keys, conversion claims and its location's branch keys: never an account, campaign or API key", () => {
    const role = logicalIdOf(europe, 'AWS::IAM::Role', {
      Description: 'Execution role of the ingest function',
    });
    const statements = rolePolicy(europe, role);
    expect(statements.flatMap((s) => actions(s).filter((a) => a.startsWith('dynamodb:'))).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      // A statement of its own for the branch key: its partition is this location's alone.
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    const puts = partitionsAllowed(statements, 'dynamodb:PutItem');
    const deletes = partitionsAllowed(statements, 'dynamodb:DeleteItem');
    expect(puts).toEqual(
      [DIRECTORY.branchKeyPk('europe'), `${DIRECTORY.dataKeyPk('')}*`, `${DIRECTORY.dedupPk('')}*`].sort(),
    );
    expect(puts.some((p) => iamPattern(p).test(DIRECTORY.branchKeyPk('americas')))).toBe(false);
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
