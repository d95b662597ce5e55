/**
 * What moto's CloudFormation can deploy: the resource types it creates, and for those it skips, the values
 * AWS would give their `Ref` and `Fn::GetAtt`. The patch (moto-patch.ts) writes these values into the
 * deployed copy of a template; the resolver (template-resolver.ts) reads them back the same way.
 */
import { spawnSync } from 'node:child_process';
import type { CfnResource, StackPlace } from './template';

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
export const MOTO_NULL_TYPE = 'AWS::CloudFormation::WaitConditionHandle';

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
