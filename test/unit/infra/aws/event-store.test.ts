/**
 * The event store (`EventStore`): the event bucket, its access log bucket and their bucket policies, on a
 * bare stack with the regional key and the event stream that delivers into the bucket.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { REGIONS, RETENTION } from '../../../../platform';
import {
  actions,
  bareStorage,
  iamPattern,
  type Json,
  logicalIdOf,
  only,
  type StatementJson,
  TEST_ACCOUNT,
  temporaryOutdir,
} from './support';

const EU = REGIONS.europe.aws;

const outdir = temporaryOutdir('cdk-event-store');
let europe: Template;

beforeAll(() => {
  europe = Template.fromStack(bareStorage('europe', outdir).stack);
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
