import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { REGIONS } from '../../../../platform';
import { ingestEnvSchema } from '../../../../platform/contracts/ingest-env';
import { NODE_RUNTIME, TrackstackFunction } from '../../../../infra/aws/lib/constructs/trackstack-function';

const REGION = REGIONS.europe.aws;

const outdir = mkdtempSync(join(tmpdir(), 'trackstack-fn-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function stack(): Stack {
  return new Stack(new App({ outdir }), 'Test', { env: { account: '123456789012', region: REGION } });
}

const common = {
  service: 'ingest' as const,
  memorySize: 256,
  reservedConcurrentExecutions: 5,
  logGroupName: '/test/fn',
  logRetentionDays: 30,
};

describe('TrackstackFunction', () => {
  test('an environment the handler would refuse fails synth, naming the variable', () => {
    const scope = stack();
    const key = new kms.Key(scope, 'Key');
    expect(
      () =>
        new TrackstackFunction(scope, 'Fn', {
          ...common,
          encryptionKey: key,
          environmentSchema: ingestEnvSchema,
          environment: { TS_SINK: 'firehose', TS_KEY_PROVIDER: 'kms', TS_KMS_KEY_ID: key.keyArn },
        }),
    ).toThrow(
      /Test\/Fn\] invalid function environment:\n {2}TS_FIREHOSE_STREAM: is required when TS_SINK=firehose/,
    );
  });

  test('takes any service schema, validates with it, and passes the input through as strings', () => {
    const scope = stack();
    const key = new kms.Key(scope, 'Key');
    const purgeLike = z.object({
      TS_DRY_RUN: z.enum(['true', 'false']),
      TS_BATCH: z.string().regex(/^\d+$/),
    });
    const fn = new TrackstackFunction(scope, 'Fn', {
      ...common,
      encryptionKey: key,
      environmentSchema: purgeLike,
      environment: { TS_DRY_RUN: 'true', TS_BATCH: '1000' },
    });
    expect(fn.environment).toEqual({ TS_DRY_RUN: 'true', TS_BATCH: '1000' });
    expect(
      () =>
        new TrackstackFunction(stack(), 'Bad', {
          ...common,
          encryptionKey: new kms.Key(scope, 'Key2'),
          environmentSchema: purgeLike,
          environment: { TS_DRY_RUN: 'maybe' as 'true', TS_BATCH: 'many' },
        }),
    ).toThrow(/TS_DRY_RUN: [^]*TS_BATCH: /);

    const template = Template.fromStack(scope);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: NODE_RUNTIME.name,
      MemorySize: 256,
      ReservedConcurrentExecutions: 5,
      TracingConfig: { Mode: 'Active' },
      Environment: { Variables: { TS_DRY_RUN: 'true', TS_BATCH: '1000' } },
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/test/fn', RetentionInDays: 30 });
  });

  test('grants go into its customer-managed policy, never an inline one', () => {
    const scope = stack();
    const key = new kms.Key(scope, 'Key');
    const fn = new TrackstackFunction(scope, 'Fn', {
      ...common,
      encryptionKey: key,
      environmentSchema: ingestEnvSchema,
      environment: {},
    });
    key.grantDecrypt(fn.function);
    fn.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    const template = Template.fromStack(scope);
    expect(template.findResources('AWS::IAM::Policy')).toEqual({});
    expect(Object.keys(template.findResources('AWS::IAM::Role'))).toHaveLength(1);
  });

  test('a log retention CloudWatch Logs does not offer fails synth', () => {
    const scope = stack();
    expect(
      () =>
        new TrackstackFunction(scope, 'Fn', {
          ...common,
          logRetentionDays: 42,
          encryptionKey: new kms.Key(scope, 'Key'),
          environmentSchema: ingestEnvSchema,
          environment: {},
        }),
    ).toThrow(/logRetentionDays: 42 is not a retention period/);
  });

  test('an asynchronous function: named role, retries, and a KMS-encrypted dead-letter queue it may send to', () => {
    const scope = stack();
    const key = new kms.Key(scope, 'Key');
    const queue = new sqs.Queue(scope, 'Dlq', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
    });
    const fn = new TrackstackFunction(scope, 'Fn', {
      ...common,
      encryptionKey: key,
      environmentSchema: z.object({}),
      environment: {},
      roleName: 'test-purge',
      deadLetterQueue: queue,
      retryAttempts: 1,
    });
    const template = Template.fromStack(scope);
    const queueArn = { 'Fn::GetAtt': [scope.getLogicalId(queue.node.defaultChild as sqs.CfnQueue), 'Arn'] };
    template.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: { TargetArn: queueArn } });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 1 });
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: 'test-purge' });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'SendFailedInvocationsToDeadLetterQueue',
            Action: 'sqs:SendMessage',
            Resource: queueArn,
          }),
          Match.objectLike({
            Sid: 'EncryptDeadLettersThroughSqs',
            Condition: {
              StringEquals: {
                'kms:ViaService': `sqs.${REGION}.amazonaws.com`,
                'kms:EncryptionContext:aws:sqs:arn': queueArn,
              },
            },
          }),
        ]),
      },
    });
    expect(template.findResources('AWS::IAM::Policy')).toEqual({});
    // Lambda's dead-letter queue is in place, so the "synchronous only" acknowledgement is not given.
    const acks = fn.function.node.metadata.filter(
      (m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
    );
    expect(JSON.stringify(acks)).not.toContain('LambdaDLQ');
  });
});
