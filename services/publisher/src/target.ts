/**
 * Where `publish-config` reads and writes: on embedded defaults the local directory and config folder of
 * `npm run local`; with a stage, the DynamoDB directory and the edge stack's config bucket and distribution.
 * The AWS SDK is loaded only for a stage, so the local tool never pays for it.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EDGE_STACK_OUTPUTS, REGIONS, PRIMARY_LOCATION, names, type Stage } from '../../../platform';
import type { ConfigStore } from '../../shared/campaign-config/config-store';
import { FileConfigStore } from '../../shared/campaign-config/file-config-store';
import type { EdgeStore } from '../../shared/edge-store/edge-store';
import { FileEdgeStore } from '../../shared/edge-store/file-edge-store';
import { LocalDirectory } from '../../shared/directory/local-directory';
import { PublishRefusedError, type CampaignSource } from './publish';
import type { SnippetOutcome } from './snippet';

/** Where to publish, as the command line says. */
export interface TargetOptions {
  /** The local store (no stage). */
  readonly dataDir: string;
  readonly stage?: Stage;
  /** With a stage: the directory table instead of `names.directoryTable(stage)`. */
  readonly table?: string;
  /** With a stage: the config bucket instead of the edge stack's output. */
  readonly bucket?: string;
  /** With a stage: the distribution instead of the edge stack's output. */
  readonly distributionId?: string;
  /** With a stage: the edge store (KeyValueStore ARN) instead of the edge stack's output. */
  readonly kvsArn?: string;
  /**
   * Extra settings for every AWS SDK client (tests point them at moto).
   * @default none: the SDK's own resolution (profiles, AWS_ENDPOINT_URL, roles)
   */
  readonly awsClientConfig?: Readonly<Record<string, unknown>>;
}

/** The directory, the config store and, in the cloud, the CDN to invalidate. */
export interface PublishTarget {
  readonly directory: CampaignSource;
  /** Human-readable name of the directory, e.g. `dynamodb:trackstack-dev-directory`. */
  readonly directoryName: string;
  readonly store: ConfigStore;
  /** Invalidates changed paths and resolves with the invalidation's id; absent locally (no CDN cache). */
  readonly invalidate?: (paths: readonly string[]) => Promise<string>;
  /** The distribution invalidated, for the report. */
  readonly distributionId?: string;
  /** What is invalidated, for the report, when it is not a CloudFront distribution (a GCP URL map). */
  readonly cdnName?: string;
  /**
   * The edge store that holds each account's home location; absent on GCP, whose load balancer cannot
   * route by account (the ingest service enforces residency there).
   */
  readonly edge?: EdgeStore;
  /** Human-readable name of the edge store. */
  readonly edgeName?: string;
  /** Uploads the snippet's current version to the config bucket; absent locally (the server serves it). */
  readonly publishSnippet?: (dryRun: boolean) => Promise<SnippetOutcome>;
}

/**
 * Builds the target.
 * @throws PublishRefusedError when the local store does not exist, or the edge stack is missing or lacks
 *   an output that was not given as a flag
 */
export async function createTarget(options: TargetOptions): Promise<PublishTarget> {
  if (!options.stage) {
    const dataDir = resolve(options.dataDir);
    const directory = new LocalDirectory({ dataDir });
    // Checked, not created: a mistyped folder would otherwise read as a directory with no campaigns.
    const found = await stat(directory.file).catch(() => undefined);
    if (!found?.isFile())
      throw new PublishRefusedError(
        `the local store ${dataDir} has no directory file (${directory.file}): \`npm run local\` creates it; ` +
          'point at the folder it uses with --data-dir or TS_DATA_DIR (default .data)',
      );
    const edge = new FileEdgeStore({ dataDir });
    return {
      directory,
      directoryName: `file:${directory.file}`,
      store: new FileConfigStore({ dataDir }),
      edge,
      edgeName: `file:${edge.file}`,
    };
  }
  const stage = options.stage;
  const [{ DynamoDBClient }, { CloudFormationClient }, { CloudFrontClient }, s3, aws, dynamo, kvs, snippet] =
    await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('@aws-sdk/client-cloudformation'),
      import('@aws-sdk/client-cloudfront'),
      import('../../shared/campaign-config/s3-config-store'),
      import('./aws'),
      import('../../shared/directory/dynamo-directory'),
      import('../../shared/edge-store/kvs-edge-store'),
      import('./snippet'),
    ]);
  const edgeRegion = s3.CONFIG_BUCKET_REGION;
  const config = (region: string) => ({ ...options.awsClientConfig, region });

  let { bucket, distributionId, kvsArn } = options;
  if (!bucket || !distributionId || !kvsArn) {
    const outputs = await aws.edgeStackOutputs(new CloudFormationClient(config(edgeRegion)), stage);
    bucket ??= outputs.configBucket;
    distributionId ??= outputs.distributionId;
    kvsArn ??= outputs.keyValueStoreArn;
    const missing = [
      !bucket && `${EDGE_STACK_OUTPUTS.configBucket} (or --bucket)`,
      !distributionId && `${EDGE_STACK_OUTPUTS.distributionId} (or --distribution-id)`,
      !kvsArn && `${EDGE_STACK_OUTPUTS.keyValueStoreArn} (or --kvs-arn)`,
    ].filter(Boolean);
    if (missing.length > 0)
      throw new PublishRefusedError(`the edge stack of ${stage} has no output ${missing.join(', ')}`);
  }
  const tableName = options.table ?? names.directoryTable(stage);
  // The table is global; the primary location's replica is where the control plane writes.
  const directory = new dynamo.DynamoDirectory({
    client: new DynamoDBClient(config(REGIONS[PRIMARY_LOCATION].aws)),
    tableName,
  });
  const cloudFront = new CloudFrontClient(config(edgeRegion));
  const id = distributionId!;
  const bucketClient = s3.configBucketClient({ ...options.awsClientConfig });
  return {
    directory,
    directoryName: `dynamodb:${tableName}`,
    store: new s3.S3ConfigStore({ bucket: bucket!, client: bucketClient }),
    publishSnippet: (dryRun) => snippet.publishSnippet(bucketClient, bucket!, { dryRun }),
    invalidate: (paths) => aws.invalidate(cloudFront, id, paths),
    distributionId: id,
    // Given the same client settings as the others; moto does not implement this API, so tests mock it.
    edge: new kvs.KvsEdgeStore({ kvsArn: kvsArn!, clientConfig: { ...options.awsClientConfig } }),
    edgeName: kvsArn!,
  };
}
