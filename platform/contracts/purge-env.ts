/**
 * The purge job's environment: one zod schema, read by the Lambda handler and the CLI and used by the
 * CDK construct to build the function's environment, so the two cannot drift (like the ingest service's
 * `env.ts`). Every key starts with `TS_`; values are strings, as Lambda passes them.
 *
 * Names of resources are checked only for being present and of sane length: at synth they are CDK
 * tokens, and S3 or DynamoDB refuse a malformed name at the first call anyway.
 */
import { z } from 'zod';
import { envIssue, envLocationList, envWholeNumber, parseServiceEnv } from '../config';
import { LOCATIONS, PRIMARY_LOCATION, REGIONS, RETENTION, STAGES, type Location } from '../definition';

/** The variable that names a location's event bucket, e.g. `TS_EVENT_BUCKET_EUROPE`. */
export function eventBucketVariable(location: Location): `TS_EVENT_BUCKET_${Uppercase<Location>}` {
  return `TS_EVENT_BUCKET_${location.toUpperCase() as Uppercase<Location>}`;
}

const resourceName = z.string().min(1).max(2048);
const wholeNumber = envWholeNumber;

/** Environment variables of the purge job. */
export const purgeEnvSchema = z
  .object({
    /** Deployment stage; names the metrics namespace `trackstack/<stage>`. */
    TS_STAGE: z.enum([...STAGES, 'local']).default('local'),
    /** Location of this instance: the metrics dimension, and the region of its directory replica. */
    TS_LOCATION: z.enum(LOCATIONS).default(PRIMARY_LOCATION),
    /**
     * Every location the stage deploys, comma-separated. With the S3 event store each needs its bucket: an
     * account counts as purged only once all of them have been emptied, so a job that could not reach one
     * must not run at all.
     */
    TS_LOCATIONS: envLocationList(),
    /** Which directory holds accounts, keys and campaigns. */
    TS_DIRECTORY: z.enum(['file', 'dynamodb', 'firestore']).default('file'),
    /** DynamoDB table (with `TS_DIRECTORY=dynamodb`), `names.directoryTable(stage)`. */
    TS_TABLE_NAME: z.string().min(3).max(255).optional(),
    /** The GCP project (with `TS_DIRECTORY=firestore`). */
    TS_GCP_PROJECT: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
        'must be a GCP project id: 6-30 lowercase letters, digits or hyphens, a letter first, no hyphen last',
      )
      .optional(),
    /** The Firestore database id (with `TS_DIRECTORY=firestore`), `names.gcpDirectoryDatabase(stage)`. */
    TS_FIRESTORE_DATABASE: z
      .string()
      .regex(
        /^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/,
        'must be a Firestore database id: (default), or 4-63 lowercase letters, digits or hyphens, a letter first',
      )
      .default('(default)'),
    /** Which event store holds the events. */
    TS_OBJECT_STORE: z.enum(['file', 's3', 'gcs']).default('file'),
    /**
     * Event bucket of each location of `TS_LOCATIONS` (with `TS_OBJECT_STORE=s3` or `gcs`),
     * `names.eventBucket(stage, location, account)` or `names.gcpEventBucket(...)`. Each is searched for every account.
     */
    TS_EVENT_BUCKET_AMERICAS: resourceName.optional(),
    TS_EVENT_BUCKET_EUROPE: resourceName.optional(),
    TS_EVENT_BUCKET_APAC: resourceName.optional(),
    /** Which store receives receipts. */
    TS_RECEIPT_STORE: z.enum(['file', 's3', 'gcs']).default('file'),
    /** The receipts bucket with Object Lock (with `TS_RECEIPT_STORE=s3`), `names.purgeReceiptsBucket(stage, account)`. */
    TS_RECEIPTS_BUCKET: resourceName.optional(),
    /** Region of the receipts bucket (AWS only: checked with `TS_RECEIPT_STORE=s3`, ignored otherwise). */
    TS_RECEIPTS_REGION: z.string().default(REGIONS[PRIMARY_LOCATION].aws),
    /** Days each receipt stays locked (compliance mode). */
    TS_RECEIPT_RETENTION_DAYS: wholeNumber(1, 36_500).default(RETENTION.receiptRetentionDays),
    /**
     * The edge's config bucket (in us-east-1), `names.configBucket(stage, account)`: when set, a purged
     * account's published campaign configs are deleted from it, every version. Unset, they are deleted from
     * the local config folder with the file directory, and not at all otherwise.
     */
    TS_CONFIG_BUCKET: resourceName.optional(),
    /** Local store (events, `directory.json`, receipts) with the file stores. */
    TS_DATA_DIR: z.string().min(1).default('.data'),
    /**
     * No new batch or account is started after this many seconds; the next run continues. In Lambda the
     * handler also keeps 30 s of the invocation's remaining time in reserve.
     */
    TS_TIME_BUDGET_SECONDS: wholeNumber(0, 86_400).default(600),
    /** Log level: `info` logs every account's outcome; `warn` only problems. */
    TS_LOG_LEVEL: z.enum(['info', 'warn', 'error', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.TS_DIRECTORY === 'dynamodb' && !env.TS_TABLE_NAME)
      envIssue(ctx, 'TS_TABLE_NAME', 'is required when TS_DIRECTORY=dynamodb');
    if (env.TS_DIRECTORY === 'firestore' && !env.TS_GCP_PROJECT)
      envIssue(ctx, 'TS_GCP_PROJECT', 'is required when TS_DIRECTORY=firestore');
    if (env.TS_OBJECT_STORE === 's3' || env.TS_OBJECT_STORE === 'gcs') {
      for (const l of LOCATIONS) {
        const variable = eventBucketVariable(l);
        if (env.TS_LOCATIONS.includes(l) && !env[variable])
          envIssue(
            ctx,
            variable,
            `is required when TS_OBJECT_STORE=${env.TS_OBJECT_STORE} and TS_LOCATIONS includes ${l}`,
          );
        if (!env.TS_LOCATIONS.includes(l) && env[variable])
          envIssue(
            ctx,
            variable,
            `is set but TS_LOCATIONS (${env.TS_LOCATIONS.join(',')}) does not include ${l}`,
          );
      }
    }
    if (env.TS_RECEIPT_STORE !== 'file' && !env.TS_RECEIPTS_BUCKET)
      envIssue(ctx, 'TS_RECEIPTS_BUCKET', `is required when TS_RECEIPT_STORE=${env.TS_RECEIPT_STORE}`);
    // A GCS receipts bucket has a location, not an AWS region: the variable matters only to S3.
    if (env.TS_RECEIPT_STORE === 's3' && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(env.TS_RECEIPTS_REGION))
      envIssue(ctx, 'TS_RECEIPTS_REGION', 'must be an AWS region such as us-east-1');
  });

/** The raw environment variables, as a construct sets them (all strings). */
export type PurgeEnvInput = z.input<typeof purgeEnvSchema>;
/** The parsed environment. */
export type PurgeEnv = z.output<typeof purgeEnvSchema>;

/** The event buckets of a parsed environment, by location (those of `TS_LOCATIONS`). */
export function eventBuckets(env: PurgeEnv): Partial<Record<Location, string>> {
  const out: Partial<Record<Location, string>> = {};
  for (const l of env.TS_LOCATIONS) {
    const bucket = env[eventBucketVariable(l)];
    if (bucket) out[l] = bucket;
  }
  return out;
}

/**
 * Parses the environment (only `TS_*` variables; empty ones count as unset).
 * @throws Error naming every missing or malformed variable
 */
export function parsePurgeEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined>): PurgeEnv {
  return parseServiceEnv(purgeEnvSchema, env, 'purge');
}
