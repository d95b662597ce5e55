/**
 * AWS-only names, derived from the platform's names so that every stage and location gets its own.
 * Shared facts (table, stream and key alias names) live in the platform layer (`platform/`); these are the ones only
 * the CDK app needs.
 */
import { names, PRODUCT, type Location, type Stage } from '../../../platform';

/** Names of the AWS resources that other parts of the platform find by name. */
export const awsNames = {
  /**
   * Prefix of every log group of a regional stack. Named log groups let the key policy allow CloudWatch
   * Logs to encrypt exactly these groups without referencing them (the groups reference the key).
   */
  logGroupPrefix: (stage: Stage, location: Location): string => `/${names.prefix(stage)}/${location}/`,
  /** A log group of a regional stack, e.g. `/trackstack-dev/europe/ingest`. */
  logGroup: (stage: Stage, location: Location, name: string): string =>
    `${awsNames.logGroupPrefix(stage, location)}${name}`,
  /** The regional stack's id and CloudFormation stack name, e.g. `Trackstack-dev-europe`. */
  regionalStack: (stage: Stage, location: Location): string => `Trackstack-${stage}-${location}`,
  /**
   * The execution role of a location's purge function, e.g. `trackstack-dev-europe-purge`. Named, because
   * the key policy of the receipts bucket's key (in the directory home's region) names the purge role of
   * every location, and a role in another region cannot be referenced by token.
   */
  purgeRole: (stage: Stage, location: Location): string => `${names.prefix(stage)}-${location}-purge`,
  /**
   * The purge function's dead-letter queue. Named, so that the key policy can bind its encryption context
   * to the queue without the key depending on the queue that depends on the key.
   */
  purgeDeadLetterQueue: (stage: Stage, location: Location): string =>
    `${names.prefix(stage)}-${location}-purge-dlq`,
  /** The EventBridge rule that starts the purge function every day (named for the same reason). */
  purgeSchedule: (stage: Stage, location: Location): string =>
    `${names.prefix(stage)}-${location}-purge-daily`,
  /** The edge key's alias, without the `alias/` prefix, e.g. `trackstack/dev/edge`. */
  edgeKeyAlias: (stage: Stage): string => `${PRODUCT}/${stage}/edge`,
  /**
   * The bucket of the CDN's access logs, e.g. `trackstack-dev-cdn-logs-123456789012`. Named, because the
   * distribution must reference it by name: the edge key's policy names the distribution, and the bucket
   * references the key. Carries the account like the platform's bucket names (S3 names are global).
   * @param account the 12-digit AWS account id (a CDK token at synth)
   */
  cdnLogBucket: (stage: Stage, account: string): string => `${names.prefix(stage)}-cdn-logs-${account}`,
};

/** Names of the release pipeline (CDK Pipelines), in the tooling account. */
export const pipelineNames = {
  /** The pipeline stack's id and CloudFormation stack name. */
  stack: 'Trackstack-pipeline',
  /** The CodePipeline pipeline. */
  pipeline: 'trackstack-release',
  /** The id of the pipeline's Stage of a platform stage, e.g. `staging` (its stacks keep their own names). */
  stage: (stage: Stage): string => stage,
};
