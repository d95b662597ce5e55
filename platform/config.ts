/**
 * Validated configuration: the per-stage configuration (CDK context, Pulumi config) and the parsing of a
 * service's `TS_*` environment, both failing with messages that name every bad key.
 */
import { z } from 'zod';
import { ID_PATTERNS, LIMITS, LOCATIONS, RETENTION, STAGES, type Location } from './definition';

const awsAccountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');

/** Most accounts a stage may pin to a home location in its configuration (the rest use the directory). */
export const MAX_STAGE_HOME_LOCATIONS = 100;

// Each WAF rate-based rule counts requests over five minutes; AWS refuses limits under 10, and anything under
// 100 would throttle a single busy office behind one address.
const wafRateLimit = (fallback: number) =>
  z
    .number({ error: 'must be a whole number of requests per 5 minutes' })
    .int('must be a whole number of requests per 5 minutes')
    .min(100, 'must be at least 100 requests per 5 minutes')
    .max(2_000_000_000, 'must be at most 2000000000 (the WAF limit)')
    .default(fallback);

/** Highest per-second rate an operator may set for an ingest limiter (per IP or per API key). */
export const MAX_SERVICE_RATE_PER_SECOND = 100_000;
/** Longest burst, in seconds of the rate, an operator may set for the ingest limiters. */
export const MAX_RATE_BURST_SECONDS = 3600;
/** Why a key-status cache longer than `LIMITS.keyStatusCacheSeconds` is refused, wherever it is set. */
export const KEY_CACHE_TOO_LONG = `must be at most ${LIMITS.keyStatusCacheSeconds} seconds: a revoked API key or an expired account must be refused everywhere within ${LIMITS.keyStatusCacheSeconds} s`;

// An ingest limiter's rate, per second: zero would refuse every request, so 1 is the least.
const serviceRate = (fallback: number) =>
  z
    .number({ error: 'must be a whole number of requests per second' })
    .int('must be a whole number of requests per second')
    .min(1, 'must be at least 1 request per second')
    .max(MAX_SERVICE_RATE_PER_SECOND, `must be at most ${MAX_SERVICE_RATE_PER_SECOND} requests per second`)
    .default(fallback);

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
    /**
     * Firehose streams per region that the stage's accounts are spread over (by `eventStreamIndex`), so that
     * no stream holds more active partitions (account and day) than its quota allows. `npm run capacity`
     * says how many a number of active accounts needs.
     */
    eventStreams: z
      .number({ error: 'must be a whole number of streams' })
      .int('must be a whole number of streams')
      .min(1, 'must be at least 1')
      .max(LIMITS.maxEventStreams, `must be at most ${LIMITS.maxEventStreams}`)
      .default(1),
    /**
     * The account's Firehose active-partition quota per stream in the stage's regions: 500 unless AWS raised
     * it on request (up to 5,000). The partition alarms fire at 80% of it.
     */
    firehoseActivePartitionQuota: z
      .number({ error: 'must be a whole number of partitions' })
      .int('must be a whole number of partitions')
      .min(
        LIMITS.firehoseActivePartitions,
        `must be at least ${LIMITS.firehoseActivePartitions} (the default quota)`,
      )
      .max(
        LIMITS.firehoseMaxActivePartitions,
        `must be at most ${LIMITS.firehoseMaxActivePartitions} (the most AWS grants)`,
      )
      .default(LIMITS.firehoseActivePartitions),
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
    /**
     * Custom domain of the CDN, e.g. `t.example.com`: the distribution answers on it with TLS 1.2 or later
     * (security policy TLSv1.2_2021). Needs either `certificateArn` or `hostedZoneId`. Without it, the
     * CDN uses its default `*.cloudfront.net` certificate, with which CloudFront allows TLSv1.
     */
    domainName: z
      .string()
      .regex(
        /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
        'must be a lowercase DNS name',
      )
      .optional(),
    /**
     * ARN of an issued ACM certificate in us-east-1 (CloudFront reads certificates only there) that covers
     * `domainName`. When omitted with a `domainName`, the edge stack requests one, validated through DNS in
     * `hostedZoneId`.
     */
    certificateArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/,
        'must be the ARN of an ACM certificate in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>)',
      )
      .optional(),
    /**
     * Route 53 public hosted zone that holds `domainName`: the edge stack adds the alias records (A and
     * AAAA) for the distribution there and, without `certificateArn`, the certificate's validation record.
     */
    hostedZoneId: z
      .string()
      .regex(/^Z[A-Z0-9]{1,31}$/, 'must be a Route 53 hosted zone id (Z followed by letters and digits)')
      .optional(),
    /**
     * Accounts pinned to a home location by the stage itself (data residency: the edge never routes their
     * hits elsewhere, even when that location is down): account id → location. Each location must be one
     * of the stage's `locations`. Accounts can also get a home location in the directory.
     */
    homeLocations: z
      // Keys are checked in the superRefine below: zod reports a bad record key only as "Invalid key".
      .record(z.string(), z.enum(LOCATIONS, { error: `must be one of ${LOCATIONS.join(', ')}` }))
      .refine((r) => Object.keys(r).length <= MAX_STAGE_HOME_LOCATIONS, {
        message: `must hold at most ${MAX_STAGE_HOME_LOCATIONS} accounts (the routing function's size limit); give the others a home location in the directory`,
      })
      .optional(),
    /** Requests a single client IP may send in 5 minutes before the WAF blocks it. */
    wafIpRequestsPer5Min: wafRateLimit(2000),
    /** Requests a single API key (`x-api-key`) may send in 5 minutes before the WAF blocks it. */
    wafApiKeyRequestsPer5Min: wafRateLimit(60_000),
    /**
     * Automatic containment: the per-key anomaly alarms (abnormal request rate, many distinct IPs or
     * countries) invoke the containment function, which opens an incident and revokes the key. Off, the
     * on-call topic is told and an operator runs `npm run incident -- revoke-key`.
     */
    autoContain: z.boolean({ error: 'must be true or false' }).default(false),
    /**
     * A GuardDuty detector in each of the stage's regions, its findings of medium severity or higher routed
     * to the incident topic. Off by default: an account holds one detector per region, which may already
     * exist outside the stage.
     */
    guardDuty: z.boolean({ error: 'must be true or false' }).default(false),
    /** Hits per second the ingest service admits from one client IP (`TS_IP_RATE_PER_SECOND`). */
    ingestIpRatePerSecond: serviceRate(LIMITS.ipRatePerSecond),
    /** Postbacks per second the ingest service admits from one API key (`TS_KEY_RATE_PER_SECOND`). */
    ingestKeyRatePerSecond: serviceRate(LIMITS.apiKeyRatePerSecond),
    /** Postbacks per second the ingest service admits from one client IP (`TS_POSTBACK_IP_RATE_PER_SECOND`). */
    ingestPostbackIpRatePerSecond: serviceRate(LIMITS.postbackIpRatePerSecond),
    /**
     * Seconds' worth of each rate a client may send at once before the rate applies (`TS_RATE_BURST_SECONDS`).
     */
    ingestRateBurstSeconds: z
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(1, 'must be at least 1 second')
      .max(MAX_RATE_BURST_SECONDS, `must be at most ${MAX_RATE_BURST_SECONDS} seconds`)
      .default(LIMITS.rateBurstSeconds),
    /**
     * Seconds an instance trusts a cached account or API-key status (`TS_KEY_CACHE_SECONDS`): lower it to
     * refuse a revoked key sooner, at the cost of more directory reads. Never above
     * `LIMITS.keyStatusCacheSeconds`, the bound within which a revoked key must be refused everywhere.
     */
    ingestKeyCacheSeconds: z
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(1, 'must be at least 1 second')
      .max(LIMITS.keyStatusCacheSeconds, KEY_CACHE_TOO_LONG)
      .default(LIMITS.keyStatusCacheSeconds),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const [account, location] of Object.entries(config.homeLocations ?? {})) {
      if (!ID_PATTERNS.account.test(account)) {
        ctx.addIssue({
          code: 'custom',
          path: ['homeLocations', account],
          message: 'must be keyed by an account id (acc_ and 8 to 32 lowercase letters or digits)',
        });
      } else if (!config.locations.includes(location)) {
        ctx.addIssue({
          code: 'custom',
          path: ['homeLocations', account],
          message: `must be one of the stage's locations (${config.locations.join(', ')}); got "${location}"`,
        });
      }
    }
    if (config.certificateArn !== undefined && config.domainName === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['certificateArn'],
        message: 'requires domainName (the certificate is for the custom domain)',
      });
    }
    if (config.hostedZoneId !== undefined && config.domainName === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostedZoneId'],
        message: 'requires domainName (the zone holds the custom domain)',
      });
    }
    if (
      config.domainName !== undefined &&
      config.certificateArn === undefined &&
      config.hostedZoneId === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['domainName'],
        message:
          'requires certificateArn (an ACM certificate in us-east-1) or hostedZoneId (to request one validated through DNS)',
      });
    }
  });

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

/** A whole number in an environment variable (a string), within bounds. */
export function envWholeNumber(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** A comma-separated list of locations in an environment variable, all three by default, without repeats. */
export function envLocationList() {
  return z
    .string()
    .regex(
      new RegExp(`^(${LOCATIONS.join('|')})(,(${LOCATIONS.join('|')}))*$`),
      `must be a comma-separated list of ${LOCATIONS.join(', ')}`,
    )
    .default(LOCATIONS.join(','))
    .transform((v) => [...new Set(v.split(','))] as Location[]);
}
