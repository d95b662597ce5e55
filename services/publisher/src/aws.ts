/**
 * What `publish-config --stage` needs from AWS besides the directory: the edge stack's outputs (the config
 * bucket and the distribution) and CloudFront invalidations of the paths it changed.
 */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateInvalidationCommand, type CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { randomBytes } from 'node:crypto';
import { CAMPAIGN_CONFIG, EDGE_STACK_OUTPUTS, edgeStackName, type Stage } from '../../../platform';
import { CONFIG_BUCKET_REGION } from '../../shared/campaign-config/s3-config-store';
import { PublishRefusedError } from './publish';

/** The edge stack's outputs the publisher uses; each may be absent from the stack. */
export type EdgeOutputs = Partial<Record<keyof typeof EDGE_STACK_OUTPUTS, string>>;

/**
 * The outputs of the stage's edge stack (DescribeStacks in us-east-1), by their `EDGE_STACK_OUTPUTS` key.
 * @throws PublishRefusedError when the stack does not exist
 */
export async function edgeStackOutputs(client: CloudFormationClient, stage: Stage): Promise<EdgeOutputs> {
  const stackName = edgeStackName(stage);
  let outputs;
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = out.Stacks?.[0]?.Outputs ?? [];
  } catch (err) {
    if (/does not exist/.test((err as Error).message))
      throw new PublishRefusedError(
        `the edge stack ${stackName} does not exist in ${CONFIG_BUCKET_REGION}: deploy it, or name the ` +
          'bucket and distribution with --bucket and --distribution-id',
        { cause: err },
      );
    throw new Error(`could not read the edge stack ${stackName}: ${(err as Error).message}`, { cause: err });
  }
  const found: EdgeOutputs = {};
  for (const [key, name] of Object.entries(EDGE_STACK_OUTPUTS) as [
    keyof typeof EDGE_STACK_OUTPUTS,
    string,
  ][]) {
    const value = outputs.find((o) => o.OutputKey === name)?.OutputValue;
    if (value) found[key] = value;
  }
  return found;
}

/**
 * Most paths one invalidation lists before the publisher asks for the whole `/config/*` instead:
 * CloudFront allows 3,000 file paths in progress per distribution, and a wildcard counts once.
 */
export const MAX_INVALIDATION_PATHS = 1000;

/** The paths an invalidation of `changed` should list. */
export function invalidationPaths(changed: readonly string[]): string[] {
  return changed.length > MAX_INVALIDATION_PATHS ? [`/${CAMPAIGN_CONFIG.root}*`] : [...changed];
}

/**
 * Creates one invalidation of the paths given on the distribution.
 * @returns the invalidation's id
 */
export async function invalidate(
  client: CloudFrontClient,
  distributionId: string,
  changed: readonly string[],
): Promise<string> {
  const paths = invalidationPaths(changed);
  try {
    const out = await client.send(
      new CreateInvalidationCommand({
        DistributionId: distributionId,
        InvalidationBatch: {
          // Unique per request: CloudFront treats a repeated reference as the same invalidation.
          CallerReference: `publish-config-${Date.now()}-${randomBytes(4).toString('hex')}`,
          Paths: { Quantity: paths.length, Items: paths },
        },
      }),
    );
    const id = out.Invalidation?.Id;
    if (!id) throw new Error('CloudFront answered without an invalidation id');
    return id;
  } catch (err) {
    throw new Error(
      `the documents were written, but invalidating ${paths.length} path(s) on distribution ${distributionId} ` +
        `failed (the CDN serves the old ones until their cache lifetime ends; run it again to retry): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
