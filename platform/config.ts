/**
 * Validated configuration: the per-stage configuration (CDK context, Pulumi config) and the parsing of a
 * service's `TS_*` environment, both failing with messages that name every bad key.
 */
import { z } from 'zod';
import { LOCATIONS, RETENTION, STAGES } from './definition';

const awsAccountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');

/**
 * Per-stage configuration. Validated at synth and at `pulumi up`; a missing or malformed value fails with
 * a message naming the key (see {@link parseStageConfig}).
 */
export const stageConfigSchema = z
  .object({
    /** The stage name. */
    stage: z.enum(STAGES),
    /** AWS account that hosts the stage; omitted for environment-agnostic local synth. */
    awsAccount: awsAccountId.optional(),
    /** GCP project that hosts the stage. */
    gcpProject: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project id')
      .optional(),
    /** Locations to deploy; all three unless narrowed for a cheap dev stage. */
    locations: z
      .array(z.enum(LOCATIONS))
      .nonempty()
      .default([...LOCATIONS]),
    /** Memory of the ingest function, in MiB. */
    ingestMemoryMb: z.number().int().min(128).max(10_240).default(512),
    /** Reserved concurrency of the ingest function in each region. */
    ingestReservedConcurrency: z.number().int().min(1).max(1000).default(50),
    /** Days that function logs are kept. */
    logRetentionDays: z.number().int().positive().default(RETENTION.logRetentionDays),
    /**
     * Point-in-time recovery period of the directory table, in days. A purge is irreversible only once it
     * has passed (a restore could bring shredded data keys back), so it is capped to keep that within the
     * 90-day promise.
     */
    directoryRecoveryDays: z
      .number({ error: 'must be a whole number of days' })
      .int('must be a whole number of days')
      .min(1, 'must be at least 1 (DynamoDB keeps point-in-time recovery for 1 to 35 days)')
      .max(
        RETENTION.maxDirectoryRecoveryDays,
        `must be at most ${RETENTION.maxDirectoryRecoveryDays}: a purge that finishes on day ${RETENTION.purgeAlarmAfterDays} after expiry must be irreversible by day ${RETENTION.purgeDeadlineDays}`,
      )
      .default(RETENTION.directoryRecoveryDays),
    /** Address that alarm notifications are sent to. */
    alarmEmail: z.email().optional(),
    /** Custom domain of the CDN, e.g. `t.example.com`. */
    domainName: z
      .string()
      .regex(
        /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
        'must be a lowercase DNS name',
      )
      .optional(),
  })
  .strict();

/** Validated stage configuration. */
export type StageConfig = z.infer<typeof stageConfigSchema>;

/** Raised when stage configuration is missing or malformed; its message names every bad key. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** Each problem as `key: reason`. */
    public readonly issues: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Formats zod issues as `path: message`, one per problem, naming the key. */
export function formatZodIssues(error: z.ZodError, root = ''): string[] {
  return error.issues.map((issue) => {
    const path = [root, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'}: ${issue.message}`;
  });
}

/**
 * Validates raw stage configuration (from CDK context, Pulumi config or a file).
 * @param raw the untrusted value
 * @param source where it came from, used in the error message (e.g. `cdk context "stage"`)
 * @throws ConfigError naming every missing or malformed key
 */
export function parseStageConfig(raw: unknown, source = 'stage config'): StageConfig {
  const result = stageConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatZodIssues(result.error);
    throw new ConfigError(`Invalid ${source}:\n  ${issues.join('\n  ')}`, issues);
  }
  return result.data;
}

/**
 * Parses a service's environment with its zod schema: only `TS_*` variables are read, and empty ones count
 * as unset (as Lambda and shells often leave them).
 * @param label names the service in the error, e.g. `ingest`
 * @throws Error naming every missing or malformed variable
 */
export function parseServiceEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
  label: string,
): z.output<S> {
  const picked: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('TS_') && v !== undefined && v !== '') picked[k] = v;
  const result = schema.safeParse(picked);
  if (!result.success)
    throw new Error(`Invalid ${label} environment:\n  ${formatZodIssues(result.error).join('\n  ')}`);
  return result.data;
}

/** Names a variable in a service environment's cross-field check (a zod `superRefine`). */
export function envIssue(ctx: z.RefinementCtx, variable: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [variable], message });
}
