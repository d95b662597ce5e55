import { Match, type Template } from 'aws-cdk-lib/assertions';
import { RETENTION } from '../../../../platform';
import { TRAIL_WATCHES } from '../../../../infra/aws/lib/constructs/security/trail-alarms';
import { synthesizeSecurity } from './security-support';
import { only, type StatementJson, temporaryOutdir } from './support';

const outdir = temporaryOutdir('security-trail');
let t: Template;
beforeAll(() => {
  t = synthesizeSecurity({}, outdir).security;
});

type Json = Record<string, unknown>;
const resources = () => t.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
const idOf = (type: string, match: (p: Json) => boolean) =>
  Object.entries(resources()).find(([, r]) => r.Type === type && match(r.Properties))?.[0];

test('one multi-region trail with log file validation, global services, the trail key, the bucket and CloudWatch Logs', () => {
  const trail = only(t, 'AWS::CloudTrail::Trail').props as Json;
  expect(trail).toMatchObject({
    TrailName: 'trackstack-dev-audit',
    IsLogging: true,
    IsMultiRegionTrail: true,
    IncludeGlobalServiceEvents: true,
    EnableLogFileValidation: true,
  });
  const trailKey = idOf('AWS::KMS::Key', (p) => String(p.Description).includes('audit trail'));
  expect(trail.KMSKeyId).toEqual({ 'Fn::GetAtt': [trailKey, 'Arn'] });
  const bucket = idOf('AWS::S3::Bucket', (p) => p.ObjectLockEnabled === true);
  expect(trail.S3BucketName).toEqual({ Ref: bucket });
  const group = idOf('AWS::Logs::LogGroup', (p) => p.LogGroupName === '/trackstack-dev/security/cloudtrail');
  expect(trail.CloudWatchLogsLogGroupArn).toEqual({ 'Fn::GetAtt': [group, 'Arn'] });
  // Management events, and the edge store's writes as data events (read calls are not worth the cost).
  expect(trail.AdvancedEventSelectors).toEqual([
    { Name: 'Every management event', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
    {
      Name: 'Edge store writes',
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::CloudFront::KeyValueStore'] },
        { Field: 'readOnly', Equals: ['false'] },
      ],
    },
  ]);
});

test('the trail bucket: named, SSE-KMS with the trail key, Object Lock COMPLIANCE for the retention, versioned, private, logged, retained', () => {
  const id = idOf('AWS::S3::Bucket', (p) => p.ObjectLockEnabled === true)!;
  const bucket = resources()[id]!;
  const trailKey = idOf('AWS::KMS::Key', (p) => String(p.Description).includes('audit trail'));
  expect(bucket.Properties).toMatchObject({
    BucketName: { 'Fn::Join': ['', ['trackstack-dev-audit-trail-', { Ref: 'AWS::AccountId' }]] },
    ObjectLockConfiguration: {
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: RETENTION.auditTrailRetentionDays } },
    },
    VersioningConfiguration: { Status: 'Enabled' },
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    LoggingConfiguration: {
      DestinationBucketName: { Ref: expect.stringMatching(/^AuditTrailAccessLogBucket/) as unknown },
      LogFilePrefix: 'audit-trail/',
    },
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [
        {
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [trailKey, 'Arn'] },
          },
        },
      ],
    },
  });
  expect((bucket as unknown as Json).DeletionPolicy).toBe('Retain');
  const policy = Object.values(resources()).find(
    (r) =>
      r.Type === 'AWS::S3::BucketPolicy' &&
      JSON.stringify(r.Properties.Bucket) === JSON.stringify({ Ref: id }),
  )!;
  const statements = (policy.Properties.PolicyDocument as { Statement: StatementJson[] }).Statement;
  // TLS only, and CloudTrail may write only for this trail; nobody is allowed to delete.
  expect(
    statements.some(
      (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'),
    ),
  ).toBe(true);
  const write = statements.find((s) => s.Sid === 'CloudTrailWritesLogFiles')!;
  expect(write.Condition?.StringEquals?.['aws:SourceArn']).toBeDefined();
  expect(statements.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat())).not.toContainEqual(
    expect.stringMatching(/Delete/),
  );
});

test('the trail key lets CloudTrail encrypt for this trail only, and no account principal use it', () => {
  const id = idOf('AWS::KMS::Key', (p) => String(p.Description).includes('audit trail'))!;
  const statements = (resources()[id]!.Properties.KeyPolicy as { Statement: StatementJson[] }).Statement;
  const encrypt = statements.find((s) => s.Sid === 'CloudTrailEncryptsThisTrail')!;
  expect(encrypt.Principal).toEqual({ Service: 'cloudtrail.amazonaws.com' });
  expect(encrypt.Action).toBe('kms:GenerateDataKey*');
  expect(encrypt.Condition?.StringEquals?.['aws:SourceArn']).toEqual({
    'Fn::Join': [
      '',
      ['arn:aws:cloudtrail:us-east-1:', { Ref: 'AWS::AccountId' }, ':trail/trackstack-dev-audit'],
    ],
  });
  expect(encrypt.Condition?.StringLike?.['kms:EncryptionContext:aws:cloudtrail:arn']).toBeDefined();
  const accountUse = statements.filter(
    (s) =>
      JSON.stringify(s.Principal).includes(':root') &&
      [s.Action].flat().some((a) => /Decrypt|GenerateDataKey|Encrypt/.test(String(a))),
  );
  expect(accountUse).toEqual([]);
  expect(resources()[id]!.Properties.EnableKeyRotation).toBe(true);
});

test('the trail log group is KMS-encrypted and kept for the audit retention', () => {
  t.hasResourceProperties('AWS::Logs::LogGroup', {
    LogGroupName: '/trackstack-dev/security/cloudtrail',
    KmsKeyId: Match.anyValue(),
    RetentionInDays: RETENTION.auditTrailRetentionDays,
  });
});

const PATTERN_MUST_NAME: Record<string, string[]> = {
  RootAccountUse: ['$.userIdentity.type = "Root"', 'invokedBy NOT EXISTS'],
  UnauthorizedApiCalls: ['*UnauthorizedOperation', 'AccessDenied*'],
  IamPolicyChanges: [
    'PutRolePolicy',
    'AttachRolePolicy',
    'CreatePolicyVersion',
    'PutRolePermissionsBoundary',
  ],
  KmsKeyDisabledOrScheduledForDeletion: ['kms.amazonaws.com', 'DisableKey', 'ScheduleKeyDeletion'],
  KmsKeyPolicyChanges: ['kms.amazonaws.com', 'PutKeyPolicy'],
  CloudTrailChanges: ['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors'],
  S3BucketPolicyChanges: ['s3.amazonaws.com', 'PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketAcl'],
  WafChanges: ['wafv2.amazonaws.com', 'UpdateWebACL', 'DeleteWebACL'],
  EdgeStoreChanges: [
    'edgekeyvaluestore.amazonaws.com',
    'PutKey',
    'DeleteKey',
    'UpdateKeys',
    'UpdateKeyValueStore',
  ],
};

test.each(Object.entries(PATTERN_MUST_NAME))(
  '%s: a metric filter on the trail log group, and an alarm on its first event that notifies the incident topic',
  (metricName, fragments) => {
    const filterId = idOf('AWS::Logs::MetricFilter', (p) =>
      JSON.stringify(p.MetricTransformations).includes(`"MetricName":"${metricName}"`),
    )!;
    const filter = resources()[filterId]!.Properties;
    const group = idOf(
      'AWS::Logs::LogGroup',
      (p) => p.LogGroupName === '/trackstack-dev/security/cloudtrail',
    );
    expect(filter.LogGroupName).toEqual({ Ref: group });
    for (const fragment of fragments) expect(filter.FilterPattern).toContain(fragment);
    const alarm = Object.values(resources()).find(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === metricName,
    )!;
    const topic = idOf('AWS::SNS::Topic', (p) => p.TopicName === 'trackstack-dev-incidents');
    expect(alarm.Properties).toMatchObject({
      Namespace: 'trackstack/dev/security',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: topic }],
    });
  },
);

test('every watch is wired, and no filter pattern passes the CloudWatch Logs limit of 1,024 characters', () => {
  expect(TRAIL_WATCHES.map((w) => w.metricName).sort()).toEqual(Object.keys(PATTERN_MUST_NAME).sort());
  for (const watch of TRAIL_WATCHES) expect(watch.pattern.length).toBeLessThanOrEqual(1024);
});
