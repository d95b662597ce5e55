/**
 * The edge health check (`EdgeHealthCheck`) on a bare us-east-1 stack with a key and a key value store:
 * the function and its environment, the every-minute schedule, the timeout, the role's permissions on the
 * store only, the permissions boundary, and the optional alarms.
 */
import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { LOCATIONS, parseEdgeHealthEnv } from '../../../../platform';
import {
  EdgeHealthCheck,
  KEY_VALUE_STORE_ACTIONS,
} from '../../../../infra/aws/lib/constructs/edge/health-check';
import { NODE_RUNTIME } from '../../../../infra/aws/lib/constructs/trackstack-function';
import { bareEdgeStack } from './edge-support';
import {
  actions,
  type Json,
  logicalIdOf,
  only,
  rolePolicy,
  type StatementJson,
  temporaryOutdir,
} from './support';

const outdir = temporaryOutdir('cdk-edge-health');
const EDGE_URL = 'https://d111111abcdef8.cloudfront.net';

let template: Template;
let storeId: string;

type Props = ConstructorParameters<typeof EdgeHealthCheck>[2];

function build(id: string, extra: (stack: Stack) => Partial<Props> = () => ({})) {
  const { stack, key } = bareEdgeStack(outdir, 'us-east-1', id);
  const store = new cloudfront.KeyValueStore(stack, 'Store');
  const check = new EdgeHealthCheck(stack, 'Health', {
    stage: 'dev',
    locations: LOCATIONS,
    edgeUrl: EDGE_URL,
    keyValueStore: store,
    encryptionKey: key,
    logRetentionDays: 30,
    ...extra(stack),
  });
  return { stack, check, template: Template.fromStack(stack) };
}

beforeAll(() => {
  template = build('Health').template;
  storeId = only(template, 'AWS::CloudFront::KeyValueStore').id;
});

const fn = () => only<Json>(template, 'AWS::Lambda::Function');
const storeArn = () => ({ 'Fn::GetAtt': [storeId, 'Arn'] });

describe('function', () => {
  test('the edge-health bundle, ARM64, one run at a time, its logs encrypted and kept', () => {
    expect(fn().props).toMatchObject({
      Runtime: NODE_RUNTIME.name,
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 1,
      Description: 'Trackstack edge health check (dev)',
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/trackstack-dev/edge/health',
      RetentionInDays: 30,
      KmsKeyId: { 'Fn::GetAtt': [only(template, 'AWS::KMS::Key').id, 'Arn'] },
    });
  });

  test('its environment names the store, the CDN and every location, and the handler accepts it', () => {
    const variables = (fn().props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toEqual({
      TS_STAGE: 'dev',
      TS_LOCATIONS: 'americas,europe,apac',
      TS_EDGE_URL: EDGE_URL,
      TS_EDGE_STORE: 'kvs',
      TS_KVS_ARN: storeArn(),
      TS_PROBES: '3',
      TS_PROBE_INTERVAL_MS: '10000',
      TS_PROBE_TIMEOUT_MS: '3000',
      TS_LOG_LEVEL: 'info',
    });
    const env = parseEdgeHealthEnv({
      ...(variables as Record<string, string>),
      TS_KVS_ARN: 'arn:aws:cloudfront::123456789012:key-value-store/abc',
    });
    expect(env.TS_LOCATIONS).toEqual([...LOCATIONS]);
  });

  test('a CDN URL known only at deploy time (the distribution’s domain) passes, and reaches the function', () => {
    const { template: t } = build('TokenUrl', (stack) => ({
      edgeUrl: `https://${new cloudfront.KeyValueStore(stack, 'Stand-in').keyValueStoreId}.cloudfront.net`,
    }));
    const url = (only<Json>(t, 'AWS::Lambda::Function').props.Environment as { Variables: Json }).Variables
      .TS_EDGE_URL;
    expect(JSON.stringify(url)).toMatch(
      /"https:\/\/",\{"Fn::GetAtt":\["Standin[0-9A-F]+","Id"\]\},"\.cloudfront\.net"/,
    );
    // A malformed URL is still refused at synth, token or not.
    expect(() =>
      build('BadUrl', (stack) => ({
        edgeUrl: `ftp://${new cloudfront.KeyValueStore(stack, 'S').keyValueStoreId}`,
      })),
    ).toThrow(/invalid function environment:\n {2}TS_EDGE_URL/);
  });

  test('the timeout covers every probe’s interval and timeout, plus a margin, and stays under a minute', () => {
    // 3 × (10 s + 3 s) + 15 s.
    expect(fn().props.Timeout).toBe(54);
    const slow = build('Slow', () => ({
      probes: 5,
      probeInterval: Duration.seconds(20),
      probeTimeout: Duration.seconds(5),
    })).template;
    expect(only<Json>(slow, 'AWS::Lambda::Function').props.Timeout).toBe(5 * 25 + 15);
  });

  test('started every minute, never retried: the next run replaces a failed one', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fn().id, 'Arn'] },
          Id: 'Target0',
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });
});

describe('permissions', () => {
  const roleId = () =>
    logicalIdOf(template, 'AWS::IAM::Role', { Description: 'Execution role of the edge-health function' });

  test('the role may only use the key value store (by its ARN), beside its own logs and traces', () => {
    const statements = rolePolicy(template, roleId());
    const store = statements.find((s) => s.Sid === 'ReadAndWriteEdgeStore')!;
    expect(actions(store).sort()).toEqual(
      [
        'cloudfront-keyvaluestore:DeleteKey',
        'cloudfront-keyvaluestore:DescribeKeyValueStore',
        'cloudfront-keyvaluestore:GetKey',
        'cloudfront-keyvaluestore:ListKeys',
        'cloudfront-keyvaluestore:PutKey',
        'cloudfront-keyvaluestore:UpdateKeys',
      ].sort(),
    );
    expect(store.Resource).toEqual(storeArn());
    const services = new Set(statements.flatMap((s) => actions(s).map((a) => a.split(':')[0])));
    expect([...services].sort()).toEqual(['cloudfront-keyvaluestore', 'logs', 'xray']);
    expect(statements.filter((s) => s.Resource === '*').map((s) => s.Sid)).toEqual(['WriteTraces']);
  });

  test('the role carries a boundary that allows nothing beyond that, and denies IAM', () => {
    const role = template.toJSON().Resources[roleId()] as { Properties: { PermissionsBoundary: unknown } };
    const boundaryId = logicalIdOf(template, 'AWS::IAM::ManagedPolicy', {
      Description: 'Permissions boundary of the edge health check (/trackstack-dev/edge/health)',
    });
    expect(role.Properties.PermissionsBoundary).toEqual({ Ref: boundaryId });
    const statements = (
      template.toJSON().Resources[boundaryId].Properties as { PolicyDocument: { Statement: StatementJson[] } }
    ).PolicyDocument.Statement;
    const allowed = statements.filter((s) => s.Effect === 'Allow');
    expect(allowed.flatMap(actions).sort()).toEqual(
      [
        ...KEY_VALUE_STORE_ACTIONS,
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    expect(allowed.find((s) => s.Sid === 'UseEdgeStore')!.Resource).toEqual(storeArn());
    expect(statements.filter((s) => s.Effect === 'Deny').flatMap(actions)).toContain('iam:*');
  });

  test('a boundary passed in is used instead of its own', () => {
    let given: iam.ManagedPolicy | undefined;
    const { check, template: t } = build('Given', (stack) => {
      given = new iam.ManagedPolicy(stack, 'StackBoundary', {
        description: 'the stack boundary',
        statements: [new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: ['*'] })],
      });
      return { permissionsBoundary: given };
    });
    expect(check.permissionsBoundary).toBe(given);
    const role = only<{ PermissionsBoundary: unknown }>(t, 'AWS::IAM::Role');
    expect(JSON.stringify(role.props.PermissionsBoundary)).toContain('StackBoundary');
    expect(
      t.findResources('AWS::IAM::ManagedPolicy', {
        Properties: { Description: Match.stringLikeRegexp('^Permissions boundary of the edge health') },
      }),
    ).toEqual({});
  });
});

describe('alarms', () => {
  test('none without a topic', () => {
    expect(template.findResources('AWS::CloudWatch::Alarm')).toEqual({});
  });

  test('with a topic: failing runs and no runs notify it', () => {
    const { stack, key } = bareEdgeStack(outdir, 'us-east-1', 'Alarmed');
    const topic = new sns.Topic(stack, 'Topic', { masterKey: key });
    const store = new cloudfront.KeyValueStore(stack, 'Store');
    const check = new EdgeHealthCheck(stack, 'Health', {
      stage: 'dev',
      locations: ['europe'],
      edgeUrl: EDGE_URL,
      keyValueStore: store,
      encryptionKey: key,
      logRetentionDays: 30,
      alarmTopic: topic,
    });
    expect(check.alarms).toHaveLength(2);
    const t = Template.fromStack(stack);
    const topicRef = { Ref: only(t, 'AWS::SNS::Topic').id };
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 1,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      AlarmActions: [topicRef],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topicRef],
    });
  });
});
