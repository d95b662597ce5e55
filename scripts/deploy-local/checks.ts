/**
 * Checks against the templates: what CloudFormation reports as deployed in moto, read back with the AWS
 * SDK and compared with the synthesized template's resolved properties (keys, buckets, functions, tables,
 * queues, schedules), and the purge functions' wiring across regions. Resources moto skipped get their
 * stand-ins (stand-ins.ts) here, so that the later checks and the data path find them.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand } from '@aws-sdk/client-kms';
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { edgeStackName, REGIONS, type Location, type Stage } from '../../platform';
import { CheckList, attempt, type Check } from './check-list';
import {
  getFunctionConcurrency,
  getFunctionConfiguration,
  getFunctionPolicyStatements,
  type FunctionPolicyStatement,
  keyIdOf,
  motoJsonCall,
  regionClients,
  type RegionClients,
} from './moto-clients';
import { createGlobalTableStandIns, createStreamStandIn, type StandIn } from './stand-ins';
import type { TemplateResolver } from './template-resolver';
import type { DeployedStack } from './template';

/** What the check of one deployed resource reads besides its template properties. */
interface DeployedResource {
  /** What moto reported as the physical id: key id, bucket name, function name, queue URL, rule or table name. */
  readonly physical: string;
  readonly stack: DeployedStack;
  readonly endpoint: string;
  readonly clients: RegionClients;
}

/** Compares one deployed resource with its resolved template properties, recording each comparison in `c`. */
type ResourceCheck = (
  c: CheckList,
  props: Record<string, unknown>,
  deployed: DeployedResource,
) => Promise<void>;

const checkKey: ResourceCheck = async (c, props, { physical: keyId, clients: { kms } }) => {
  const rotation = await attempt(() => kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId })));
  c.add('EnableKeyRotation', props.EnableKeyRotation ?? false, rotation?.KeyRotationEnabled);
  // moto answers DescribeKey with HTTP 500 when it holds the key policy as an object (see the patch).
  const described = await attempt(() => kms.send(new DescribeKeyCommand({ KeyId: keyId })));
  const state = described?.KeyMetadata?.KeyState ?? 'DescribeKey failed';
  c.add('Enabled (DescribeKey)', 'Enabled', state);
  const policy = await attempt(() =>
    kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' })),
  );
  const sids = (doc: unknown) =>
    ((doc as { Statement?: { Sid?: string }[] } | undefined)?.Statement ?? [])
      .map((s) => s.Sid ?? '(no Sid)')
      .sort();
  const actual = typeof policy?.Policy === 'string' ? sids(JSON.parse(policy.Policy)) : 'GetKeyPolicy failed';
  c.add('KeyPolicy statements (Sid)', sids(props.KeyPolicy), actual);
};

const checkAlias: ResourceCheck = async (c, props, { clients: { kms } }) => {
  const target = await attempt(() => keyIdOf(kms, String(props.AliasName)));
  const want = await attempt(() => keyIdOf(kms, String(props.TargetKeyId)));
  c.add('TargetKeyId', want, target, !!target && target === want);
};

const checkBucket: ResourceCheck = async (c, props, { physical: bucket, clients: { s3 } }) => {
  type Sse = {
    ServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string };
    BucketKeyEnabled?: boolean;
  };
  const encryption = props.BucketEncryption as { ServerSideEncryptionConfiguration?: Sse[] } | undefined;
  const rule = encryption?.ServerSideEncryptionConfiguration?.[0];
  const enc = await attempt(() => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })));
  const actual = enc?.ServerSideEncryptionConfiguration?.Rules?.[0];
  const want = rule?.ServerSideEncryptionByDefault;
  const got = actual?.ApplyServerSideEncryptionByDefault;
  c.add('BucketEncryption SSEAlgorithm', want?.SSEAlgorithm, got?.SSEAlgorithm);
  if (want?.KMSMasterKeyID !== undefined)
    c.add('BucketEncryption KMSMasterKeyID', want.KMSMasterKeyID, got?.KMSMasterKeyID);
  if (rule?.BucketKeyEnabled !== undefined)
    c.add('BucketKeyEnabled', rule.BucketKeyEnabled, actual?.BucketKeyEnabled);
  const versioning = (props.VersioningConfiguration as { Status?: string } | undefined)?.Status;
  if (versioning !== undefined) {
    const v = await attempt(() => s3.send(new GetBucketVersioningCommand({ Bucket: bucket })));
    c.add('VersioningConfiguration', versioning, v?.Status);
  }
  const lifecycle = (props.LifecycleConfiguration as { Rules?: { Id?: string }[] } | undefined)?.Rules;
  if (lifecycle) {
    const l = await attempt(() => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })));
    c.add(
      'LifecycleConfiguration',
      lifecycle.map((r) => r.Id ?? '(no id)'),
      l?.Rules?.map((r) => r.ID ?? '(no id)'),
    );
  }
  const logging = props.LoggingConfiguration as { DestinationBucketName?: unknown } | undefined;
  if (logging) {
    const l = await attempt(() => s3.send(new GetBucketLoggingCommand({ Bucket: bucket })));
    c.add('LoggingConfiguration', logging.DestinationBucketName, l?.LoggingEnabled?.TargetBucket);
  }
  const lock = props.ObjectLockConfiguration as
    { ObjectLockEnabled?: string; Rule?: { DefaultRetention?: unknown } } | undefined;
  if (lock) {
    const l = await attempt(() => s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })));
    const got = l?.ObjectLockConfiguration;
    c.add(
      'ObjectLockConfiguration',
      lock,
      got ? { ObjectLockEnabled: got.ObjectLockEnabled, Rule: got.Rule } : undefined,
    );
  }
  const block = props.PublicAccessBlockConfiguration as Record<string, boolean> | undefined;
  if (block) {
    const p = await attempt(() => s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })));
    const got = p?.PublicAccessBlockConfiguration as Record<string, unknown> | undefined;
    c.add(
      'PublicAccessBlockConfiguration',
      block,
      got,
      !!got && Object.entries(block).every(([k, v]) => got[k] === v),
    );
  }
};

const checkFunction: ResourceCheck = async (c, props, { physical: name, stack, endpoint }) => {
  const config = await attempt(() => getFunctionConfiguration(endpoint, stack.region, name));
  c.add('exists (GetFunctionConfiguration)', name, config?.FunctionName);
  if (!config) return;
  for (const key of ['Runtime', 'Handler', 'MemorySize', 'Timeout', 'Role'] as const)
    if (props[key] !== undefined) c.add(key, props[key], config[key]);
  const environment = props.Environment as { Variables?: Record<string, unknown> } | undefined;
  const deployed = config.Environment?.Variables ?? {};
  for (const [k, v] of Object.entries(environment?.Variables ?? {}))
    c.add(`Environment ${k}`, v, deployed[k]);
  if (props.ReservedConcurrentExecutions !== undefined) {
    const reserved = await attempt(() => getFunctionConcurrency(endpoint, stack.region, name));
    c.add('ReservedConcurrentExecutions', props.ReservedConcurrentExecutions, reserved);
  }
  if (props.Architectures) c.add('Architectures', props.Architectures, config.Architectures);
  const tracing = (props.TracingConfig as { Mode?: string } | undefined)?.Mode;
  if (tracing) c.add('TracingConfig', tracing, config.TracingConfig?.Mode);
  const logFormat = (props.LoggingConfig as { LogFormat?: string } | undefined)?.LogFormat;
  if (logFormat) c.add('LoggingConfig', logFormat, config.LoggingConfig?.LogFormat);
  const dlq = (props.DeadLetterConfig as { TargetArn?: string } | undefined)?.TargetArn;
  if (dlq) c.add('DeadLetterConfig', dlq, config.DeadLetterConfig?.TargetArn);
};

const checkQueue: ResourceCheck = async (c, props, { physical: url, stack, endpoint }) => {
  const out = await attempt(() =>
    motoJsonCall<{ Attributes?: Record<string, string> }>(
      endpoint,
      stack.region,
      'sqs',
      'AmazonSQS.GetQueueAttributes',
      { QueueUrl: url, AttributeNames: ['All'] },
      '1.0',
    ),
  );
  const attributes = out?.Attributes;
  c.add('exists (GetQueueAttributes)', url, attributes ? url : undefined);
  if (!attributes) return;
  if (props.KmsMasterKeyId !== undefined)
    c.add('KmsMasterKeyId', props.KmsMasterKeyId, attributes.KmsMasterKeyId);
  if (props.MessageRetentionPeriod !== undefined)
    c.add('MessageRetentionPeriod', String(props.MessageRetentionPeriod), attributes.MessageRetentionPeriod);
};

const checkRule: ResourceCheck = async (c, props, { physical: name, stack, endpoint }) => {
  const call = <T>(target: string, input: Record<string, unknown>) =>
    attempt(() => motoJsonCall<T>(endpoint, stack.region, 'events', `AWSEvents.${target}`, input));
  const rule = await call<{ Name?: string; ScheduleExpression?: string; State?: string }>('DescribeRule', {
    Name: name,
  });
  c.add('exists (DescribeRule)', name, rule?.Name);
  if (!rule) return;
  if (props.ScheduleExpression !== undefined)
    c.add('ScheduleExpression', props.ScheduleExpression, rule.ScheduleExpression);
  if (props.State !== undefined) c.add('State', props.State, rule.State);
  type Target = { Id?: string; Arn?: string; DeadLetterConfig?: { Arn?: string }; RetryPolicy?: unknown };
  const listed = await call<{ Targets?: Target[] }>('ListTargetsByRule', { Rule: name });
  for (const want of (props.Targets as Target[] | undefined) ?? []) {
    const got = listed?.Targets?.find((t) => t.Id === want.Id);
    c.add(`Targets ${want.Id} Arn`, want.Arn, got?.Arn);
    if (want.DeadLetterConfig)
      c.add(`Targets ${want.Id} DeadLetterConfig`, want.DeadLetterConfig.Arn, got?.DeadLetterConfig?.Arn);
    if (want.RetryPolicy) c.add(`Targets ${want.Id} RetryPolicy`, want.RetryPolicy, got?.RetryPolicy);
  }
};

const checkTable: ResourceCheck = async (c, _props, { physical: table, clients: { ddb } }) => {
  const t = await attempt(() => ddb.send(new DescribeTableCommand({ TableName: table })));
  c.add('TableStatus', 'ACTIVE', t?.Table?.TableStatus);
};

/**
 * A Lambda permission: its statement in the function's resource policy (GetPolicy), found by action,
 * principal and source ARN, with its conditions. This is how the ingest origin's lock to CloudFront
 * (`lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` for this account's distributions) is read back.
 */
const checkPermission: ResourceCheck = async (c, props, { stack, endpoint }) => {
  const fn = String(props.FunctionName ?? '');
  const statements = await attempt(() => getFunctionPolicyStatements(endpoint, stack.region, fn));
  const principalOf = (s: FunctionPolicyStatement) =>
    typeof s.Principal === 'string' ? s.Principal : (s.Principal?.Service ?? s.Principal?.AWS);
  const sourceArnOf = (s: FunctionPolicyStatement) => s.Condition?.ArnLike?.['AWS:SourceArn'];
  const found = statements?.find(
    (s) =>
      s.Action === props.Action &&
      principalOf(s) === props.Principal &&
      (props.SourceArn === undefined || sourceArnOf(s) === props.SourceArn),
  );
  const label = `${String(props.Action)} for ${String(props.Principal)}`;
  c.add('statement in the function policy (GetPolicy)', label, found ? label : '(none)');
  if (!found) return;
  if (props.SourceArn !== undefined) c.add('SourceArn', props.SourceArn, sourceArnOf(found));
  if (props.SourceAccount !== undefined)
    c.add('SourceAccount', props.SourceAccount, found.Condition?.StringEquals?.['AWS:SourceAccount']);
  // moto keeps these two as the request's fields; Lambda turns them into lambda:* conditions.
  if (props.FunctionUrlAuthType !== undefined)
    c.add(
      'FunctionUrlAuthType',
      props.FunctionUrlAuthType,
      found.Condition?.StringEquals?.['lambda:FunctionUrlAuthType'] ?? found.FunctionUrlAuthType,
    );
  if (props.InvokedViaFunctionUrl !== undefined)
    c.add(
      'InvokedViaFunctionUrl',
      props.InvokedViaFunctionUrl,
      found.Condition?.Bool?.['lambda:InvokedViaFunctionUrl'] ?? found.InvokedViaFunctionUrl,
      String(props.InvokedViaFunctionUrl) ===
        String(found.Condition?.Bool?.['lambda:InvokedViaFunctionUrl'] ?? found.InvokedViaFunctionUrl),
    );
};

/** The checks by resource type; a deployed resource of another type is listed in the inventory only. */
const RESOURCE_CHECKS: Readonly<Record<string, ResourceCheck>> = {
  'AWS::KMS::Key': checkKey,
  'AWS::KMS::Alias': checkAlias,
  'AWS::S3::Bucket': checkBucket,
  'AWS::Lambda::Function': checkFunction,
  'AWS::Lambda::Permission': checkPermission,
  'AWS::SQS::Queue': checkQueue,
  'AWS::Events::Rule': checkRule,
  'AWS::DynamoDB::Table': checkTable,
};

/**
 * The purge functions address buckets and tables of every location by name (names.eventBucket and the
 * like, which carry the account): each name in a purge function's environment must be a bucket or table
 * that got deployed, in the region the job will look for it. Run after every stack's stand-ins exist.
 */
export async function checkPurgeWiring(stacks: readonly DeployedStack[], endpoint: string): Promise<Check[]> {
  const checks: Check[] = [];
  for (const stack of stacks) {
    for (const [id, r] of Object.entries(stack.template.Resources)) {
      const name = stack.physical.get(id);
      if (r.Type !== 'AWS::Lambda::Function' || !name) continue;
      const config = await attempt(() => getFunctionConfiguration(endpoint, stack.region, name));
      const env = config?.Environment?.Variables ?? {};
      if (env.TS_OBJECT_STORE !== 's3') continue;
      const c = new CheckList(stack, id, r.Type);
      const bucketIn = async (variable: string, region: string) => {
        const bucket = env[variable] ?? '';
        const s3 = regionClients(endpoint, region).s3;
        const found = await attempt(() => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })));
        c.add(
          `purge ${variable} is a deployed bucket in ${region}`,
          bucket,
          found ? bucket : '(no such bucket)',
        );
      };
      for (const location of (env.TS_LOCATIONS ?? '').split(',').filter(Boolean)) {
        const region = REGIONS[location as Location]?.aws ?? '?';
        await bucketIn(`TS_EVENT_BUCKET_${location.toUpperCase()}`, region);
      }
      if (env.TS_RECEIPT_STORE === 's3') {
        const region = env.TS_RECEIPTS_REGION ?? '?';
        await bucketIn('TS_RECEIPTS_BUCKET', region);
      }
      // The CDN's config bucket lives in the edge stack (us-east-1).
      if (env.TS_CONFIG_BUCKET) {
        const edge = stacks.find((s) => s.stackName === edgeStackName(env.TS_STAGE as Stage));
        await bucketIn('TS_CONFIG_BUCKET', edge?.region ?? '(no edge stack)');
      }
      if (env.TS_DIRECTORY === 'dynamodb') {
        const region = REGIONS[env.TS_LOCATION as Location]?.aws ?? '?';
        const table = await attempt(() =>
          regionClients(endpoint, region).ddb.send(
            new DescribeTableCommand({ TableName: env.TS_TABLE_NAME }),
          ),
        );
        c.add(
          `purge TS_TABLE_NAME is a table in ${region}`,
          'ACTIVE',
          table?.Table?.TableStatus ?? '(no such table)',
        );
      }
      checks.push(...c.items);
    }
  }
  return checks;
}

/**
 * Creates the stand-ins of one stack's skipped resources and checks its created ones. A resource whose
 * properties cannot be resolved is recorded as a mismatch rather than skipped, so that a gap in the
 * resolver cannot pass for a clean deploy.
 */
export async function checkStack(
  stack: DeployedStack,
  resolver: TemplateResolver,
  endpoint: string,
): Promise<{ checks: Check[]; standIns: StandIn[] }> {
  const checks: Check[] = [];
  const standIns: StandIn[] = [];
  const clients = regionClients(endpoint, stack.region);
  for (const [id, resource] of Object.entries(stack.template.Resources)) {
    let props: Record<string, unknown>;
    try {
      props = (resolver.resolve(resource.Properties ?? {}, stack) ?? {}) as Record<string, unknown>;
    } catch (err) {
      const c = new CheckList(stack, id, resource.Type);
      c.add('(properties)', 'resolvable', (err as Error).message, false);
      checks.push(...c.items);
      continue;
    }
    if (stack.skipped.has(id)) {
      if (resource.Type === 'AWS::KinesisFirehose::DeliveryStream')
        standIns.push(await createStreamStandIn(stack, id, props, clients, checks));
      else if (resource.Type === 'AWS::DynamoDB::GlobalTable')
        standIns.push(...(await createGlobalTableStandIns(stack, id, props, endpoint, checks)));
      continue;
    }
    const physical = stack.physical.get(id);
    const check = RESOURCE_CHECKS[resource.Type];
    if (physical === undefined || !check) continue;
    const c = new CheckList(stack, id, resource.Type);
    await check(c, props, { physical, stack, endpoint, clients });
    checks.push(...c.items);
  }
  return { checks, standIns };
}
