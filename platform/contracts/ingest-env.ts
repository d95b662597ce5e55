/**
 * The ingest service's environment: one zod schema, read by the handler at start-up and used by the CDK
 * construct (and the Pulumi component) to build the function's environment, so the two cannot drift.
 */
import { z } from 'zod';
import {
  envIssue,
  envWholeNumber,
  KEY_CACHE_TOO_LONG,
  MAX_RATE_BURST_SECONDS,
  MAX_SERVICE_RATE_PER_SECOND,
  parseServiceEnv,
  type StageConfig,
} from '../config';
import { ID_PATTERNS, LIMITS, LOCATIONS, STAGES, type Location } from '../definition';

/** The proxies whose client-address headers the service can be told to trust (see `TS_TRUST_PROXY`). */
export const TRUSTED_PROXIES = ['none', 'cloudfront', 'google-lb'] as const;
/** One of {@link TRUSTED_PROXIES}. */
export type TrustedProxy = (typeof TRUSTED_PROXIES)[number];

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** GCP's project id rule: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter. */
const GCP_PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/** Pub/Sub's topic id rule: 3-255 characters, a letter first, then letters, digits and `-_.~+%`. */
const PUBSUB_TOPIC_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
/** A Cloud KMS key's full resource name; key ring and key ids are 1-63 letters, digits, `_` or `-`. */
const CLOUD_KMS_KEY_NAME =
  /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]{1,63}\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;
/** Firestore's database id rule: `(default)`, or 4-63 lowercase letters, digits and hyphens. */
const FIRESTORE_DATABASE_ID = /^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/;

/**
 * `TS_HOME_LOCATIONS`: a JSON object of account id → home location. Each problem is reported with the key
 * it is about, so a stage configuration with one bad entry says which.
 */
const homeLocations = z.string().transform((raw, ctx): Readonly<Record<string, Location>> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a JSON object of account id to location, e.g. {"acc_example01":"europe"} (${(err as Error).message})`,
    });
    return z.NEVER;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a JSON object of account id to location, e.g. {"acc_example01":"europe"}',
    });
    return z.NEVER;
  }
  // A null-prototype copy: an account id can never collide with an Object.prototype member.
  const out: Record<string, Location> = Object.create(null) as Record<string, Location>;
  for (const [accountId, location] of Object.entries(parsed)) {
    if (!ID_PATTERNS.account.test(accountId))
      ctx.addIssue({
        code: 'custom',
        path: [accountId],
        message: 'is not an account id ("acc_" followed by 8-32 lowercase letters or digits)',
      });
    else if (typeof location !== 'string' || !(LOCATIONS as readonly string[]).includes(location))
      ctx.addIssue({
        code: 'custom',
        path: [accountId],
        message: `must be one of ${LOCATIONS.join(', ')}`,
      });
    else out[accountId] = location as Location;
  }
  return out;
});

/** A per-second rate of an ingest limiter in the environment; today's value from `LIMITS` when unset. */
const rate = (fallback: number) => envWholeNumber(1, MAX_SERVICE_RATE_PER_SECOND).default(fallback);

/**
 * `TS_KEY_CACHE_SECONDS`: 1 to `LIMITS.keyStatusCacheSeconds`. Checked here rather than only where the
 * cache is built, so a deployment with a longer TTL fails at synth (the construct parses its environment)
 * and at start-up with the reason, not at the first request.
 */
const keyCacheSeconds = z
  .string()
  .regex(/^\d+$/, `must be a whole number of seconds from 1 to ${LIMITS.keyStatusCacheSeconds}`)
  .transform(Number)
  .pipe(z.number().min(1, 'must be at least 1 second').max(LIMITS.keyStatusCacheSeconds, KEY_CACHE_TOO_LONG))
  .default(LIMITS.keyStatusCacheSeconds);

/** Environment variables of the ingest service. Every key starts with `TS_`. */
export const ingestEnvSchema = z
  .object({
    /** Deployment stage. */
    TS_STAGE: z.enum([...STAGES, 'local']).default('local'),
    /** Serving location of this instance. */
    TS_LOCATION: z.enum(LOCATIONS).default('americas'),
    /** Which sink stores events. */
    TS_SINK: z.enum(['file', 'firehose', 'pubsub']).default('file'),
    /**
     * Firehose delivery stream names, comma-separated, in stream-index order (with `TS_SINK=firehose`): an
     * account's events go to stream `eventStreamIndex(accountId, count)` (platform/layout.ts).
     */
    TS_FIREHOSE_STREAMS: z
      .string()
      .regex(
        /^[a-zA-Z0-9_.-]{1,64}(,[a-zA-Z0-9_.-]{1,64})*$/,
        'must be a comma-separated list of stream names',
      )
      .transform((v) => v.split(','))
      .refine(
        (v) => v.length <= LIMITS.maxEventStreams,
        `must name at most ${LIMITS.maxEventStreams} streams`,
      )
      .refine((v) => new Set(v).size === v.length, 'must not name a stream twice')
      .optional(),
    /** Pub/Sub topic's short name, in `TS_GCP_PROJECT` (with `TS_SINK=pubsub`). */
    TS_PUBSUB_TOPIC: z
      .string()
      .regex(PUBSUB_TOPIC_ID, {
        error: (issue) =>
          typeof issue.input === 'string' && issue.input.includes('/')
            ? "must be the topic's short name, not its full resource name"
            : 'must be a Pub/Sub topic id: 3-255 characters, a letter first, then letters, digits or -_.~+%',
      })
      .refine((v) => !v.toLowerCase().startsWith('goog'), 'must not start with "goog" (reserved by Pub/Sub)')
      .optional(),
    /** GCP project of the topic and the Firestore database (with `TS_SINK=pubsub` or `TS_DIRECTORY=firestore`). */
    TS_GCP_PROJECT: z
      .string()
      .regex(
        GCP_PROJECT_ID,
        'must be a GCP project id: 6-30 lowercase letters, digits or hyphens, a letter first, no hyphen last',
      )
      .optional(),
    /** Which key provider wraps data keys. */
    TS_KEY_PROVIDER: z.enum(['local', 'kms', 'cloudkms']).default('local'),
    /** KMS key id, ARN or `alias/...` (with `TS_KEY_PROVIDER=kms`). */
    TS_KMS_KEY_ID: z.string().min(1).max(2048).optional(),
    /**
     * Cloud KMS key's full resource name, `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>` (with
     * `TS_KEY_PROVIDER=cloudkms`); no `/cryptoKeyVersions/`: Cloud KMS encrypts with the primary version.
     */
    TS_CLOUD_KMS_KEY: z
      .string()
      .regex(
        CLOUD_KMS_KEY_NAME,
        'must be a Cloud KMS key name: projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>',
      )
      .optional(),
    /** Which directory holds accounts and keys. */
    TS_DIRECTORY: z.enum(['file', 'dynamodb', 'firestore']).default('file'),
    /** DynamoDB table name (with `TS_DIRECTORY=dynamodb`). */
    TS_TABLE_NAME: z.string().min(3).max(255).optional(),
    /** Firestore database id in `TS_GCP_PROJECT` (with `TS_DIRECTORY=firestore`). */
    TS_FIRESTORE_DATABASE: z
      .string()
      .regex(
        FIRESTORE_DATABASE_ID,
        'must be a Firestore database id: (default), or 4-63 lowercase letters, digits or hyphens, a letter first',
      )
      .default('(default)'),
    /** Directory for local files: segments, spool, key file, directory file. */
    TS_DATA_DIR: z.string().min(1).default('.data'),
    /** Where the disk spool lives (defaults to `<TS_DATA_DIR>/spool`; `/tmp/spool` on Lambda). */
    TS_SPOOL_DIR: z.string().min(1).optional(),
    /** Serve `/snippet.js`, `/config/*.json` and `/demo` (embedded defaults only). */
    TS_LOCAL_MODE: bool.default(false),
    /** pino log level. */
    TS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Emit CloudWatch Embedded Metric Format lines. */
    TS_METRICS_EMF: bool.default(false),
    /**
     * Which proxy's headers give the client IP and country: `cloudfront` (CloudFront-Viewer-Address and
     * CloudFront-Viewer-Country), `google-lb` (the entry the Google load balancer appends to
     * X-Forwarded-For, and the X-Client-Geo-Country it sets), or `none` (the socket's address, no country).
     * Only a header the proxy itself sets is read, never one a client could send.
     */
    TS_TRUST_PROXY: z
      .enum(TRUSTED_PROXIES, {
        error: (issue) =>
          issue.input === 'true'
            ? `must name the proxy in front of the service: ${TRUSTED_PROXIES.join(', ')}`
            : `must be one of ${TRUSTED_PROXIES.join(', ')}`,
      })
      .default('none'),
    /**
     * Shared secret that the CDN adds as `x-origin-verify`; when set, requests without it get 403, so the
     * origin answers only traffic that came through the CDN.
     */
    TS_ORIGIN_SECRET: z.string().min(16).max(256).optional(),
    /**
     * Secrets Manager id (name or ARN) of the origin secret, read once at start-up; how deployed functions get
     * it, so the value never appears in a template or the function's configuration.
     */
    TS_ORIGIN_SECRET_ID: z.string().min(1).max(2048).optional(),
    /**
     * Home locations of resident accounts (data residency), from the stage configuration: a JSON object
     * `{"<accountId>": "<location>"}`. A hit for an account whose home is another location is refused with
     * 421 before anything is stored; accounts not named here fall back to the directory record's
     * `homeLocation`.
     */
    TS_HOME_LOCATIONS: homeLocations.optional(),
    /** Hits per second admitted from one client IP (browser hits; a batch counts each of its events). */
    TS_IP_RATE_PER_SECOND: rate(LIMITS.ipRatePerSecond),
    /** Postbacks per second admitted from one API key. */
    TS_KEY_RATE_PER_SECOND: rate(LIMITS.apiKeyRatePerSecond),
    /** Postbacks per second admitted from one client IP. */
    TS_POSTBACK_IP_RATE_PER_SECOND: rate(LIMITS.postbackIpRatePerSecond),
    /** Seconds' worth of each rate above that a client may send at once (the token bucket's size). */
    TS_RATE_BURST_SECONDS: envWholeNumber(1, MAX_RATE_BURST_SECONDS).default(LIMITS.rateBurstSeconds),
    /**
     * Seconds an account's or API key's status is trusted from memory: a revoked key is refused within
     * this. At most `LIMITS.keyStatusCacheSeconds` (60).
     */
    TS_KEY_CACHE_SECONDS: keyCacheSeconds,
  })
  .superRefine((env, ctx) => {
    if (env.TS_SINK === 'firehose' && !env.TS_FIREHOSE_STREAMS)
      envIssue(ctx, 'TS_FIREHOSE_STREAMS', 'is required when TS_SINK=firehose');
    if (env.TS_KEY_PROVIDER === 'kms' && !env.TS_KMS_KEY_ID)
      envIssue(ctx, 'TS_KMS_KEY_ID', 'is required when TS_KEY_PROVIDER=kms');
    if (env.TS_ORIGIN_SECRET && env.TS_ORIGIN_SECRET_ID)
      envIssue(ctx, 'TS_ORIGIN_SECRET_ID', 'must not be set together with TS_ORIGIN_SECRET');
    if (env.TS_DIRECTORY === 'dynamodb' && !env.TS_TABLE_NAME)
      envIssue(ctx, 'TS_TABLE_NAME', 'is required when TS_DIRECTORY=dynamodb');
    if (env.TS_SINK === 'pubsub' && !env.TS_PUBSUB_TOPIC)
      envIssue(ctx, 'TS_PUBSUB_TOPIC', 'is required when TS_SINK=pubsub');
    if (env.TS_KEY_PROVIDER === 'cloudkms' && !env.TS_CLOUD_KMS_KEY)
      envIssue(ctx, 'TS_CLOUD_KMS_KEY', 'is required when TS_KEY_PROVIDER=cloudkms');
    if (!env.TS_GCP_PROJECT) {
      if (env.TS_SINK === 'pubsub') envIssue(ctx, 'TS_GCP_PROJECT', 'is required when TS_SINK=pubsub');
      else if (env.TS_DIRECTORY === 'firestore')
        envIssue(ctx, 'TS_GCP_PROJECT', 'is required when TS_DIRECTORY=firestore');
    }
  });

/** The raw environment variables, as a construct sets them (all strings). */
export type IngestEnvInput = z.input<typeof ingestEnvSchema>;
/** The parsed environment. */
export type IngestEnv = z.output<typeof ingestEnvSchema>;

/**
 * Parses the environment.
 * @throws Error naming every missing or malformed variable
 */
export function parseIngestEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined>): IngestEnv {
  return parseServiceEnv(ingestEnvSchema, env, 'ingest');
}

/** The stage configuration's ingest limits, as {@link ingestLimitEnvironment} takes them. */
export type IngestLimitConfig = Pick<
  StageConfig,
  | 'ingestIpRatePerSecond'
  | 'ingestKeyRatePerSecond'
  | 'ingestPostbackIpRatePerSecond'
  | 'ingestRateBurstSeconds'
  | 'ingestKeyCacheSeconds'
>;

/**
 * The function environment's limit variables from the stage configuration: the CDK construct and the Pulumi
 * component both build them here, so the two clouds cannot map a setting to a different variable.
 */
export function ingestLimitEnvironment(limits: IngestLimitConfig) {
  return {
    TS_IP_RATE_PER_SECOND: String(limits.ingestIpRatePerSecond),
    TS_KEY_RATE_PER_SECOND: String(limits.ingestKeyRatePerSecond),
    TS_POSTBACK_IP_RATE_PER_SECOND: String(limits.ingestPostbackIpRatePerSecond),
    TS_RATE_BURST_SECONDS: String(limits.ingestRateBurstSeconds),
    TS_KEY_CACHE_SECONDS: String(limits.ingestKeyCacheSeconds),
  } satisfies IngestEnvInput;
}
