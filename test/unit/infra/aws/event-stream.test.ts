/**
 * The event stream (`EventStream`): Firehose into the event bucket and the role it delivers with, on a bare
 * stack with the regional key and the event store.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { names, REGIONS } from '../../../../platform';
import { EVENT_PREFIX, PARTITION_QUERY } from '../../../../infra/aws/lib/constructs/event-stream';
import { bareStorage, type Json, logicalIdOf, only, type StatementJson, temporaryOutdir } from './support';

const EU = REGIONS.europe.aws;

const outdir = temporaryOutdir('cdk-event-stream');
let europe: Template;

beforeAll(() => {
  europe = Template.fromStack(bareStorage('europe', outdir).stack);
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
