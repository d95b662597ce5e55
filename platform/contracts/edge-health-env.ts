/**
 * The edge health check's environment: one zod schema, read by its handler and used by the CDK construct to
 * build the function's environment. The check probes each location through the CDN
 * (`<TS_EDGE_URL>` + `edgeHealthPath(location)`) and keeps the edge store's `down` key up to date.
 */
import { z } from 'zod';
import { envIssue, envLocationList, envWholeNumber, parseServiceEnv } from '../config';
import { STAGES } from '../definition';

const count = envWholeNumber;

/** Environment variables of the edge health check. Every key starts with `TS_`. */
export const edgeHealthEnvSchema = z
  .object({
    /** Deployment stage. */
    TS_STAGE: z.enum([...STAGES, 'local']).default('local'),
    /** The locations the stage deploys, comma-separated: each is probed. */
    TS_LOCATIONS: envLocationList(),
    /** Base URL of the CDN, e.g. `https://d111111abcdef8.cloudfront.net` (no trailing slash). */
    TS_EDGE_URL: z.url({ protocol: /^https?$/ }).transform((v) => v.replace(/\/+$/, '')),
    /** Which edge store holds the routing state: the CloudFront KeyValueStore, or a local file. */
    TS_EDGE_STORE: z.enum(['kvs', 'file']).default('file'),
    /** ARN of the KeyValueStore (with `TS_EDGE_STORE=kvs`). */
    TS_KVS_ARN: z.string().min(1).max(2048).optional(),
    /** Local folder of `edge-store.json` (with `TS_EDGE_STORE=file`). */
    TS_DATA_DIR: z.string().min(1).default('.data'),
    /** Probes per location per run; a location changes state only when all of them agree. */
    TS_PROBES: count(1, 10).default(3),
    /** Milliseconds between two probes of one run. */
    TS_PROBE_INTERVAL_MS: count(0, 60_000).default(10_000),
    /** Milliseconds a probe may take before it counts as failed. */
    TS_PROBE_TIMEOUT_MS: count(100, 30_000).default(3_000),
    /** Log level. */
    TS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.TS_EDGE_STORE === 'kvs' && !env.TS_KVS_ARN)
      envIssue(ctx, 'TS_KVS_ARN', 'is required when TS_EDGE_STORE=kvs');
  });

/** The raw environment variables, as a construct sets them (all strings). */
export type EdgeHealthEnvInput = z.input<typeof edgeHealthEnvSchema>;
/** The parsed environment. */
export type EdgeHealthEnv = z.output<typeof edgeHealthEnvSchema>;

/**
 * Parses the environment (only `TS_*` variables; empty ones count as unset).
 * @throws Error naming every missing or malformed variable
 */
export function parseEdgeHealthEnv(
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
): EdgeHealthEnv {
  return parseServiceEnv(edgeHealthEnvSchema, env, 'edge health');
}
