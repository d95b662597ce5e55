/**
 * What `npm run incident -- --stage <stage>` runs against: the stage's directory table and incident table
 * (`names`), its edge store (the KeyValueStore ARN from the edge stack's outputs, DescribeStacks on
 * `edgeStackName(stage)` in us-east-1), and its customer-notice topic (`names.customerNoticeTopic`, in the
 * caller's account and the directory's home region); each can be named by a flag instead.
 */
import { DescribeStacksCommand, CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { STSClient } from '@aws-sdk/client-sts';
import {
  EDGE_STACK_OUTPUTS,
  PRIMARY_LOCATION,
  REGIONS,
  edgeStackName,
  names,
  type Stage,
} from '../../../platform';
import { IncidentRefusedError } from './core/errors';
import { accountOfArn, callerArn } from './aws/caller-identity';

/** The region of the edge stack and its KeyValueStore. */
const EDGE_REGION = 'us-east-1';

/** What the flags name instead of the platform's defaults. */
export interface StageOverrides {
  readonly table?: string;
  readonly incidentTable?: string;
  readonly kvsArn?: string;
  readonly topicArn?: string;
}

/** The stage's environment and the caller, resolved. */
export interface StageTarget {
  /** `TS_*` variables for `parseIncidentEnv`. */
  readonly env: Record<string, string>;
  /** The caller's ARN: the actor of every step. */
  readonly actor: string;
}

/**
 * Resolves the stage's resources.
 * @param needsEdge whether the command writes the edge store (only then is the edge stack read)
 * @throws IncidentRefusedError when the edge stack is missing or lacks the store's output
 */
export async function stageTarget(
  stage: Stage,
  overrides: StageOverrides,
  needsEdge: boolean,
  awsClientConfig: Readonly<Record<string, unknown>> = {},
): Promise<StageTarget> {
  const home = REGIONS[PRIMARY_LOCATION].aws;
  const actor = await callerArn(new STSClient({ ...awsClientConfig, region: home }));
  const partition = actor.split(':')[1] ?? 'aws';
  const env: Record<string, string> = {
    TS_STAGE: stage,
    TS_DIRECTORY: 'dynamodb',
    TS_TABLE_NAME: overrides.table ?? names.directoryTable(stage),
    TS_INCIDENT_STORE: 'dynamodb',
    TS_INCIDENT_TABLE: overrides.incidentTable ?? names.incidentTable(stage),
    TS_NOTIFIER: 'sns',
    TS_NOTICE_TOPIC_ARN:
      overrides.topicArn ??
      `arn:${partition}:sns:${home}:${accountOfArn(actor)}:${names.customerNoticeTopic(stage)}`,
    TS_LOG_LEVEL: 'silent',
  };
  if (needsEdge) {
    env.TS_EDGE_STORE = 'kvs';
    env.TS_KVS_ARN =
      overrides.kvsArn ??
      (await edgeStoreArn(new CloudFormationClient({ ...awsClientConfig, region: EDGE_REGION }), stage));
  }
  return { env, actor };
}

/** The KeyValueStore's ARN from the edge stack's outputs. */
async function edgeStoreArn(client: CloudFormationClient, stage: Stage): Promise<string> {
  const stackName = edgeStackName(stage);
  let outputs;
  try {
    outputs = (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.Outputs;
  } catch (err) {
    if (/does not exist/.test((err as Error).message))
      throw new IncidentRefusedError(
        `the edge stack ${stackName} does not exist in ${EDGE_REGION}: deploy it, or name the store with --kvs-arn`,
        { cause: err },
      );
    throw new Error(`could not read the edge stack ${stackName}: ${(err as Error).message}`, { cause: err });
  }
  const arn = outputs?.find((o) => o.OutputKey === EDGE_STACK_OUTPUTS.keyValueStoreArn)?.OutputValue;
  if (!arn)
    throw new IncidentRefusedError(
      `the edge stack ${stackName} has no output ${EDGE_STACK_OUTPUTS.keyValueStoreArn}: name the store with --kvs-arn`,
    );
  return arn;
}
