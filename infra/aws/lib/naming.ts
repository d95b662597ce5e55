/**
 * AWS-only names, derived from the platform's names so that every stage and location gets its own.
 * Shared facts (table, stream and key alias names) live in the platform layer (`platform/`); these are the ones only
 * the CDK app needs.
 */
import { names, type Location, type Stage } from '../../../platform';

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
  /**
   * The secret that the CDN sends as `x-origin-verify` and the ingest origin checks. The edge stack reads
   * it by this name in the origin's region.
   */
  originSecret: (stage: Stage, location: Location): string =>
    `${names.prefix(stage)}/${location}/origin-verify`,
  /** Prefix of every secret of a regional stack. */
  secretPrefix: (stage: Stage, location: Location): string => `${names.prefix(stage)}/${location}/`,
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
};
