/**
 * The event stream (`EventStream`): Firehose into the event bucket and the role it delivers with, on a bare
 * stack with the regional key and the event store.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LIMITS, type Location, names, REGIONS } from '../../../../platform';
import {
  EVENT_PREFIX,
  EventStream,
  PARTITION_QUERY,
} from '../../../../infra/aws/lib/constructs/event-stream';
import {
  bareStorage,
  boundaryOf,
  functionOf,
  iamPattern,
  type Json,
  keyPolicy,
  logicalIdOf,
  only,
  render,
  resourcesOf,
  rolePolicy,
  type StatementJson,
  synthesizeEdgeVariant,
  TEST_ACCOUNT,
  temporaryOutdir,
} from './support';

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
          // Packed records are split on newlines before the partition keys are read, and each event goes
          // back to its own line.
          Processors: [
            {
              Type: 'RecordDeAggregation',
              Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'JSON' }],
            },
            {
              Type: 'MetadataExtraction',
              Parameters: expect.arrayContaining([
                {
                  ParameterName: 'MetadataExtractionQuery',
                  ParameterValue: '{account: .accountId, dt: .dt}',
                },
              ]),
            },
            { Type: 'AppendDelimiterToRecord' },
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

  test('its role may be assumed only by its streams and write only this bucket, via S3, and its log stream', () => {
    const role = logicalIdOf(europe, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('^Delivers ') });
    europe.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('^Delivers '),
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'firehose.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
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

describe('metrics', () => {
  test('the partition and throughput metrics of the stream, by its name', () => {
    const { eventStream } = bareStorage('apac', outdir);
    const dimensions = { DeliveryStreamName: names.eventStream('dev', 'apac') };
    const metrics = [
      eventStream.metricPartitionCount(),
      eventStream.metricPartitionCountExceeded(),
      eventStream.metricActivePartitionsLimit(),
      eventStream.metricThrottledRecords(),
    ];
    expect(metrics.map((m) => m.metricName)).toEqual([
      'PartitionCount',
      'PartitionCountExceeded',
      'ActivePartitionsLimit',
      'ThrottledRecords',
    ]);
    for (const m of metrics) {
      expect(m.namespace).toBe('AWS/Firehose');
      expect(m.dimensions).toEqual(dimensions);
    }
  });

  test('a grant on no stream, or on a stream not numbered after the first, is refused', () => {
    const { eventStream } = bareStorage('americas', outdir);
    expect(() => EventStream.grantPutRecordsOnAll(eventStream.role, [])).toThrow(/no stream to grant/);
    // The numbered streams are granted by their common prefix, so a stream outside it cannot be granted.
    const other = bareStorage('apac', outdir).eventStream;
    expect(() => EventStream.grantPutRecordsOnAll(eventStream.role, [eventStream, other])).toThrow(
      'grantPutRecordsOnAll: trackstack-dev-apac-events is not named trackstack-dev-americas-events-<i>',
    );
  });
});

/** The template of a location's stack in a dev stage with `options` over its cdk.json entry. */
function regionalTemplate(options: Record<string, unknown>, location: Location = 'europe'): Template {
  const built = synthesizeEdgeVariant('dev', options, outdir);
  return Template.fromStack(built.regionalStacks.find((s) => s.location === location)!);
}

describe('a location with three streams', () => {
  const streamNames = [0, 1, 2].map((i) => names.eventStream('dev', 'europe', i));
  let three: Template;
  beforeAll(() => {
    three = regionalTemplate({ eventStreams: 3 });
  });

  test('every stream delivers into the same bucket under the same prefix, with de-aggregation', () => {
    const streams = Object.values(three.findResources('AWS::KinesisFirehose::DeliveryStream')).map(
      (r) => (r as { Properties: Json }).Properties,
    );
    expect(streams.map((s) => s.DeliveryStreamName).sort()).toEqual(streamNames);
    const destinations = streams.map((s) => s.ExtendedS3DestinationConfiguration as Json);
    const bucket = destinations[0]!.BucketARN as { 'Fn::GetAtt': [string, string] };
    const bucketProps = (three.toJSON().Resources[bucket['Fn::GetAtt'][0]] as { Properties: Json })
      .Properties;
    expect(render(three, bucketProps.BucketName, EU)).toBe(names.eventBucket('dev', 'europe', TEST_ACCOUNT));
    for (const d of destinations) {
      expect(d).toMatchObject({ BucketARN: bucket, Prefix: EVENT_PREFIX });
      expect(d.ProcessingConfiguration).toEqual(destinations[0]!.ProcessingConfiguration);
    }
  });

  test('stream 0 keeps the logical ids of the single stream, so adding streams replaces nothing', () => {
    const single = Template.fromStack(bareStorage('europe', outdir).stack);
    for (const type of ['AWS::KinesisFirehose::DeliveryStream', 'AWS::Logs::LogGroup', 'AWS::IAM::Role']) {
      const ids = Object.keys(three.findResources(type));
      for (const id of Object.keys(single.findResources(type))) expect(ids).toContain(id);
    }
  });

  test('one delivery role, error log and pair of key statements serve every stream of the location', () => {
    const groups = three.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/trackstack-dev/europe/event-stream' },
    });
    expect(Object.keys(groups)).toHaveLength(1);
    expect(Object.keys(three.findResources('AWS::Logs::LogStream'))).toHaveLength(1);
    const roles = Object.keys(
      three.findResources('AWS::IAM::Role', {
        Properties: { Description: Match.stringLikeRegexp('^Delivers ') },
      }),
    );
    expect(roles).toHaveLength(1);
    const streams = Object.values(three.findResources('AWS::KinesisFirehose::DeliveryStream')).map(
      (r) => (r as { Properties: { ExtendedS3DestinationConfiguration: Json } }).Properties,
    );
    for (const stream of streams) {
      expect(stream.ExtendedS3DestinationConfiguration.RoleARN).toEqual({ 'Fn::GetAtt': [roles[0], 'Arn'] });
      expect(stream.ExtendedS3DestinationConfiguration.CloudWatchLoggingOptions).toMatchObject({
        LogStreamName: { Ref: only(three, 'AWS::Logs::LogStream').id },
      });
    }
    // The role's trust admits stream 0 and the streams numbered after it, of this account only.
    const trust = (three.toJSON().Resources[roles[0]!] as { Properties: { AssumeRolePolicyDocument: Json } })
      .Properties.AssumeRolePolicyDocument as { Statement: StatementJson[] };
    const condition = trust.Statement[0]!.Condition!;
    expect(condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    const admitted = (condition.ArnLike!['aws:SourceArn'] as unknown[]).map((a) =>
      iamPattern(render(three, a, EU)),
    );
    const arnOf = (name: string) => `arn:aws:firehose:${EU}:${TEST_ACCOUNT}:deliverystream/${name}`;
    for (const name of streamNames) expect(admitted.some((p) => p.test(arnOf(name)))).toBe(true);
    expect(admitted.some((p) => p.test(arnOf(names.eventStream('dev', 'apac'))))).toBe(false);
    for (const sid of ['EventStreamDeliversThroughS3', 'EventStreamEncryptionGrant']) {
      expect(keyPolicy(three).filter((s) => s.Sid === sid)).toHaveLength(1);
    }
  });

  test('a stream shares only a first stream of the same bucket, key and log group, named after it', () => {
    const { stack, eventStream, eventStore, key } = bareStorage('americas', outdir);
    const props = {
      deliveryStreamName: `${eventStream.deliveryStreamName}-1`,
      destinationBucket: eventStore.bucket,
      encryptionKey: key.key,
      errorLogGroupName: eventStream.errorLogGroupName,
      logRetentionDays: 30,
      shareWith: eventStream,
    };
    const second = new EventStream(stack, 'Second', props);
    expect(second.role).toBe(eventStream.role);
    expect(
      () => new EventStream(stack, 'Renamed', { ...props, deliveryStreamName: 'other-events-2' }),
    ).toThrow(
      /Renamed\] deliveryStreamName: .* must be named trackstack-dev-americas-events-<i>, got other-events-2/,
    );
    expect(() => new EventStream(stack, 'OtherLog', { ...props, errorLogGroupName: '/elsewhere' })).toThrow(
      /OtherLog\] errorLogGroupName: .* logs to \/trackstack-dev\/americas\/event-stream, got \/elsewhere/,
    );
    expect(() => new EventStream(stack, 'Chained', { ...props, shareWith: second })).toThrow(
      /Chained\] shareWith: .* shares another stream's delivery itself/,
    );
    expect(
      () =>
        new EventStream(stack, 'OtherBucket', { ...props, destinationBucket: eventStore.accessLogBucket }),
    ).toThrow(/OtherBucket\] a stream that shares .* must deliver into its bucket with its key/);
  });

  test('the ingest function knows every stream in index order and may write into each', () => {
    const fn = functionOf(three, 'ingest');
    const variables = (fn.props.Environment as { Variables: Json }).Variables;
    expect(variables.TS_FIREHOSE_STREAMS).toBe(streamNames.join(','));
    const role = (fn.props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    // The grant and the boundary name stream 0 by its ARN, the numbered streams by their prefix.
    const arnOf = (name: string) => `arn:aws:firehose:${EU}:${TEST_ACCOUNT}:deliverystream/${name}`;
    const put = rolePolicy(three, role).find((s) => s.Sid === 'PutEvents')!;
    const boundary = boundaryOf(three).find((s) => s.Sid === 'UseEventStream')!;
    for (const statement of [put, boundary]) {
      const allowed = resourcesOf(statement).map((r) => render(three, r, EU));
      expect(allowed).toEqual([arnOf(streamNames[0]!), arnOf(`${streamNames[0]!}-*`)]);
      const patterns = allowed.map(iamPattern);
      for (const name of streamNames) expect(patterns.some((p) => p.test(arnOf(name)))).toBe(true);
      for (const other of ['trackstack-dev-europe-eventsx', names.eventStream('dev', 'apac', 1)]) {
        expect(patterns.some((p) => p.test(arnOf(other)))).toBe(false);
      }
    }
    // Named rather than referenced, so the function waits for them explicitly.
    const dependsOn = three.toJSON().Resources[fn.id].DependsOn as string[];
    for (const name of streamNames.slice(1)) {
      expect(dependsOn).toContain(
        logicalIdOf(three, 'AWS::KinesisFirehose::DeliveryStream', { DeliveryStreamName: name }),
      );
    }
  });

  test('five alarms per stream and the outputs name stream 0 and all of them', () => {
    const firehoseAlarms = three.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Namespace: 'AWS/Firehose' },
    });
    expect(Object.keys(firehoseAlarms)).toHaveLength(15);
    three.hasOutput('EventStreamName', { Value: streamNames[0] });
    three.hasOutput('EventStreamNames', { Value: streamNames.join(',') });
  });
});

/**
 * The length a template value takes once deployed, at most: each `Ref` and `Fn::GetAtt` counted as the
 * longest ARN of an IAM role (`arn:aws:iam::<account>:role/` and a 64-character name), whitespace left out.
 */
function deployedLength(value: unknown): number {
  const longest = `arn:aws:iam::${TEST_ACCOUNT}:role/${'x'.repeat(64)}`;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if ('Ref' in o || 'Fn::GetAtt' in o) return longest;
      if ('Fn::Join' in o) {
        const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map((p) => (typeof p === 'string' ? p : longest)).join(separator);
      }
    }
    return v;
  });
  return json.length;
}

describe('a location with the most streams a stage may have', () => {
  test(`${LIMITS.maxEventStreams} streams fit CloudFormation's and IAM's quotas`, () => {
    const most = regionalTemplate({
      eventStreams: LIMITS.maxEventStreams,
      firehoseActivePartitionQuota: 5000,
    });
    const resources = Object.keys(most.toJSON().Resources as Json);
    // CloudFormation: 500 resources per stack.
    expect(resources.length).toBeLessThanOrEqual(500);
    // KMS: a key policy of at most 32 KiB.
    expect(deployedLength(only(most, 'AWS::KMS::Key').props.KeyPolicy)).toBeLessThan(32 * 1024);
    // IAM: a managed policy of at most 6,144 characters: the boundary and the ingest function's policy.
    const boundary = logicalIdOf(most, 'AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('^Permissions boundary'),
    });
    const fn = functionOf(most, 'ingest');
    const role = (fn.props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const ingestPolicies = most.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { Roles: [{ Ref: role }] },
    });
    for (const policy of [most.toJSON().Resources[boundary], ...Object.values(ingestPolicies)]) {
      expect(deployedLength((policy as { Properties: Json }).Properties.PolicyDocument)).toBeLessThan(6144);
    }
    // The partition alarm fires at 80% of the raised quota.
    most.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PartitionCount', Threshold: 4000 });
  });
});
