import { App, FileSystem, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { INGEST_METRICS, REGIONS } from '../../../../platform';
import { ingestEnvSchema } from '../../../../platform/contracts/ingest-env';
import {
  bundledCode,
  NODE_RUNTIME,
  TrackstackFunction,
} from '../../../../infra/aws/lib/constructs/trackstack-function';

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

/** An ingest function with an empty environment, encrypted with `key`. */
function ingestFunction(scope: Stack, key: kms.IKey): TrackstackFunction<typeof ingestEnvSchema> {
  return new TrackstackFunction(scope, 'Fn', {
    ...common,
    encryptionKey: key,
    environmentSchema: ingestEnvSchema,
    environment: {},
  });
}

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
      /Test\/Fn\] invalid function environment:\n {2}TS_FIREHOSE_STREAMS: is required when TS_SINK=firehose/,
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
    const fn = ingestFunction(scope, key);
    key.grantDecrypt(fn.function);
    fn.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    const template = Template.fromStack(scope);
    expect(template.findResources('AWS::IAM::Policy')).toEqual({});
    expect(Object.keys(template.findResources('AWS::IAM::Role'))).toHaveLength(1);
  });

  test('an iam.IGrantable: a grant to the function lands in its customer-managed policy, for its own role', () => {
    const scope = stack();
    const key = new kms.Key(scope, 'Key');
    const fn = ingestFunction(scope, key);
    expect(fn.grantPrincipal).toBe(fn.role);
    const grant = key.grantDecrypt(fn);
    expect(grant.success).toBe(true);
    const template = Template.fromStack(scope);
    expect(template.findResources('AWS::IAM::Policy')).toEqual({});
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: scope.getLogicalId(fn.role.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Resource: { 'Fn::GetAtt': [scope.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] },
          }),
        ]),
      },
    });
    // The Lambda function waits for the policy, so the grant is in place before the first invocation.
    template.hasResource('AWS::Lambda::Function', {
      DependsOn: Match.arrayWith([scope.getLogicalId(fn.policy.node.defaultChild as iam.CfnManagedPolicy)]),
    });
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

describe('the asset of the function’s code', () => {
  /**
   * The S3 key of the code asset of a bundle, in an app with an assembly directory of its own: within one
   * process, CDK stages an asset once per source, bundling options and assembly directory.
   */
  function objectKeyOf(bundle: string): string {
    const app = new App({ outdir: mkdtempSync(join(outdir, 'app-')) });
    const scope = new Stack(app, 'Test', { env: { account: '123456789012', region: REGION } });
    return bundledCode('ingest', () => bundle).bind(scope).s3Location!.objectKey;
  }

  /** A bundle directory holding `index.js` with the given source. */
  function bundleOf(source: string): string {
    const dir = mkdtempSync(join(outdir, 'bundle-'));
    writeFileSync(join(dir, 'index.js'), source);
    return dir;
  }

  test('its hash follows the bundle, not the service directory that CDK starts from', () => {
    const one = bundleOf('exports.handler = async () => 1;');
    const same = mkdtempSync(join(outdir, 'bundle-'));
    cpSync(one, same, { recursive: true });
    const other = bundleOf('exports.handler = async () => 2;');
    // Every bundle starts from services/ingest; only what the build put out tells them apart.
    expect(objectKeyOf(one)).toBe(`${FileSystem.fingerprint(one)}.zip`);
    expect(objectKeyOf(same)).toBe(objectKeyOf(one));
    expect(objectKeyOf(other)).not.toBe(objectKeyOf(one));
  });

  test('the real bundle holds code from outside services/<service>, and the hash is that bundle’s', () => {
    const scope = stack();
    const fn = ingestFunction(scope, new kms.Key(scope, 'Key'));
    const assembly = (scope.node.root as App).synth();
    const template = Template.fromStack(scope).toJSON();
    const objectKey = template.Resources[
      scope.getLogicalId(fn.function.node.defaultChild as lambda.CfnFunction)
    ].Properties.Code.S3Key as string;
    const hash = objectKey.replace(/\.zip$/, '');
    const staged = join(assembly.directory, `asset.${hash}`);
    expect(existsSync(staged)).toBe(true);
    expect(FileSystem.fingerprint(staged)).toBe(hash);
    // The metric name is written once, in platform/: a change there changes the bundle, hence the asset.
    expect(readFileSync(join(staged, 'index.js'), 'utf8')).toContain(INGEST_METRICS.spoolDepth);
  });
});
