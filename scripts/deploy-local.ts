/**
 * `npm run deploy:local [-- --stage dev] [--keep] [--unpatched] [--verbose]`: deploys every AWS stack of a
 * stage into a local moto_server with the real CDK CLI, checks what got deployed against the synthesized
 * templates, then sends a hit through the ingest service running in this process with the deployed
 * function's environment and reads it back from the deployed bucket.
 *
 * Steps:
 * 1. `synthStage` (scripts/synth.ts): the same synth, cdk-nag and cfn-lint as `npm run synth`, with moto's
 *    account as the stacks' account.
 * 2. moto_server on a free loopback port (`MOTO_ACCOUNT_ID=000000000000`).
 * 3. `cdk bootstrap aws://<account>/<region>` for every region of the stage.
 * 4. A copy of the cloud assembly, adjusted where moto's CloudFormation would fail (see
 *    {@link patchTemplateForMoto}); every adjustment is printed. `--unpatched` deploys the assembly as
 *    synthesized instead.
 * 5. `cdk deploy --all --require-approval never --method=direct --no-previous-parameters` against it.
 * 6. Inventory (CloudFormation ListStackResources): what moto created and what it skipped.
 * 7. Stand-ins for the skipped resources the data path needs (Firehose delivery streams, the DynamoDB
 *    global table), created through their service APIs from the templates' own properties.
 * 8. Checks with the AWS SDK against the templates: keys, buckets, functions, tables, streams, queues,
 *    schedules; and that each purge function's environment names buckets and tables that exist.
 * 9. The data path: seeds the directory, runs the ingest service in-process with each deployed function's
 *    environment, sends a hit, reads the event back from the bucket and decrypts its personal fields.
 *
 * Each workaround's comment names the behaviour of moto (5.2) or of the CDK CLI (2.1148) that it answers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  type CreateDeliveryStreamCommandInput,
} from '@aws-sdk/client-firehose';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { REGIONS, type Location, type Stage } from '../platform';
import { assertMotoInstalled, motoClientConfig, startMoto, type MotoServer } from '../tooling/moto';
import { REPO_ROOT } from '../infra/build/paths';
import { UsageError, parseCommandLine } from '../services/shared/cli';
import {
  formatLintMatches,
  formatNagFindings,
  formatSeconds,
  formatTimings,
  parseStageArg,
  synthStage,
  type SynthResult,
  type SynthesizedStack,
} from './synth';

/** The account moto reports (`MOTO_ACCOUNT_ID`); the stacks are synthesized for it. */
export const MOTO_ACCOUNT = '000000000000';

/** Usage of the command line. */
export const DEPLOY_LOCAL_USAGE = `Usage: npm run deploy:local [-- --stage <dev|staging|prod>] [--keep] [--unpatched] [--verbose]

Deploys every AWS stack of the stage into a local moto_server with the CDK CLI (bootstrap, then
deploy --all), checks the deployed resources against the synthesized templates, and sends a hit through
the ingest service running with the deployed function's environment.

  --stage <stage>  stage to deploy (default: dev)
  --keep           leave moto running (until Ctrl-C) and print its endpoint
  --unpatched      deploy the assembly exactly as synthesized (expect moto to fail; see the report)
  --verbose        print the CDK CLI's output
  --help           show this help`;

/** Parsed command line of `npm run deploy:local`. */
export interface DeployLocalArgs {
  readonly stage: Stage;
  readonly keep: boolean;
  readonly unpatched: boolean;
  readonly verbose: boolean;
  readonly help: boolean;
}

/** Parses the command line. @throws UsageError on an unknown flag or a bad value */
export function parseDeployLocalArgs(argv: readonly string[]): DeployLocalArgs {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        stage: { type: 'string', short: 's' },
        keep: { type: 'boolean' },
        unpatched: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    return {
      stage: parseStageArg(values.stage),
      keep: values.keep ?? false,
      unpatched: values.unpatched ?? false,
      verbose: values.verbose ?? false,
      help: values.help ?? false,
    };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Templates: the CloudFormation subset this file reads, and moto's support for it
// ---------------------------------------------------------------------------------------------------------

/** A CloudFormation resource as CDK synthesizes it. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  [key: string]: unknown;
}

/** A CloudFormation template as CDK synthesizes it (JSON). */
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, { Default?: unknown }>;
  [key: string]: unknown;
}

/**
 * Resource types that moto 5.2's CloudFormation creates (`moto.cloudformation.parsing.get_model_map`).
 * Used only when the Python that runs moto cannot be asked (see {@link motoCloudFormationTypes}).
 */
const MOTO_CFN_TYPES_FALLBACK: Record<string, readonly string[]> = {
  ApiGateway: ['Deployment', 'Method', 'Resource', 'RestApi'],
  AutoScaling: ['AutoScalingGroup', 'LaunchConfiguration', 'ScheduledAction'],
  Batch: ['ComputeEnvironment', 'JobDefinition', 'JobQueue'],
  CloudFormation: ['Stack'],
  CloudWatch: ['Dashboard'],
  DataPipeline: ['Pipeline'],
  DynamoDB: ['Table'],
  // prettier-ignore
  EC2: [
    'EIP', 'FlowLog', 'Instance', 'InternetGateway', 'LaunchTemplate', 'NatGateway', 'NetworkInterface',
    'Route', 'RouteTable', 'SecurityGroup', 'SecurityGroupIngress', 'SpotFleet', 'Subnet',
    'SubnetRouteTableAssociation', 'TransitGateway', 'VPC', 'VPCEndpoint', 'VPCGatewayAttachment',
    'VPCPeeringConnection', 'VPNGateway', 'Volume', 'VolumeAttachment',
  ],
  ECR: ['Repository'],
  ECS: ['Cluster', 'Service', 'TaskDefinition'],
  EFS: ['AccessPoint', 'FileSystem', 'MountTarget'],
  EMR: ['Cluster', 'InstanceGroupConfig', 'SecurityConfiguration'],
  ElasticLoadBalancing: ['LoadBalancer'],
  ElasticLoadBalancingV2: ['Listener', 'ListenerRule', 'LoadBalancer', 'TargetGroup'],
  Events: ['Archive', 'EventBus', 'Rule'],
  IAM: ['AccessKey', 'InstanceProfile', 'ManagedPolicy', 'Policy', 'Role', 'User'],
  IoT: ['BillingGroup', 'JobTemplate', 'Policy', 'RoleAlias', 'Thing', 'ThingType'],
  KMS: ['Alias', 'Key'],
  Kinesis: ['Stream'],
  Lambda: ['EventSourceMapping', 'Function', 'LayerVersion', 'Permission', 'Version'],
  Logs: ['LogGroup', 'ResourcePolicy'],
  RDS: ['DBInstance', 'DBParameterGroup', 'DBSecurityGroup', 'DBSubnetGroup'],
  Redshift: ['Cluster', 'ClusterParameterGroup', 'ClusterSubnetGroup'],
  Route53: ['HealthCheck', 'HostedZone', 'RecordSet', 'RecordSetGroup'],
  S3: ['Bucket'],
  SNS: ['Topic'],
  SQS: ['Queue'],
  SSM: ['Document', 'Parameter'],
  SageMaker: ['Endpoint', 'EndpointConfig', 'Model', 'NotebookInstance', 'NotebookInstanceLifecycleConfig'],
  StepFunctions: ['StateMachine'],
};

/** Types moto ignores on purpose, without a warning. */
const MOTO_NULL_TYPE = 'AWS::CloudFormation::WaitConditionHandle';

/**
 * The resource types that the installed moto's CloudFormation creates. Asks the Python that has moto
 * (so the answer follows moto upgrades); falls back to moto 5.2's list.
 */
export function motoCloudFormationTypes(): { types: Set<string>; source: string } {
  const code =
    'import json; from moto.cloudformation.parsing import get_model_map; ' +
    'print(json.dumps(sorted(t for t in get_model_map() if t.startswith("AWS::"))))';
  for (const python of ['python3', 'python']) {
    const run = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 30_000 });
    if (run.status === 0) {
      try {
        return { types: new Set(JSON.parse(run.stdout) as string[]), source: `${python} (installed moto)` };
      } catch {
        // not moto's answer; try the next interpreter
      }
    }
  }
  const types = new Set<string>();
  for (const [service, kinds] of Object.entries(MOTO_CFN_TYPES_FALLBACK))
    for (const kind of kinds) types.add(`AWS::${service}::${kind}`);
  return { types, source: 'built-in list of moto 5.2' };
}

/** Where a template is deployed: what pseudo parameters and ARNs resolve to. */
export interface StackPlace {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
}

/** For skipped types: the property holding the resource's name, and how its ARN is built from it. */
const SKIPPED_TYPE_NAMES: Record<
  string,
  { nameProperty: string; arn?: (p: StackPlace, name: string) => string }
> = {
  'AWS::KinesisFirehose::DeliveryStream': {
    nameProperty: 'DeliveryStreamName',
    arn: (p, n) => `arn:aws:firehose:${p.region}:${p.account}:deliverystream/${n}`,
  },
  'AWS::DynamoDB::GlobalTable': {
    nameProperty: 'TableName',
    arn: (p, n) => `arn:aws:dynamodb:${p.region}:${p.account}:table/${n}`,
  },
  'AWS::SecretsManager::Secret': {
    nameProperty: 'Name',
    arn: (p, n) => `arn:aws:secretsmanager:${p.region}:${p.account}:secret:${n}`,
  },
  'AWS::Logs::LogStream': { nameProperty: 'LogStreamName' },
  'AWS::CloudWatch::Alarm': {
    nameProperty: 'AlarmName',
    arn: (p, n) => `arn:aws:cloudwatch:${p.region}:${p.account}:alarm:${n}`,
  },
  'AWS::SNS::Topic': { nameProperty: 'TopicName' },
};

/** The name a skipped resource would have: its literal name property, else its logical id. */
function skippedName(logicalId: string, resource: CfnResource): string {
  const prop = SKIPPED_TYPE_NAMES[resource.Type]?.nameProperty;
  const value = prop ? resource.Properties?.[prop] : undefined;
  return typeof value === 'string' ? value : logicalId;
}

/** What `Ref` to a resource that moto did not create returns on AWS, as far as the template tells. */
export function skippedRef(logicalId: string, resource: CfnResource, place: StackPlace): string {
  const name = skippedName(logicalId, resource);
  // Secrets Manager's Ref is the ARN, not the name.
  if (resource.Type === 'AWS::SecretsManager::Secret')
    return skippedGetAtt(logicalId, resource, 'Arn', place);
  return name;
}

/** What `Fn::GetAtt` on a resource that moto did not create returns on AWS, or a recognizable stand-in. */
export function skippedGetAtt(
  logicalId: string,
  resource: CfnResource,
  attr: string,
  place: StackPlace,
): string {
  const name = skippedName(logicalId, resource);
  const known = SKIPPED_TYPE_NAMES[resource.Type];
  if (attr === 'Arn' && known?.arn) return known.arn(place, name);
  if (attr === 'FunctionUrl') return `https://${logicalId.toLowerCase()}.lambda-url.${place.region}.on.aws/`;
  if (attr === 'DomainName' && resource.Type === 'AWS::CloudFront::Distribution')
    return `${logicalId.toLowerCase()}.cloudfront.net`;
  if (attr.endsWith('Arn')) {
    // A syntactically valid ARN, because moto validates ARNs in IAM policies.
    const service = resource.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
    return `arn:aws:${service}:${place.region}:${place.account}:moto-skipped/${logicalId}/${attr}`;
  }
  return `moto-skipped-${logicalId}-${attr}`;
}

/** One change {@link patchTemplateForMoto} made, for the report. */
export interface MotoPatch {
  readonly logicalId: string;
  readonly type: string;
  /** What changed and why. */
  readonly change: string;
}

/** Result of {@link patchTemplateForMoto}. */
export interface PatchedTemplate {
  readonly template: CfnTemplate;
  readonly patches: readonly MotoPatch[];
  /** Resources moto's CloudFormation will not create: logical id → type. */
  readonly skipped: ReadonlyMap<string, string>;
}

function getAttParts(value: unknown): [string, string] | undefined {
  if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string')
    return [value[0], value[1]];
  if (typeof value === 'string' && value.includes('.')) {
    const dot = value.indexOf('.');
    return [value.slice(0, dot), value.slice(dot + 1)];
  }
  return undefined;
}

/**
 * Adjusts a template so that moto's CloudFormation can deploy it, changing nothing that moto would honour:
 * - `Ref` and `Fn::GetAtt` (also inside `Fn::Sub`) to a resource of a type moto skips become the literal
 *   value AWS would return (name, ARN built from the name) — moto fails the whole stack on a GetAtt to a
 *   skipped resource ("Template error: instance of Fn::GetAtt references undefined resource") and silently
 *   drops any property whose Ref points at one.
 * - `Custom::*` resources become no-ops: moto would invoke their provider Lambda in Docker and the stack
 *   would wait forever for the response.
 * - A KMS key's `KeyPolicy` object is wrapped in `Fn::ToJsonString`: moto keeps an object policy as a
 *   dict and then fails DescribeKey (HTTP 500) on the key.
 */
export function patchTemplateForMoto(
  template: CfnTemplate,
  place: StackPlace,
  supportedTypes: ReadonlySet<string>,
): PatchedTemplate {
  const out = structuredClone(template);
  const patches: MotoPatch[] = [];
  const skipped = new Map<string, string>();
  const stubbed = new Set<string>();
  for (const [id, r] of Object.entries(out.Resources)) {
    if (r.Type.startsWith('Custom::')) stubbed.add(id);
    else if (!supportedTypes.has(r.Type) && r.Type !== MOTO_NULL_TYPE) skipped.set(id, r.Type);
  }
  const original = template.Resources;
  const seen = new Set<string>();
  const note = (logicalId: string, change: string) => {
    const key = `${logicalId} ${change}`;
    if (seen.has(key)) return;
    seen.add(key);
    patches.push({ logicalId, type: original[logicalId]?.Type ?? '?', change });
  };
  const literalRef = (id: string): string | undefined => {
    const r = original[id];
    if (!r || !(skipped.has(id) || stubbed.has(id))) return undefined;
    const value = stubbed.has(id) ? `moto-stubbed-${id}` : skippedRef(id, r, place);
    note(id, `Ref → "${value}"`);
    return value;
  };
  const literalGetAtt = (id: string, attr: string): string | undefined => {
    const r = original[id];
    if (!r || !(skipped.has(id) || stubbed.has(id))) return undefined;
    const value = stubbed.has(id) ? `moto-stubbed-${id}-${attr}` : skippedGetAtt(id, r, attr, place);
    note(id, `GetAtt ${attr} → "${value}"`);
    return value;
  };
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && typeof obj.Ref === 'string') return literalRef(obj.Ref) ?? obj;
    if (keys.length === 1 && 'Fn::GetAtt' in obj) {
      const parts = getAttParts(obj['Fn::GetAtt']);
      const literal = parts ? literalGetAtt(parts[0], parts[1]) : undefined;
      if (literal !== undefined) return literal;
    }
    if (keys.length === 1 && 'Fn::Sub' in obj) {
      const sub = obj['Fn::Sub'];
      const replace = (s: string) =>
        s.replace(
          /\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}/g,
          (whole, id: string, attr?: string) => (attr ? literalGetAtt(id, attr) : literalRef(id)) ?? whole,
        );
      if (typeof sub === 'string') return { 'Fn::Sub': replace(sub) };
      if (Array.isArray(sub) && typeof sub[0] === 'string')
        return { 'Fn::Sub': [replace(sub[0]), walk(sub[1])] };
    }
    return Object.fromEntries(keys.map((k) => [k, walk(obj[k])]));
  };
  out.Resources = walk(out.Resources) as CfnTemplate['Resources'];
  if (out.Outputs) out.Outputs = walk(out.Outputs) as CfnTemplate['Outputs'];
  if (out.Conditions) out.Conditions = walk(out.Conditions) as CfnTemplate['Conditions'];

  for (const id of stubbed) {
    const r = out.Resources[id];
    if (!r) continue;
    note(id, `replaced by ${MOTO_NULL_TYPE}: moto would run its provider Lambda in Docker and never finish`);
    out.Resources[id] = { Type: MOTO_NULL_TYPE, ...(r.DependsOn ? { DependsOn: r.DependsOn } : {}) };
  }
  for (const [id, r] of Object.entries(out.Resources)) {
    const policy = r.Properties?.KeyPolicy;
    if (
      r.Type === 'AWS::KMS::Key' &&
      policy &&
      typeof policy === 'object' &&
      !('Fn::ToJsonString' in policy)
    ) {
      r.Properties = { ...r.Properties, KeyPolicy: { 'Fn::ToJsonString': policy } };
      note(
        id,
        'KeyPolicy wrapped in Fn::ToJsonString (moto stores an object policy as a dict and DescribeKey fails)',
      );
    }
  }
  return { template: out, patches, skipped };
}

// ---------------------------------------------------------------------------------------------------------
// Resolving template values against what got deployed
// ---------------------------------------------------------------------------------------------------------

/** A deployed stack: its template and the physical ids moto reported. */
export interface DeployedStack extends StackPlace {
  readonly id: string;
  /** The template as synthesized (not the moto-patched copy). */
  readonly template: CfnTemplate;
  /** Logical id → physical id of every resource moto created. */
  readonly physical: ReadonlyMap<string, string>;
  /** Logical id → type of every resource moto did not create. */
  readonly skipped: ReadonlyMap<string, string>;
}

/** Thrown when a template value cannot be worked out from what was deployed. */
export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves CloudFormation intrinsics in a template value to what they mean in the deployment: Ref,
 * Fn::GetAtt (for the types in our templates), Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If with simple
 * conditions, Fn::ImportValue, Fn::ToJsonString, Fn::Base64, and the pseudo parameters.
 */
export class TemplateResolver {
  private readonly exports = new Map<string, unknown>();

  constructor(private readonly stacks: readonly DeployedStack[]) {
    for (const stack of stacks)
      for (const output of Object.values(stack.template.Outputs ?? {})) {
        if (!output.Export) continue;
        try {
          this.exports.set(String(this.resolve(output.Export.Name, stack)), output.Value);
        } catch {
          // an export we cannot name cannot be imported by us either
        }
      }
  }

  /** The resolved value. @throws UnresolvableError */
  resolve(value: unknown, stack: DeployedStack): unknown {
    const v = this.walk(value, stack);
    return v === NO_VALUE ? undefined : v;
  }

  private walk(value: unknown, stack: DeployedStack): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v, stack)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const [fn, ...rest] = Object.keys(obj);
    if (fn !== undefined && rest.length === 0) {
      const arg = obj[fn];
      switch (fn) {
        case 'Ref':
          return this.ref(String(arg), stack);
        case 'Fn::GetAtt': {
          const parts = getAttParts(arg);
          if (!parts) throw new UnresolvableError(`malformed Fn::GetAtt ${JSON.stringify(arg)}`);
          return this.getAtt(parts[0], parts[1], stack);
        }
        case 'Fn::Join': {
          const [sep, items] = arg as [string, unknown];
          const list = this.walk(items, stack);
          if (!Array.isArray(list)) throw new UnresolvableError('Fn::Join of a non-list');
          return list.map(String).join(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] =
            typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
          const resolvedVars = this.walk(vars, stack) as Record<string, unknown>;
          return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
            if (name in resolvedVars) return String(resolvedVars[name]);
            const dot = name.indexOf('.');
            return String(
              dot > 0 ? this.getAtt(name.slice(0, dot), name.slice(dot + 1), stack) : this.ref(name, stack),
            );
          });
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          const items = this.walk(list, stack);
          if (!Array.isArray(items)) throw new UnresolvableError('Fn::Select from a non-list');
          return items[Number(this.walk(index, stack))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, unknown];
          return String(this.walk(text, stack)).split(sep);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
          return this.walk(this.condition(condition, stack) ? whenTrue : whenFalse, stack);
        }
        case 'Fn::ImportValue': {
          const name = String(this.walk(arg, stack));
          const exporter = this.stacks.find((s) =>
            Object.values(s.template.Outputs ?? {}).some(
              (o) => o.Export && this.tryResolve(o.Export.Name, s) === name,
            ),
          );
          if (!exporter || !this.exports.has(name)) throw new UnresolvableError(`no export named ${name}`);
          return this.walk(this.exports.get(name), exporter);
        }
        case 'Fn::ToJsonString':
          return JSON.stringify(this.walk(arg, stack));
        case 'Fn::Base64':
          return Buffer.from(String(this.walk(arg, stack))).toString('base64');
        case 'Fn::GetAZs':
        case 'Fn::Cidr':
        case 'Fn::FindInMap':
          throw new UnresolvableError(`${fn} is not supported here`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const r = this.walk(v, stack);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private tryResolve(value: unknown, stack: DeployedStack): unknown {
    try {
      return this.resolve(value, stack);
    } catch {
      return undefined;
    }
  }

  private condition(name: string, stack: DeployedStack): boolean {
    const evaluate = (expr: unknown): boolean => {
      const obj = expr as Record<string, unknown>;
      if ('Condition' in obj) return this.condition(String(obj.Condition), stack);
      if ('Fn::Equals' in obj) {
        const [a, b] = obj['Fn::Equals'] as [unknown, unknown];
        return JSON.stringify(this.walk(a, stack)) === JSON.stringify(this.walk(b, stack));
      }
      if ('Fn::Not' in obj) return !evaluate((obj['Fn::Not'] as unknown[])[0]);
      if ('Fn::And' in obj) return (obj['Fn::And'] as unknown[]).every(evaluate);
      if ('Fn::Or' in obj) return (obj['Fn::Or'] as unknown[]).some(evaluate);
      throw new UnresolvableError(`condition ${name}: unsupported expression ${JSON.stringify(expr)}`);
    };
    const expr = stack.template.Conditions?.[name];
    if (expr === undefined) throw new UnresolvableError(`no condition ${name} in ${stack.id}`);
    return evaluate(expr);
  }

  private ref(name: string, stack: DeployedStack): unknown {
    switch (name) {
      case 'AWS::AccountId':
        return stack.account;
      case 'AWS::Region':
        return stack.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const resource = stack.template.Resources[name];
    if (!resource) {
      const param = stack.template.Parameters?.[name];
      if (param?.Default !== undefined) return param.Default;
      throw new UnresolvableError(`Ref to unknown ${name} in ${stack.id}`);
    }
    const physical = stack.physical.get(name);
    if (physical !== undefined) return physical;
    if (stack.skipped.has(name)) return skippedRef(name, resource, stack);
    throw new UnresolvableError(`${name} (${resource.Type}) was not deployed in ${stack.id}`);
  }

  private getAtt(id: string, attr: string, stack: DeployedStack): unknown {
    const resource = stack.template.Resources[id];
    if (!resource) throw new UnresolvableError(`GetAtt on unknown ${id} in ${stack.id}`);
    if (stack.skipped.has(id)) return skippedGetAtt(id, resource, attr, stack);
    const p = stack.physical.get(id);
    if (p === undefined)
      throw new UnresolvableError(`${id} (${resource.Type}) was not deployed in ${stack.id}`);
    const { region: r, account: a } = stack;
    const arns: Record<string, string> = {
      'AWS::KMS::Key': `arn:aws:kms:${r}:${a}:key/${p}`,
      'AWS::S3::Bucket': `arn:aws:s3:::${p}`,
      'AWS::IAM::Role': `arn:aws:iam::${a}:role/${p}`,
      'AWS::IAM::ManagedPolicy': p,
      'AWS::Lambda::Function': `arn:aws:lambda:${r}:${a}:function:${p}`,
      'AWS::Logs::LogGroup': `arn:aws:logs:${r}:${a}:log-group:${p}:*`,
      'AWS::SNS::Topic': p,
      'AWS::SQS::Queue': `arn:aws:sqs:${r}:${a}:${p.split('/').pop() ?? p}`,
      'AWS::DynamoDB::Table': `arn:aws:dynamodb:${r}:${a}:table/${p}`,
      'AWS::Events::Rule': `arn:aws:events:${r}:${a}:rule/${p}`,
    };
    if ((attr === 'Arn' || attr === 'PolicyArn' || attr === 'TopicArn') && arns[resource.Type])
      return arns[resource.Type];
    if (resource.Type === 'AWS::KMS::Key' && attr === 'KeyId') return p;
    if (resource.Type === 'AWS::SNS::Topic' && attr === 'TopicName') return p.split(':').pop();
    // A queue's physical id is its URL.
    if (resource.Type === 'AWS::SQS::Queue' && attr === 'QueueName') return p.split('/').pop();
    if (resource.Type === 'AWS::SQS::Queue' && attr === 'QueueUrl') return p;
    if (resource.Type === 'AWS::S3::Bucket' && attr === 'DomainName') return `${p}.s3.amazonaws.com`;
    if (resource.Type === 'AWS::S3::Bucket' && attr === 'RegionalDomainName')
      return `${p}.s3.${r}.amazonaws.com`;
    throw new UnresolvableError(`GetAtt ${id}.${attr} (${resource.Type}) is not known here`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// moto's CloudFormation and Lambda APIs, without their SDK clients
// ---------------------------------------------------------------------------------------------------------

/**
 * An Authorization header that routes a request to a region and service in moto. moto does not verify
 * signatures, so this stands in for SigV4: the project has no CloudFormation or Lambda SDK client (see the
 * report), and only moto ever sees these requests.
 */
function motoAuth(region: string, service: string): string {
  return `AWS4-HMAC-SHA256 Credential=testing/20200101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

/** A resource of a stack, as moto's CloudFormation lists it. */
export interface StackResourceSummary {
  readonly logicalId: string;
  readonly physicalId: string;
  readonly type: string;
  readonly status: string;
}

function xmlText(xml: string, tag: string): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return (m?.[1] ?? '').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'); // prettier-ignore
}

/**
 * CloudFormation ListStackResources against moto. moto lists the resources it skipped as entries with an
 * empty logical id; those are dropped here (the template says which they were).
 */
export async function listStackResources(
  endpoint: string,
  region: string,
  stackName: string,
): Promise<StackResourceSummary[]> {
  const out: StackResourceSummary[] = [];
  let token = '';
  do {
    const body = new URLSearchParams({
      Action: 'ListStackResources',
      Version: '2010-05-15',
      StackName: stackName,
    });
    if (token) body.set('NextToken', token);
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: motoAuth(region, 'cloudformation'),
      },
      body,
    });
    const xml = await res.text();
    if (!res.ok)
      throw new Error(
        `ListStackResources ${stackName} in ${region}: HTTP ${res.status} ${xml.slice(0, 300)}`,
      );
    const list = xmlText(xml, 'StackResourceSummaries');
    for (const m of list.matchAll(/<member>([\s\S]*?)<\/member>/g)) {
      const member = m[1] ?? '';
      const logicalId = xmlText(member, 'LogicalResourceId');
      if (!logicalId) continue;
      out.push({
        logicalId,
        physicalId: xmlText(member, 'PhysicalResourceId'),
        type: xmlText(member, 'ResourceType'),
        status: xmlText(member, 'ResourceStatus'),
      });
    }
    token = xmlText(xml, 'NextToken');
  } while (token);
  return out;
}

/** The parts of Lambda's GetFunctionConfiguration that the checks read. */
export interface FunctionConfiguration {
  FunctionName: string;
  Runtime?: string;
  Handler?: string;
  MemorySize?: number;
  Timeout?: number;
  Role?: string;
  Architectures?: string[];
  TracingConfig?: { Mode?: string };
  LoggingConfig?: { LogFormat?: string; LogGroup?: string } | null;
  Environment?: { Variables?: Record<string, string> };
  DeadLetterConfig?: { TargetArn?: string } | null;
}

async function motoLambdaGet<T>(endpoint: string, region: string, path: string): Promise<T> {
  const res = await fetch(`${endpoint}${path}`, { headers: { authorization: motoAuth(region, 'lambda') } });
  const text = await res.text();
  if (!res.ok) throw new Error(`Lambda GET ${path} in ${region}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Lambda GetFunctionConfiguration against moto. */
export function getFunctionConfiguration(
  endpoint: string,
  region: string,
  name: string,
): Promise<FunctionConfiguration> {
  return motoLambdaGet(endpoint, region, `/2015-03-31/functions/${encodeURIComponent(name)}/configuration`);
}

/** Lambda GetFunctionConcurrency against moto. */
export async function getFunctionConcurrency(
  endpoint: string,
  region: string,
  name: string,
): Promise<number | undefined> {
  const out = await motoLambdaGet<{ ReservedConcurrentExecutions?: number }>(
    endpoint,
    region,
    `/2019-09-30/functions/${encodeURIComponent(name)}/concurrency`,
  );
  return out.ReservedConcurrentExecutions;
}

/**
 * One call of a JSON-protocol API (EventBridge, SQS) against moto, for which the project has no SDK client.
 * @param target e.g. `AWSEvents.DescribeRule` or `AmazonSQS.GetQueueAttributes`
 */
export async function motoJsonCall<T>(
  endpoint: string,
  region: string,
  service: string,
  target: string,
  input: Record<string, unknown>,
  jsonVersion = '1.1',
): Promise<T> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': `application/x-amz-json-${jsonVersion}`,
      'x-amz-target': target,
      authorization: motoAuth(region, service),
    },
    body: JSON.stringify(input),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${target} in ${region}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

// ---------------------------------------------------------------------------------------------------------
// The CDK CLI
// ---------------------------------------------------------------------------------------------------------

/** Environment of the CDK CLI: moto's endpoint, dummy credentials, nothing from the developer's profile. */
export function cdkCliEnv(endpoint: string, scratchDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A developer's profile, session or per-service endpoint must not send a request past moto.
    if (/^AWS_/.test(k) || k === 'CDK_DEFAULT_ACCOUNT' || k === 'CDK_DEFAULT_REGION') continue;
    env[k] = v;
  }
  const port = new URL(endpoint).port;
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    // The CLI hands CloudFormation a template URL built from this endpoint; moto finds the bucket in the
    // URL's path only when the host contains "localhost" (with 127.0.0.1 it reads "127" as the bucket).
    AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: `http://localhost:${port}`,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(scratchDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratchDir, 'no-aws-credentials'),
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CI: 'true',
    FORCE_COLOR: '0',
    // The SDK's "Node.js 22 will be required" notice, once per CLI run, is not news here.
    NODE_NO_WARNINGS: '1',
  };
}

/** Output of one CDK CLI run. */
export interface CliRun {
  readonly args: readonly string[];
  readonly output: string;
  readonly ms: number;
}

/**
 * Runs the project's CDK CLI (`node_modules/aws-cdk`) and resolves with its output.
 * @throws Error with the output's tail when it exits non-zero, times out or is aborted
 */
export function runCdk(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { signal?: AbortSignal; timeoutMs?: number; onOutput?: (chunk: string) => void } = {},
): Promise<CliRun> {
  const start = performance.now();
  const cdk = require.resolve('aws-cdk/bin/cdk');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cdk, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (d: Buffer) => {
      const s = d.toString();
      output += s;
      options.onOutput?.(s);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let why = '';
    const stop = (reason: string) => {
      why = reason;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
    };
    // A CloudFormation stack that never completes would otherwise keep `cdk deploy` polling forever.
    const timer = setTimeout(
      () => stop(`timed out after ${(options.timeoutMs ?? 300_000) / 1000} s`),
      options.timeoutMs ?? 300_000,
    );
    const onAbort = () => stop('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const run = { args, output, ms: performance.now() - start };
      if (code === 0 && !why) return resolvePromise(run);
      const tail = output.split('\n').slice(-40).join('\n');
      reject(
        new Error(
          `cdk ${args[0]} ${why || (signal ? `killed by ${signal}` : `exited with ${code}`)}:\n${tail}`,
        ),
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Checks: deployed state against the templates
// ---------------------------------------------------------------------------------------------------------

/** `ok`: as the template says; `not-applied`: a property moto is known to ignore; `mismatch`: a failure. */
export type CheckStatus = 'ok' | 'not-applied' | 'mismatch';

/** One comparison of a deployed property with its template. */
export interface Check {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  /** The template property (or aspect) checked. */
  readonly property: string;
  readonly expected: string;
  readonly actual: string;
  readonly status: CheckStatus;
  /** For stand-ins: deploy-local created the resource, not CloudFormation. */
  readonly standIn?: boolean;
}

/**
 * Template properties that moto 5.2's CloudFormation does not apply (found by deploying and reading back;
 * its S3 handler applies only BucketName, BucketEncryption and Tags, so not Object Lock either; its Lambda
 * handler ignores Architectures, TracingConfig, LoggingConfig and DeadLetterConfig). A difference here is
 * moto's, not the template's.
 */
export const MOTO_IGNORED_PROPERTIES: ReadonlySet<string> = new Set([
  'AWS::S3::Bucket BucketKeyEnabled',
  'AWS::S3::Bucket VersioningConfiguration',
  'AWS::S3::Bucket LifecycleConfiguration',
  'AWS::S3::Bucket LoggingConfiguration',
  'AWS::S3::Bucket PublicAccessBlockConfiguration',
  'AWS::S3::Bucket ObjectLockConfiguration',
  'AWS::Lambda::Function Architectures',
  'AWS::Lambda::Function TracingConfig',
  'AWS::Lambda::Function LoggingConfig',
  'AWS::Lambda::Function DeadLetterConfig',
]);

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function attempt<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch {
    return undefined;
  }
}

class CheckList {
  readonly items: Check[] = [];
  constructor(
    private readonly stack: DeployedStack,
    private readonly logicalId: string,
    private readonly type: string,
    private readonly standIn = false,
  ) {}
  /** Records one comparison; by default it passes when both sides are equal as JSON. */
  add(property: string, expected: unknown, actual: unknown, pass = sameJson(expected, actual)): void {
    const ignored = MOTO_IGNORED_PROPERTIES.has(`${this.type} ${property}`);
    this.items.push({
      stack: this.stack.id,
      logicalId: this.logicalId,
      type: this.type,
      property,
      expected: show(expected),
      actual: show(actual),
      status: pass ? 'ok' : ignored ? 'not-applied' : 'mismatch',
      ...(this.standIn ? { standIn: true } : {}),
    });
  }
}

/** Clients of one region, pointed at moto. */
interface RegionClients {
  readonly kms: KMSClient;
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
  readonly firehose: FirehoseClient;
}

function regionClients(endpoint: string, region: string): RegionClients {
  const config = motoClientConfig(endpoint, region);
  return {
    kms: new KMSClient(config),
    s3: new S3Client(config),
    ddb: new DynamoDBClient(config),
    firehose: new FirehoseClient(config),
  };
}

/** The key id behind a key id, key ARN, alias name or alias ARN, in the clients' region. */
async function keyIdOf(kms: KMSClient, ref: string): Promise<string | undefined> {
  const alias = /(alias\/.+)$/.exec(ref)?.[1];
  if (!alias) return ref.split('/').pop();
  let marker: string | undefined;
  do {
    const page = await kms.send(new ListAliasesCommand({ Marker: marker }));
    const hit = page.Aliases?.find((a) => a.AliasName === alias);
    if (hit) return hit.TargetKeyId;
    marker = page.NextMarker;
  } while (marker);
  return undefined;
}

async function checkKey(c: CheckList, props: Record<string, unknown>, keyId: string, kms: KMSClient) {
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
}

async function checkBucket(c: CheckList, props: Record<string, unknown>, bucket: string, s3: S3Client) {
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
}

async function checkFunction(
  c: CheckList,
  props: Record<string, unknown>,
  name: string,
  stack: DeployedStack,
  endpoint: string,
): Promise<void> {
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
}

async function checkQueue(
  c: CheckList,
  props: Record<string, unknown>,
  url: string,
  stack: DeployedStack,
  endpoint: string,
): Promise<void> {
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
}

async function checkRule(
  c: CheckList,
  props: Record<string, unknown>,
  name: string,
  stack: DeployedStack,
  endpoint: string,
): Promise<void> {
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
}

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

// ---------------------------------------------------------------------------------------------------------
// Stand-ins for what moto's CloudFormation skips but the data path needs
// ---------------------------------------------------------------------------------------------------------

/** A resource deploy-local created through its service API because moto's CloudFormation skipped it. */
export interface StandIn {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly region: string;
  readonly name: string;
}

async function createStreamStandIn(
  stack: DeployedStack,
  logicalId: string,
  props: Record<string, unknown>,
  clients: RegionClients,
  checks: Check[],
): Promise<StandIn> {
  // CloudFormation's property names for a delivery stream are the API's, so the resolved properties are the
  // request; only the API's tag list is shaped differently and left out.
  const { Tags: _tags, ...input } = props;
  await clients.firehose.send(
    new CreateDeliveryStreamCommand(input as unknown as CreateDeliveryStreamCommandInput),
  );
  const name = String(props.DeliveryStreamName);
  const out = await clients.firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }));
  const d = out.DeliveryStreamDescription;
  const c = new CheckList(stack, logicalId, 'AWS::KinesisFirehose::DeliveryStream', true);
  const s3 = props.ExtendedS3DestinationConfiguration as Record<string, unknown> | undefined;
  const dest = d?.Destinations?.[0]?.ExtendedS3DestinationDescription;
  c.add('DeliveryStreamStatus', 'ACTIVE', d?.DeliveryStreamStatus);
  c.add('ExtendedS3 BucketARN', s3?.BucketARN, dest?.BucketARN);
  c.add('ExtendedS3 Prefix', s3?.Prefix, dest?.Prefix);
  const bucket = String(s3?.BucketARN ?? '').replace(/^arn:aws:s3:::/, '');
  const head = await attempt(() => clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })));
  c.add('destination bucket exists (deployed)', bucket, head ? bucket : undefined, !!head);
  const cmk = (props.DeliveryStreamEncryptionConfigurationInput as { KeyARN?: string } | undefined)?.KeyARN;
  if (cmk) {
    const keyId = await attempt(() => keyIdOf(clients.kms, cmk));
    c.add('encryption key exists (deployed)', cmk, keyId, !!keyId);
  }
  checks.push(...c.items);
  return {
    stack: stack.id,
    logicalId,
    type: 'AWS::KinesisFirehose::DeliveryStream',
    region: stack.region,
    name,
  };
}

async function createGlobalTableStandIns(
  stack: DeployedStack,
  logicalId: string,
  props: Record<string, unknown>,
  endpoint: string,
  checks: Check[],
): Promise<StandIn[]> {
  type Replica = {
    Region: string;
    SSESpecification?: { KMSMasterKeyId?: string };
    PointInTimeRecoverySpecification?: {
      PointInTimeRecoveryEnabled?: boolean;
      RecoveryPeriodInDays?: number;
    };
    DeletionProtectionEnabled?: boolean;
  };
  const replicas = (props.Replicas as Replica[] | undefined) ?? [{ Region: stack.region }];
  const sse = props.SSESpecification as { SSEEnabled?: boolean; SSEType?: string } | undefined;
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
  const tableName = String(props.TableName);
  const standIns: StandIn[] = [];
  // moto has no global tables (UpdateTable ReplicaUpdates is accepted and does nothing), so every replica
  // becomes its own regional table, encrypted as the template says for that region.
  for (const replica of replicas) {
    const clients = regionClients(endpoint, replica.Region);
    const input: CreateTableCommandInput = {
      TableName: tableName,
      AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
      KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
      BillingMode: (props.BillingMode as CreateTableCommandInput['BillingMode']) ?? 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes:
        props.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
      StreamSpecification: stream?.StreamViewType
        ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES' }
        : undefined,
      SSESpecification: sse?.SSEEnabled
        ? { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: replica.SSESpecification?.KMSMasterKeyId }
        : undefined,
      DeletionProtectionEnabled: replica.DeletionProtectionEnabled,
    };
    await clients.ddb.send(new CreateTableCommand(input));
    const pitr = replica.PointInTimeRecoverySpecification;
    if (pitr?.PointInTimeRecoveryEnabled)
      await clients.ddb.send(
        new UpdateContinuousBackupsCommand({
          TableName: tableName,
          PointInTimeRecoverySpecification: {
            PointInTimeRecoveryEnabled: true,
            RecoveryPeriodInDays: pitr.RecoveryPeriodInDays,
          },
        }),
      );
    // A global table has one time-to-live, which every replica applies.
    if (ttl?.Enabled && ttl.AttributeName)
      await clients.ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    const c = new CheckList(
      { ...stack, id: `${stack.id} replica ${replica.Region}` },
      logicalId,
      'AWS::DynamoDB::GlobalTable',
      true,
    );
    const table = (await clients.ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    c.add('TableStatus', 'ACTIVE', table?.TableStatus);
    const wantKey = replica.SSESpecification?.KMSMasterKeyId;
    if (wantKey) {
      // The template names another region's key by alias ARN: that alias must exist in that region and
      // point at the key that region's stack deployed, with rotation on.
      const keyId = await attempt(() => keyIdOf(clients.kms, wantKey));
      const rotation = keyId
        ? await attempt(() => clients.kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId })))
        : undefined;
      c.add(
        `replica key ${wantKey}`,
        'a deployed key with rotation on',
        keyId ? `key ${keyId}, rotation ${rotation?.KeyRotationEnabled}` : 'no such key or alias',
        !!keyId && rotation?.KeyRotationEnabled === true,
      );
    }
    if (pitr?.PointInTimeRecoveryEnabled) {
      const backups = await clients.ddb.send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
      const described = backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
      c.add('PointInTimeRecovery', 'ENABLED', described?.PointInTimeRecoveryStatus);
      if (pitr.RecoveryPeriodInDays !== undefined)
        c.add(
          'PointInTimeRecovery RecoveryPeriodInDays',
          pitr.RecoveryPeriodInDays,
          described?.RecoveryPeriodInDays,
        );
    }
    if (ttl?.Enabled) {
      const described = (await clients.ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName })))
        .TimeToLiveDescription;
      c.add('TimeToLiveSpecification', ttl, {
        AttributeName: described?.AttributeName,
        Enabled: described?.TimeToLiveStatus === 'ENABLED',
      });
    }
    checks.push(...c.items);
    standIns.push({
      stack: stack.id,
      logicalId,
      type: 'AWS::DynamoDB::GlobalTable',
      region: replica.Region,
      name: tableName,
    });
  }
  return standIns;
}

// ---------------------------------------------------------------------------------------------------------
// The data path
// ---------------------------------------------------------------------------------------------------------

/** What happened to the hit sent through one region's ingest service. */
export interface DataPathResult {
  readonly stack: string;
  readonly region: string;
  readonly location: string;
  readonly functionName: string;
  /** Environment variables of the deployed function that were changed for the in-process run, and why. */
  readonly overrides: Readonly<Record<string, string>>;
  readonly readiness: unknown;
  readonly hitStatus: number;
  /** `s3://bucket/key` of the object the event was found in. */
  readonly object?: string;
  readonly objectEncryption?: string;
  readonly event?: Record<string, unknown>;
  /** Personal fields decrypted with the deployed regional key (proves the envelope encryption). */
  readonly decrypted?: Record<string, unknown>;
  readonly error?: string;
}

const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const TEST_CLIENT_IP = '198.51.100.7';

async function readEvents(
  s3: S3Client,
  bucket: string,
): Promise<{ key: string; events: Record<string, unknown>[] }[]> {
  const out: { key: string; events: Record<string, unknown>[] }[] = [];
  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of list.Contents ?? []) {
    if (!o.Key) continue;
    const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
    let body = Buffer.from(await obj.Body!.transformToByteArray());
    // Firehose compresses when the template asks for GZIP; moto's Firehose writes the records as they came.
    if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
    const events: Record<string, unknown>[] = [];
    for (const line of body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not an event record
      }
    }
    out.push({ key: o.Key, events });
  }
  return out;
}

/**
 * Runs the ingest service in this process with a deployed function's environment (SDK clients pointed at
 * moto through AWS_ENDPOINT_URL), sends one pixel hit and follows it to the bucket.
 */
async function sendHitThroughRegion(
  stack: DeployedStack,
  fn: FunctionConfiguration,
  endpoint: string,
  originSecretSkipped: boolean,
  scratch: string,
): Promise<DataPathResult> {
  const [
    { parseIngestEnv },
    { createRuntime },
    { startServer },
    { DynamoDirectory },
    { seedDemo },
    { DataKeyService },
    { KmsKeyProvider },
  ] = await Promise.all([
    import('../platform/contracts/ingest-env'),
    import('../services/ingest/src/runtime'),
    import('../services/ingest/src/server'),
    import('../services/shared/directory/dynamo-directory'),
    import('../services/ingest/src/local/seed'),
    import('../services/ingest/src/crypto/data-keys'),
    import('../services/ingest/src/crypto/kms-key-provider'),
  ]);
  const deployed = { ...(fn.Environment?.Variables ?? {}) };
  const location = deployed.TS_LOCATION ?? '?';
  const dataDir = mkdtempSync(join(scratch, `ingest-${location}-`));
  const overrides: Record<string, string> = {
    TS_DATA_DIR: `${dataDir} (Lambda's is read-only; the seed writes the campaign config here)`,
    TS_SPOOL_DIR: `${join(dataDir, 'spool')} (instead of Lambda's /tmp/spool)`,
    TS_LOG_LEVEL: 'warn (keeps the report readable)',
    TS_METRICS_EMF: 'false (EMF lines are for CloudWatch Logs)',
  };
  const env: Record<string, string> = {
    ...deployed,
    TS_DATA_DIR: dataDir,
    TS_SPOOL_DIR: join(dataDir, 'spool'),
    TS_LOG_LEVEL: 'warn',
    TS_METRICS_EMF: 'false',
  };
  if (env.TS_ORIGIN_SECRET_ID && originSecretSkipped) {
    overrides.TS_ORIGIN_SECRET_ID =
      'dropped: moto skipped AWS::SecretsManager::Secret, so there is no secret to read';
    delete env.TS_ORIGIN_SECRET_ID;
  }
  const base: Omit<DataPathResult, 'readiness' | 'hitStatus'> = {
    stack: stack.id,
    region: stack.region,
    location,
    functionName: fn.FunctionName,
    overrides,
  };
  const clients = regionClients(endpoint, stack.region);
  const saved = {
    endpoint: process.env.AWS_ENDPOINT_URL,
    region: process.env.AWS_REGION,
    id: process.env.AWS_ACCESS_KEY_ID,
    secret: process.env.AWS_SECRET_ACCESS_KEY,
  };
  // The runtime builds its own SDK clients, as in Lambda; they read the endpoint and region from here.
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_REGION = stack.region;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  try {
    const parsed = parseIngestEnv(env);
    if (!parsed.TS_TABLE_NAME || !parsed.TS_KMS_KEY_ID || !parsed.TS_FIREHOSE_STREAM)
      throw new Error('the deployed environment does not select the DynamoDB directory, KMS and Firehose');
    const directory = new DynamoDirectory({ client: clients.ddb, tableName: parsed.TS_TABLE_NAME });
    const seed = await seedDemo(directory, dataDir);
    const running = await startServer({ env: parsed, port: 0, runtime: await createRuntime(parsed) });
    let readiness: unknown;
    let hitStatus = 0;
    const marker = `deploy-local-${location}-${Date.now().toString(36)}`;
    try {
      readiness = await (await fetch(`${running.url}/readyz`)).json();
      const hit = await fetch(
        `${running.url}/p.gif?a=${seed.accountId}&c=${seed.campaignId}&e=pageview&n=${marker}`,
        {
          headers: {
            'user-agent': BROWSER_UA,
            'cloudfront-viewer-address': `${TEST_CLIENT_IP}:51234`,
            'cloudfront-viewer-country': 'FR',
          },
        },
      );
      hitStatus = hit.status;
      await hit.arrayBuffer();
    } finally {
      // Shutting down flushes the buffered sink: the hit is in Firehose once this returns.
      await running.shutdown();
    }
    const described = await clients.firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: parsed.TS_FIREHOSE_STREAM }),
    );
    const bucketArn =
      described.DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription?.BucketARN ??
      '';
    const bucket = bucketArn.replace(/^arn:aws:s3:::/, '');
    const found = (await readEvents(clients.s3, bucket))
      .map((o) => ({ key: o.key, event: o.events.find((e) => e.name === marker) }))
      .find((o) => o.event);
    if (!found?.event)
      return { ...base, readiness, hitStatus, error: `no event named ${marker} in s3://${bucket}` };
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: found.key }));
    const reader = new DataKeyService({
      provider: new KmsKeyProvider({ client: clients.kms, keyId: parsed.TS_KMS_KEY_ID }),
      directory,
      location: parsed.TS_LOCATION,
    });
    const pii = found.event.pii as Parameters<typeof reader.decryptFields>[1] | undefined;
    const decrypted = pii ? await reader.decryptFields(String(found.event.accountId), pii) : undefined;
    return {
      ...base,
      readiness,
      hitStatus,
      object: `s3://${bucket}/${found.key}`,
      objectEncryption: `${head.ServerSideEncryption ?? 'none'}${head.SSEKMSKeyId ? ` with ${head.SSEKMSKeyId}` : ''}`,
      event: found.event,
      decrypted,
    };
  } catch (err) {
    return { ...base, readiness: undefined, hitStatus: 0, error: (err as Error).stack ?? String(err) };
  } finally {
    for (const [key, value] of [
      ['AWS_ENDPOINT_URL', saved.endpoint],
      ['AWS_REGION', saved.region],
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The whole flow
// ---------------------------------------------------------------------------------------------------------

/** Options of {@link deployLocal}. */
export interface DeployLocalOptions {
  readonly stage: Stage;
  /** Leave moto running; the caller stops it (`result.moto.stop()`). */
  readonly keep?: boolean;
  /** Deploy the assembly as synthesized, without {@link patchTemplateForMoto}. */
  readonly unpatched?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** The CDK CLI's output as it comes. */
  readonly cliOutput?: (chunk: string) => void;
  /** Stops the CLI and moto early (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** Everything {@link deployLocal} found, for the report and the tests. */
export interface DeployLocalResult {
  readonly stage: Stage;
  readonly account: string;
  /** moto's endpoint (still running only with `keep`). */
  readonly endpoint: string;
  readonly moto?: MotoServer;
  /** With `keep`: the directory holding the synthesized and the deployed assembly; the caller removes it. */
  readonly scratchDir?: string;
  readonly synth: SynthResult;
  readonly motoTypesSource: string;
  readonly regions: readonly string[];
  readonly patches: readonly (MotoPatch & { stack: string })[];
  readonly stacks: readonly DeployedStack[];
  readonly standIns: readonly StandIn[];
  readonly checks: readonly Check[];
  readonly dataPath: readonly DataPathResult[];
  readonly timings: readonly { step: string; ms: number }[];
  readonly totalMs: number;
  /** Why the flow stopped early, if it did. */
  readonly failure?: string;
  /** No mismatch, no failed step, and every hit read back and decrypted. */
  readonly ok: boolean;
}

/** Copies the assembly and adjusts every template for moto; returns the changes and the skipped resources. */
function prepareMotoAssembly(
  stacks: readonly SynthesizedStack[],
  assemblyDir: string,
  deployDir: string | undefined,
  supportedTypes: ReadonlySet<string>,
): { patches: (MotoPatch & { stack: string })[]; skipped: Map<string, ReadonlyMap<string, string>> } {
  if (deployDir) cpSync(assemblyDir, deployDir, { recursive: true });
  const patches: (MotoPatch & { stack: string })[] = [];
  const skipped = new Map<string, ReadonlyMap<string, string>>();
  for (const s of stacks) {
    const template = JSON.parse(readFileSync(s.templateFile, 'utf8')) as CfnTemplate;
    const patched = patchTemplateForMoto(template, s, supportedTypes);
    skipped.set(s.id, patched.skipped);
    if (!deployDir) continue;
    const file = join(deployDir, relative(assemblyDir, s.templateFile));
    writeFileSync(file, JSON.stringify(patched.template, null, 1));
    patches.push(...patched.patches.map((p) => ({ ...p, stack: s.id })));
  }
  return { patches, skipped };
}

/** What moto created for each stack (ListStackResources), beside its synthesized template. */
async function inventory(
  stacks: readonly SynthesizedStack[],
  endpoint: string,
  expectedSkipped: ReadonlyMap<string, ReadonlyMap<string, string>>,
): Promise<DeployedStack[]> {
  const out: DeployedStack[] = [];
  for (const s of stacks) {
    const template = JSON.parse(readFileSync(s.templateFile, 'utf8')) as CfnTemplate;
    const listed = await listStackResources(endpoint, s.region, s.stackName);
    const physical = new Map(listed.map((r) => [r.logicalId, r.physicalId]));
    const skipped = new Map<string, string>();
    for (const [id, r] of Object.entries(template.Resources)) if (!physical.has(id)) skipped.set(id, r.Type);
    for (const [id, type] of expectedSkipped.get(s.id) ?? []) if (!physical.has(id)) skipped.set(id, type);
    const { id, stackName, account, region } = s;
    out.push({ id, stackName, account, region, template, physical, skipped });
  }
  return out;
}

/** Creates the stand-ins of one stack's skipped resources and checks its created ones. */
async function checkStack(
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
    if (physical === undefined) continue;
    const c = new CheckList(stack, id, resource.Type);
    switch (resource.Type) {
      case 'AWS::KMS::Key':
        await checkKey(c, props, physical, clients.kms);
        break;
      case 'AWS::KMS::Alias': {
        const target = await attempt(() => keyIdOf(clients.kms, String(props.AliasName)));
        const want = await attempt(() => keyIdOf(clients.kms, String(props.TargetKeyId)));
        c.add('TargetKeyId', want, target, !!target && target === want);
        break;
      }
      case 'AWS::S3::Bucket':
        await checkBucket(c, props, physical, clients.s3);
        break;
      case 'AWS::Lambda::Function':
        await checkFunction(c, props, physical, stack, endpoint);
        break;
      case 'AWS::SQS::Queue':
        await checkQueue(c, props, physical, stack, endpoint);
        break;
      case 'AWS::Events::Rule':
        await checkRule(c, props, physical, stack, endpoint);
        break;
      case 'AWS::DynamoDB::Table': {
        const t = await attempt(() => clients.ddb.send(new DescribeTableCommand({ TableName: physical })));
        c.add('TableStatus', 'ACTIVE', t?.Table?.TableStatus);
        break;
      }
    }
    checks.push(...c.items);
  }
  return { checks, standIns };
}

/** Deployed names of the stack's ingest functions: those whose environment selects the Firehose sink. */
function ingestFunctions(stack: DeployedStack): string[] {
  return Object.entries(stack.template.Resources).flatMap(([id, r]) => {
    const vars = (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    const name = stack.physical.get(id);
    return r.Type === 'AWS::Lambda::Function' && name && vars?.TS_SINK === 'firehose' ? [name] : [];
  });
}

/**
 * Runs the whole local deploy. Stops moto at the end (unless `keep`), also when a step throws or the
 * signal aborts.
 * @throws only when synth itself cannot run (e.g. a ConfigError); every later failure is in the result
 */
export async function deployLocal(options: DeployLocalOptions): Promise<DeployLocalResult> {
  const log = options.log ?? (() => undefined);
  const start = performance.now();
  const timings: { step: string; ms: number }[] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    if (options.signal?.aborted) throw new Error(`aborted before ${name}`);
    const t = performance.now();
    try {
      return await run();
    } finally {
      timings.push({ step: name, ms: performance.now() - t });
    }
  };
  assertMotoInstalled();
  const scratch = mkdtempSync(join(tmpdir(), 'trackstack-deploy-local-'));
  const assemblyDir = join(scratch, 'assembly');
  let moto: MotoServer | undefined;
  let synth: SynthResult | undefined;
  let account = MOTO_ACCOUNT;
  let regions: string[] = [];
  let motoTypesSource = '';
  let patches: (MotoPatch & { stack: string })[] = [];
  let stacks: DeployedStack[] = [];
  const standIns: StandIn[] = [];
  const checks: Check[] = [];
  const dataPath: DataPathResult[] = [];
  let failure: string | undefined;
  try {
    synth = await step('synth, cdk-nag, cfn-lint', () =>
      synthStage({ stage: options.stage, outdir: assemblyDir, account: MOTO_ACCOUNT, log }),
    );
    if (!synth.ok)
      throw new Error('synth failed (cdk-nag findings or cfn-lint errors); nothing was deployed');
    const accounts = [...new Set(synth.stacks.map((s) => s.account))];
    if (accounts.length !== 1 || !/^\d{12}$/.test(accounts[0] ?? ''))
      throw new Error(`the stacks must share one concrete account for moto; got ${accounts.join(', ')}`);
    account = accounts[0]!;
    regions = [...new Set(synth.stacks.map((s) => s.region))].sort();

    const server = await step('start moto', () => startMoto(account));
    moto = server;
    log(`moto_server ${server.endpoint} (account ${account})`);
    const cliEnv = cdkCliEnv(server.endpoint, scratch);
    const cli = { signal: options.signal, onOutput: options.cliOutput };
    const environments = regions.map((r) => `aws://${account}/${r}`);
    // --app names the synthesized assembly, so the CLI does not run the app a second time.
    await step('cdk bootstrap', () =>
      runCdk(['bootstrap', ...environments, '--app', assemblyDir, '--ci', '--no-notices'], cliEnv, cli),
    );
    log(`bootstrapped ${regions.join(', ')}`);

    const types = motoCloudFormationTypes();
    motoTypesSource = types.source;
    const deployDir = options.unpatched ? assemblyDir : join(scratch, 'assembly.moto');
    const prepared = prepareMotoAssembly(
      synth.stacks,
      assemblyDir,
      options.unpatched ? undefined : deployDir,
      types.types,
    );
    patches = prepared.patches;

    // --method=direct: with change sets, moto loses the stacks' outputs and exports (so Fn::ImportValue
    // fails) and a failed execution leaves the stack in REVIEW_IN_PROGRESS for good.
    // --no-previous-parameters: moto answers UsePreviousValue with HTTP 500 (KeyError).
    const deployArgs = ['--require-approval', 'never', '--method=direct', '--no-previous-parameters'];
    await step('cdk deploy --all', () =>
      runCdk(
        [
          'deploy',
          '--app',
          deployDir,
          '--all',
          ...deployArgs,
          '--ci',
          '--no-notices',
          '--progress',
          'events',
        ],
        cliEnv,
        cli,
      ),
    );
    log(`deployed ${synth.stacks.length} stacks`);

    stacks = await step('inventory', () => inventory(synth!.stacks, server.endpoint, prepared.skipped));
    const resolver = new TemplateResolver(stacks);
    await step('stand-ins and checks', async () => {
      for (const stack of stacks) {
        const found = await checkStack(stack, resolver, server.endpoint);
        checks.push(...found.checks);
        standIns.push(...found.standIns);
      }
      checks.push(...(await checkPurgeWiring(stacks, server.endpoint)));
    });
    await step('data path', async () => {
      for (const stack of stacks) {
        const secretSkipped = [...stack.skipped.values()].includes('AWS::SecretsManager::Secret');
        for (const name of ingestFunctions(stack)) {
          const fn = await getFunctionConfiguration(server.endpoint, stack.region, name);
          const d = await sendHitThroughRegion(stack, fn, server.endpoint, secretSkipped, scratch);
          dataPath.push(d);
          const outcome = d.error ? `FAILED: ${d.error.split('\n')[0]}` : `→ ${d.object}`;
          log(`${d.location}: hit ${d.hitStatus} ${outcome}`);
        }
      }
    });
  } catch (err) {
    failure = (err as Error).message;
  } finally {
    if (!options.keep || failure) await moto?.stop();
    if (!options.keep || failure) rmSync(scratch, { recursive: true, force: true });
  }
  if (!synth) throw new Error(failure ?? 'synth did not run');
  const kept = options.keep && !failure;
  const ok =
    !failure &&
    checks.every((c) => c.status !== 'mismatch') &&
    dataPath.length > 0 &&
    dataPath.every((d) => !d.error && d.hitStatus === 200 && d.decrypted !== undefined);
  return {
    stage: options.stage,
    account,
    endpoint: moto?.endpoint ?? '',
    moto: kept ? moto : undefined,
    scratchDir: kept ? scratch : undefined,
    synth,
    motoTypesSource,
    regions,
    patches,
    stacks,
    standIns,
    checks,
    dataPath,
    timings,
    totalMs: performance.now() - start,
    failure,
    ok,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------------------

/** What a deploy into moto cannot show, whatever the result. */
export const NOT_PROVEN = [
  'IAM is not enforced: moto accepts every call, so role scopes, permissions boundaries, key policies, ' +
    'bucket policies and encryption-context conditions are deployed (or skipped) but never exercised.',
  'Skipped resource types do not exist locally at all (listed above): bucket policies (TLS only, and the ' +
    'event bucket refusing uploads that ask for any encryption but its key), the Function URL and its CDN-only access, alarms, the SNS topic policy, secrets, ' +
    'the dead-letter queue policy, Lambda async-invocation settings (retries), and anything CloudFront or ' +
    'WAF in the edge stack.',
  'Properties moto ignores are not applied (listed as "not applied"): bucket versioning, lifecycle ' +
    '(noncurrent expiry), access logging, public access block, bucket keys, Object Lock on the receipts ' +
    'bucket, Lambda architecture, tracing, logging configuration and dead-letter queue.',
  'The function never runs in Lambda: its bundle was published to the bootstrap bucket and the function ' +
    'created from it, but the service ran in this process with the deployed environment; the bundle itself, ' +
    'the ARM64 runtime, cold start, concurrency limits and timeouts are not exercised.',
  'The purge function is created, not run: its schedule is deployed but never fires, Lambda retries and ' +
    'dead-letter delivery are not exercised, and only the names in its environment are checked against the ' +
    'deployed buckets and tables (the purge job itself is tested against moto in test/purge).',
  'Firehose is a stand-in created from the template: dynamic partitioning (account=/dt= prefixes), ' +
    'compression, buffering, KMS encryption of the stream and error output are not applied by moto.',
  'The directory is one table per region, not a global table: replication between regions, and the ' +
    'replica keys being used by DynamoDB, are not shown (only that each replica key exists); its ' +
    'time-to-live and recovery period are set, but no expired item is deleted and no restore is made.',
  'Updates are not proven: moto does not apply stack updates reliably, so every run deploys into a fresh ' +
    'moto; drift, replacement and rollback behaviour are real-AWS-only.',
  'CloudFormation limits, service quotas, name clashes and region availability (e.g. of a runtime) are ' +
    'not checked; the deploy proves the templates are well-formed and wired, not that AWS accepts them.',
];

/** The report as lines of text. */
export function formatDeployLocalReport(r: DeployLocalResult): string[] {
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(`deploy:local — stage ${r.stage}, account ${r.account}, regions ${r.regions.join(', ') || '(none)'}`);
  push('', 'synth (same as npm run synth):', ...formatTimings(r.synth));
  const nag = formatNagFindings(r.synth.nag);
  if (nag.length > 0) push(...nag);
  if (r.synth.lint) push(...formatLintMatches(r.synth.lint));

  if (r.patches.length > 0) {
    push(
      '',
      `moto compatibility changes to the deployed copy of the assembly (moto types from ${r.motoTypesSource}):`,
    );
    for (const p of r.patches) push(`  ${p.stack}  ${p.logicalId} (${p.type})  ${p.change}`);
  }

  if (r.stacks.length > 0) push('', 'resources (CloudFormation ListStackResources):');
  const standInIds = new Set(r.standIns.map((s) => `${s.stack} ${s.logicalId}`));
  for (const s of r.stacks) {
    const total = Object.keys(s.template.Resources).length;
    push(
      `  ${s.id} (${s.region}): ${s.physical.size} of ${total} created, ${s.skipped.size} skipped by moto`,
    );
    for (const [id, res] of Object.entries(s.template.Resources)) {
      const p = s.physical.get(id);
      if (p !== undefined) push(`    created  ${res.Type.padEnd(38)} ${id}  ${p}`);
    }
    for (const [id, type] of s.skipped) {
      const note = standInIds.has(`${s.id} ${id}`) ? '  → stand-in created by deploy:local' : '';
      push(`    SKIPPED  ${type.padEnd(38)} ${id}${note}`);
    }
  }
  if (r.standIns.length > 0) {
    push('', 'stand-ins (created through the service API from the template, because moto skipped the type):');
    for (const s of r.standIns) push(`  ${s.type} ${s.name} in ${s.region} (${s.stack} ${s.logicalId})`);
  }

  if (r.checks.length > 0) {
    const count = (st: CheckStatus) => r.checks.filter((c) => c.status === st).length;
    push(
      '',
      `checks against the templates: ${count('ok')} ok, ${count('not-applied')} not applied by moto, ` +
        `${count('mismatch')} mismatches`,
    );
    // One line per resource for what matches; one line per property for what does not.
    const groups = new Map<string, Check[]>();
    for (const c of r.checks) {
      const key = `${c.stack} ${c.logicalId} (${c.type}${c.standIn ? ', stand-in' : ''})`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const [resource, items] of groups) {
      const ok = items.filter((c) => c.status === 'ok');
      const variables = ok.filter((c) => c.property.startsWith('Environment '));
      const shown = ok
        .filter((c) => !c.property.startsWith('Environment '))
        .map((c) => (c.actual.length <= 90 ? `${c.property}=${c.actual}` : c.property));
      if (variables.length > 0) shown.push(`Environment (${variables.length} variables as in the template)`);
      if (shown.length > 0) push(`  ok           ${resource}: ${shown.join('; ')}`);
      for (const c of items.filter((i) => i.status !== 'ok'))
        push(
          `  ${c.status === 'mismatch' ? 'MISMATCH   ' : 'NOT APPLIED'}  ${resource} ${c.property}: ` +
            `expected ${c.expected}, got ${c.actual}`,
        );
    }
  }

  if (r.dataPath.length > 0)
    push('', 'data path (ingest service in-process with the deployed function environment):');
  for (const d of r.dataPath) {
    push(`  ${d.location} (${d.region}), function ${d.functionName}`);
    for (const [k, v] of Object.entries(d.overrides)) push(`    env ${k}: ${v}`);
    push(`    /readyz: ${JSON.stringify(d.readiness)}`);
    push(`    GET /p.gif → ${d.hitStatus}`);
    if (d.object) push(`    Firehose delivered it to ${d.object} (${d.objectEncryption})`);
    if (d.event)
      push(`    event: ${JSON.stringify({ ...d.event, pii: d.event.pii ? '(encrypted)' : undefined })}`);
    if (d.decrypted)
      push(
        `    personal fields decrypted with the deployed regional KMS key: ${JSON.stringify(d.decrypted)}`,
      );
    if (d.error) push(`    FAILED: ${d.error}`);
  }

  push('', 'what this local deploy does not prove:', ...NOT_PROVEN.map((n) => `  - ${n}`));
  push('', `steps:`);
  for (const t of r.timings) push(`  ${t.step.padEnd(26)} ${formatSeconds(t.ms).padStart(8)}`);
  push(`  ${'total'.padEnd(26)} ${formatSeconds(r.totalMs).padStart(8)}`);
  if (r.failure) push('', `FAILED: ${r.failure}`);
  push('', `deploy:local ${r.ok ? 'passed' : 'FAILED'}`);
  return lines;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommandLine(argv, parseDeployLocalArgs, DEPLOY_LOCAL_USAGE);
  if (typeof args === 'number') return args;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the CDK CLI and moto…`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await deployLocal({
    stage: args.stage,
    keep: args.keep,
    unpatched: args.unpatched,
    log: (l) => console.log(`· ${l}`),
    cliOutput: args.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
    signal: abort.signal,
  });
  console.log('');
  for (const line of formatDeployLocalReport(result)) console.log(line);
  if (result.moto) {
    const port = new URL(result.endpoint).port;
    console.log(
      `\nmoto is still running at ${result.endpoint}. To use it:\n` +
        `  export AWS_ENDPOINT_URL=${result.endpoint} AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION=http://localhost:${port}\n` +
        '  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1\n' +
        `The assemblies (as synthesized, as deployed) are in ${result.scratchDir}. Ctrl-C stops moto.`,
    );
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await new Promise<void>((resolveWait) => {
      const stop = () =>
        void result.moto!.stop().then(() => {
          if (result.scratchDir) rmSync(result.scratchDir, { recursive: true, force: true });
          resolveWait();
        });
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  }
  return abort.signal.aborted ? 130 : result.ok ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
