/**
 * The purge job (`PurgeService`, `PurgeReceipts`, `PurgeAlarms`), in each location, on bare stacks holding
 * the key, the event store, the directory (the table in the directory home, its replica elsewhere), the
 * receipts bucket or its reference, the purge service and its alarms, and the permissions boundary.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import {
  DIRECTORY,
  EVENT_OBJECTS,
  LOCATIONS,
  names,
  PURGE_METRICS,
  RECEIPTS,
  REGIONS,
  RETENTION,
} from '../../../../platform';
import { eventBucketVariable, parsePurgeEnv } from '../../../../platform/contracts/purge-env';
import { EVENT_PREFIX } from '../../../../infra/aws/lib/constructs/event-stream';
import { PURGE_TIME_BUDGET, PURGE_TIMEOUT } from '../../../../infra/aws/lib/constructs/purge-service';
import { NODE_RUNTIME } from '../../../../infra/aws/lib/constructs/trackstack-function';
import {
  actions,
  barePurge,
  functionOf,
  type Json,
  keyPolicy,
  logicalIdOf,
  only,
  partitionsAllowed,
  ref,
  rolePolicy,
  type StatementJson,
  templatesByLocation,
  temporaryOutdir,
} from './support';

const outdir = temporaryOutdir('cdk-purge');
let templates: Record<(typeof LOCATIONS)[number], Template>;
let europe: Template;
let americas: Template;

beforeAll(() => {
  templates = templatesByLocation((location) => barePurge(location, outdir));
  europe = templates.europe;
  americas = templates.americas;
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

  describe.each(LOCATIONS)('in %s', (location) => {
    const template = () => templates[location];

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
