import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnDeletionPolicy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { REGIONS } from '../../../../platform';
import { TrackstackChecks } from '../../../../policies/aws/trackstack-checks';
import { KEY_ADMIN_ACTIONS } from '../../../../infra/aws/lib/constructs/regional-key';

const REGION = REGIONS.europe.aws;

// cdk-nag style: each rule gets a "Compliance" case and one "Noncompliance N" case per way to break it.

const outdir = mkdtempSync(join(tmpdir(), 'trackstack-checks-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function newStack(): Stack {
  return new Stack(new App({ outdir, builtinCloudFormationValidation: false }), 'Test', {
    env: { account: '123456789012', region: REGION },
  });
}

/** Rule ids the pack reports for a stack (after synth-time aspects, as in a real synth). */
function reported(stack: Stack): string[] {
  const app = stack.node.root as App;
  app.synth({ force: true });
  return new TrackstackChecks().validateScope(stack).violations.map((v) => v.ruleName);
}

function keyWith(stack: Stack, ...statements: iam.PolicyStatement[]): kms.Key {
  return new kms.Key(stack, 'Key', {
    removalPolicy: RemovalPolicy.RETAIN,
    policy: new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          principals: [new iam.AccountRootPrincipal()],
          actions: [...KEY_ADMIN_ACTIONS],
          resources: ['*'],
        }),
        ...statements,
      ],
    }),
  });
}

const root = () => new iam.AccountRootPrincipal();

describe('Trackstack-KMSKeyAdminCannotDecrypt', () => {
  const RULE = 'Trackstack-KMSKeyAdminCannotDecrypt';

  test('Compliance', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    keyWith(
      stack,
      new iam.PolicyStatement({ principals: [role], actions: ['kms:Decrypt'], resources: ['*'] }),
      new iam.PolicyStatement({
        principals: [root()],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*', 'kms:CreateGrant'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${REGION}.amazonaws.com` } },
      }),
      new iam.PolicyStatement({
        principals: [root()],
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*'],
        resources: ['*'],
      }),
    );
    expect(reported(stack)).not.toContain(RULE);
  });

  test('Noncompliance 1: the account root may decrypt directly', () => {
    const stack = newStack();
    keyWith(
      stack,
      new iam.PolicyStatement({ principals: [root()], actions: ['kms:Decrypt'], resources: ['*'] }),
    );
    expect(reported(stack)).toContain(RULE);
  });

  test('Noncompliance 2: the account root has kms:* (CDK’s default key policy)', () => {
    const stack = newStack();
    new kms.Key(stack, 'Key', { removalPolicy: RemovalPolicy.RETAIN });
    expect(reported(stack)).toContain(RULE);
  });

  test('Noncompliance 3: the account may decrypt through S3, where the events are', () => {
    const stack = newStack();
    keyWith(
      stack,
      new iam.PolicyStatement({
        principals: [root()],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
      }),
    );
    expect(reported(stack)).toContain(RULE);
  });

  test('Noncompliance 4: anyone (*) may generate data keys', () => {
    const stack = newStack();
    keyWith(
      stack,
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    expect(reported(stack)).toContain(RULE);
  });

  test('Noncompliance 5: the account may create grants for itself', () => {
    const stack = newStack();
    keyWith(
      stack,
      new iam.PolicyStatement({ principals: [root()], actions: ['kms:Create*'], resources: ['*'] }),
    );
    expect(reported(stack)).toContain(RULE);
  });
});

describe('Trackstack-IAMRoleHasPermissionsBoundary', () => {
  const RULE = 'Trackstack-IAMRoleHasPermissionsBoundary';
  const boundary = (stack: Stack) => iam.ManagedPolicy.fromManagedPolicyName(stack, 'Boundary', 'boundary');
  const role = (stack: Stack) =>
    new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

  test('Compliance', () => {
    const stack = newStack();
    role(stack);
    iam.PermissionsBoundary.of(stack).apply(boundary(stack));
    expect(reported(stack)).not.toContain(RULE);
  });

  test('Compliance: a boundary set on the role itself', () => {
    const stack = newStack();
    new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      permissionsBoundary: boundary(stack),
    });
    expect(reported(stack)).not.toContain(RULE);
  });

  test('Noncompliance 1: a role without a boundary', () => {
    const stack = newStack();
    role(stack);
    expect(reported(stack)).toContain(RULE);
  });

  test('Noncompliance 2: a boundary cleared below the stack', () => {
    const stack = newStack();
    const r = role(stack);
    iam.PermissionsBoundary.of(stack).apply(boundary(stack));
    iam.PermissionsBoundary.of(r).clear();
    expect(reported(stack)).toContain(RULE);
  });
});

describe('Trackstack-KMSKeyRetained', () => {
  const RULE = 'Trackstack-KMSKeyRetained';

  test('Compliance', () => {
    const stack = newStack();
    keyWith(stack);
    expect(reported(stack)).not.toContain(RULE);
  });

  test('Noncompliance 1: the key is destroyed with its stack', () => {
    const stack = newStack();
    const key = keyWith(stack);
    key.applyRemovalPolicy(RemovalPolicy.DESTROY);
    expect(reported(stack)).toContain(RULE);
  });

  test('Noncompliance 2: the key is deleted when replaced', () => {
    const stack = newStack();
    const key = keyWith(stack);
    (key.node.defaultChild as kms.CfnKey).cfnOptions.updateReplacePolicy = CfnDeletionPolicy.DELETE;
    expect(reported(stack)).toContain(RULE);
  });
});

describe('Trackstack-LambdaFunctionArm64', () => {
  const RULE = 'Trackstack-LambdaFunctionArm64';
  const fn = (stack: Stack, architecture?: lambda.Architecture) =>
    new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => 1;'),
      architecture,
    });

  test('Compliance', () => {
    const stack = newStack();
    fn(stack, lambda.Architecture.ARM_64);
    expect(reported(stack)).not.toContain(RULE);
  });

  test('Noncompliance 1: the default (x86_64) architecture', () => {
    const stack = newStack();
    fn(stack);
    expect(reported(stack)).toContain(RULE);
  });

  test('Noncompliance 2: x86_64 set explicitly', () => {
    const stack = newStack();
    fn(stack, lambda.Architecture.X86_64);
    expect(reported(stack)).toContain(RULE);
  });
});
