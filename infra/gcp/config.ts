/**
 * Typed Pulumi configuration, read once. Each value is checked with the field schema of the platform's
 * `stageConfigSchema`, so `pulumi up` fails before any resource is touched when a key is missing or
 * malformed, and the message names the Pulumi key (`trackstack:locations`, `gcp:project`).
 */
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import {
  ConfigError,
  names,
  stageConfigSchema,
  type IngestLimitConfig,
  type Location,
  type Stage,
} from '../../platform';

/** Validated configuration of one GCP stack. */
export interface GcpStackConfig {
  /** GCP project that hosts the stage (`gcp:project`, also read by the provider). */
  readonly project: string;
  /** The stage this stack deploys. */
  readonly stage: Stage;
  /** Locations to deploy, without repeats; all three unless narrowed. */
  readonly locations: readonly Location[];
  /** Custom domain of the load balancer and CDN (a later slice serves it). */
  readonly domainName?: string;
  /** Address that alert policies notify (a later slice sends to it). */
  readonly alarmEmail?: string;
  /** Memory of the ingest function, in MiB. */
  readonly ingestMemoryMb: number;
  /** Most instances of the ingest function in each region (the AWS side's reserved concurrency). */
  readonly ingestMaxInstances: number;
  /** Days that function logs are kept. */
  readonly logRetentionDays: number;
  /** The ingest function's rate limits and key-status cache TTL (today's `LIMITS` unless set). */
  readonly ingestLimits: IngestLimitConfig;
}

const fields = stageConfigSchema.shape;

/**
 * The Pulumi keys of the GCP stack → the platform's field schema for each. The platform's cross-field
 * rules are not applied: they are AWS ones (a custom domain there needs an ACM certificate or a Route 53
 * zone; on GCP the load balancer's managed certificate needs neither).
 */
const gcpConfigSchema = z.object({
  'gcp:project': fields.gcpProject.unwrap(),
  'trackstack:stage': fields.stage,
  'trackstack:locations': fields.locations,
  'trackstack:domainName': fields.domainName,
  'trackstack:alarmEmail': fields.alarmEmail,
  'trackstack:ingestMemoryMb': fields.ingestMemoryMb,
  'trackstack:ingestMaxInstances': fields.ingestReservedConcurrency,
  'trackstack:logRetentionDays': fields.logRetentionDays,
  'trackstack:ingestIpRatePerSecond': fields.ingestIpRatePerSecond,
  'trackstack:ingestKeyRatePerSecond': fields.ingestKeyRatePerSecond,
  'trackstack:ingestPostbackIpRatePerSecond': fields.ingestPostbackIpRatePerSecond,
  'trackstack:ingestRateBurstSeconds': fields.ingestRateBurstSeconds,
  'trackstack:ingestKeyCacheSeconds': fields.ingestKeyCacheSeconds,
});

/** Every Pulumi key the program reads; `Pulumi.yaml` documents each (a unit test holds them together). */
export const CONFIG_KEYS = Object.keys(gcpConfigSchema.shape) as readonly string[];

/** Keys whose value is structured (a YAML list or a number), which the CLI hands over as JSON → what it must be. */
const STRUCTURED_KEYS: ReadonlyMap<string, string> = new Map([
  ['trackstack:locations', 'a YAML list'],
  ['trackstack:ingestMemoryMb', 'a number'],
  ['trackstack:ingestMaxInstances', 'a number'],
  ['trackstack:logRetentionDays', 'a number'],
  ['trackstack:ingestIpRatePerSecond', 'a number'],
  ['trackstack:ingestKeyRatePerSecond', 'a number'],
  ['trackstack:ingestPostbackIpRatePerSecond', 'a number'],
  ['trackstack:ingestRateBurstSeconds', 'a number'],
  ['trackstack:ingestKeyCacheSeconds', 'a number'],
]);

// GCS bucket names are global and at most 63 characters; the longest name the stack derives must fit.
const MAX_BUCKET_NAME = 63;

/**
 * Decodes the CLI's strings: structured keys from JSON. Unset and empty values are left out; a value that
 * is not JSON is reported in `undecodable` (key → problem) and left out too.
 */
function decode(raw: Readonly<Record<string, string | undefined>>) {
  const values: Record<string, unknown> = {};
  const undecodable = new Map<string, string>();
  for (const key of CONFIG_KEYS) {
    const text = raw[key];
    if (text === undefined || text === '') continue;
    const expected = STRUCTURED_KEYS.get(key);
    if (expected === undefined) {
      values[key] = text;
      continue;
    }
    try {
      values[key] = JSON.parse(text) as unknown;
    } catch {
      undecodable.set(key, `must be ${expected}, got "${text}"`);
    }
  }
  return { values, undecodable };
}

/**
 * Validates raw values keyed by Pulumi key (strings as the CLI hands them to the program).
 * @param raw Pulumi key → its value, `undefined` when unset
 * @param source where the values came from, for the error message
 * @throws ConfigError naming every missing or malformed key
 */
export function parseGcpConfig(
  raw: Readonly<Record<string, string | undefined>>,
  source = 'Pulumi config',
): GcpStackConfig {
  const { values, undecodable } = decode(raw);
  const issues = [...undecodable].map(([key, problem]) => `${key}: ${problem}`);
  const result = gcpConfigSchema.safeParse(values);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const [key = '(root)', ...rest] = issue.path.map(String);
      if (undecodable.has(key)) continue;
      // zod says "expected string, received undefined" for a missing key; say what is wrong instead.
      const message = values[key] === undefined ? 'is required' : issue.message;
      issues.push(`${[key, ...rest].join('.')}: ${message}`);
    }
  }
  if (result.success && issues.length === 0) {
    const c = result.data;
    const stage = c['trackstack:stage'];
    const project = c['gcp:project'];
    const locations = [...new Set(c['trackstack:locations'])];
    const longest = Math.max(
      ...locations.map((l) => names.gcpEventBucket(stage, l, project).length),
      names.gcpConfigBucket(stage, project).length,
      names.gcpReceiptsBucket(stage, project).length,
      names.gcpSourceBucket(stage, project).length,
    );
    if (longest <= MAX_BUCKET_NAME)
      return {
        project,
        stage,
        locations,
        ...(c['trackstack:domainName'] !== undefined && { domainName: c['trackstack:domainName'] }),
        ...(c['trackstack:alarmEmail'] !== undefined && { alarmEmail: c['trackstack:alarmEmail'] }),
        ingestMemoryMb: c['trackstack:ingestMemoryMb'],
        ingestMaxInstances: c['trackstack:ingestMaxInstances'],
        logRetentionDays: c['trackstack:logRetentionDays'],
        ingestLimits: {
          ingestIpRatePerSecond: c['trackstack:ingestIpRatePerSecond'],
          ingestKeyRatePerSecond: c['trackstack:ingestKeyRatePerSecond'],
          ingestPostbackIpRatePerSecond: c['trackstack:ingestPostbackIpRatePerSecond'],
          ingestRateBurstSeconds: c['trackstack:ingestRateBurstSeconds'],
          ingestKeyCacheSeconds: c['trackstack:ingestKeyCacheSeconds'],
        },
      };
    issues.push(
      `gcp:project: is too long for the bucket names of stage "${stage}" (${longest} > ${MAX_BUCKET_NAME} characters)`,
    );
  }
  throw new ConfigError(`Invalid ${source}:\n  ${issues.join('\n  ')}`, issues);
}

/** Reads and validates the running stack's configuration; call once, at the top of the program. */
export function loadConfig(): GcpStackConfig {
  const raw: Record<string, string | undefined> = {};
  for (const key of CONFIG_KEYS) {
    const [namespace, name] = key.split(':') as [string, string];
    raw[key] = new pulumi.Config(namespace).get(name);
  }
  return parseGcpConfig(raw, `Pulumi config of stack "${pulumi.getStack()}"`);
}
