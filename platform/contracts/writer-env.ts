/**
 * The Cloud Storage writer's environment: one zod schema, read by its Cloud Functions entry point and used by
 * the Pulumi program to build the function's environment, so the two cannot drift. The writer drains the
 * regional Pub/Sub event topic (through a push subscription) into the event bucket. Every key starts with
 * `TS_`; values are strings, as Cloud Functions passes them.
 */
import { z } from 'zod';
import { envIssue, envWholeNumber, parseServiceEnv } from '../config';
import { LOCATIONS, PRIMARY_LOCATION, STAGES } from '../definition';

/** A subscription's full resource name, the form a push request's `subscription` field carries. */
export const PUBSUB_SUBSCRIPTION_PATTERN =
  /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/subscriptions\/[A-Za-z][\w.~+%-]{2,254}$/;

/** Defaults of the writer's group commit (see `services/writer/src/core/group-commit.ts`). */
export const WRITER_BATCH_DEFAULTS = {
  /** Longest a push waits for others to share its object, in milliseconds. */
  maxWaitMs: 1000,
  /** Records that close a batch at once. */
  maxRecords: 500,
  /** Bytes of record data that close a batch at once. */
  maxBytes: 8 * 1024 * 1024,
} as const;

/** Environment variables of the writer. */
export const writerEnvSchema = z
  .object({
    /** Deployment stage, on every log line. */
    TS_STAGE: z.enum([...STAGES, 'local']).default('local'),
    /** Location of this writer (the region of its topic and bucket), on every log line. */
    TS_LOCATION: z.enum(LOCATIONS).default(PRIMARY_LOCATION),
    /** Where the objects go: the regional Cloud Storage event bucket, or `<TS_DATA_DIR>/events/`. */
    TS_OBJECT_STORE: z.enum(['gcs', 'file']).default('file'),
    /** The event bucket (with `TS_OBJECT_STORE=gcs`), `names.gcpEventBucket(stage, location, project)`. */
    TS_EVENT_BUCKET: z.string().min(3).max(222).optional(),
    /** Local store with `TS_OBJECT_STORE=file`: objects go under `<TS_DATA_DIR>/events/`. */
    TS_DATA_DIR: z.string().min(1).default('.data'),
    /** Log level. */
    TS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * The only subscription whose pushes are accepted, in full (`projects/<p>/subscriptions/<s>`); a push
     * naming another is refused with 403.
     */
    TS_EVENT_SUBSCRIPTION: z
      .string()
      .regex(
        PUBSUB_SUBSCRIPTION_PATTERN,
        'must be a full subscription name, projects/<project>/subscriptions/<name>',
      ),
    /** Longest a push waits for others to share its object, in milliseconds. */
    TS_BATCH_MAX_WAIT_MS: envWholeNumber(0, 60_000).default(WRITER_BATCH_DEFAULTS.maxWaitMs),
    /** Records that close a batch at once. */
    TS_BATCH_MAX_RECORDS: envWholeNumber(1, 10_000).default(WRITER_BATCH_DEFAULTS.maxRecords),
  })
  .superRefine((env, ctx) => {
    if (env.TS_OBJECT_STORE === 'gcs' && !env.TS_EVENT_BUCKET)
      envIssue(ctx, 'TS_EVENT_BUCKET', 'is required when TS_OBJECT_STORE=gcs');
  });

/** The raw environment variables, as the Pulumi program sets them (all strings). */
export type WriterEnvInput = z.input<typeof writerEnvSchema>;
/** The parsed environment. */
export type WriterEnv = z.output<typeof writerEnvSchema>;

/**
 * Parses the environment (only `TS_*` variables; empty ones count as unset).
 * @throws Error naming every missing or malformed variable
 */
export function parseWriterEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined>): WriterEnv {
  return parseServiceEnv(writerEnvSchema, env, 'writer');
}
