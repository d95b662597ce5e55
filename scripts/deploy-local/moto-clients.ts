/**
 * Talking to moto: AWS SDK clients of one region pointed at it, and the few calls of APIs for which the
 * project has no SDK client (CloudFormation, Lambda, EventBridge, SQS), made over plain HTTP. Only moto
 * ever sees these requests, which is why they carry no real signature.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { motoClientConfig } from '../../tooling/moto';

/**
 * An Authorization header that routes a request to a region and service in moto. moto does not verify
 * signatures, so this stands in for SigV4: the project has no CloudFormation or Lambda SDK client, and only
 * moto ever sees these requests.
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

/** One statement of a function's resource policy, as Lambda's GetPolicy returns it. */
export interface FunctionPolicyStatement {
  Sid?: string;
  Action?: string | string[];
  Principal?: string | { Service?: string; AWS?: string };
  Condition?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** Lambda GetPolicy against moto: the statements of the function's resource policy (none when it has none). */
export async function getFunctionPolicyStatements(
  endpoint: string,
  region: string,
  name: string,
): Promise<FunctionPolicyStatement[]> {
  const out = await motoLambdaGet<{ Policy?: string }>(
    endpoint,
    region,
    `/2015-03-31/functions/${encodeURIComponent(name)}/policy`,
  );
  const policy = out.Policy ? (JSON.parse(out.Policy) as { Statement?: FunctionPolicyStatement[] }) : {};
  return policy.Statement ?? [];
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

/** SDK clients of one region, pointed at moto: the services whose state the checks and the data path read. */
export interface RegionClients {
  readonly kms: KMSClient;
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
  readonly firehose: FirehoseClient;
}

/** Builds {@link RegionClients}; cheap, so each caller makes its own rather than sharing a cache. */
export function regionClients(endpoint: string, region: string): RegionClients {
  const config = motoClientConfig(endpoint, region);
  return {
    kms: new KMSClient(config),
    s3: new S3Client(config),
    ddb: new DynamoDBClient(config),
    firehose: new FirehoseClient(config),
  };
}

/**
 * The key id behind a key id, key ARN, alias name or alias ARN, in the client's region. Templates name keys
 * of other regions by alias ARN, so a key is found through its alias rather than taken on trust.
 */
export async function keyIdOf(kms: KMSClient, ref: string): Promise<string | undefined> {
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
