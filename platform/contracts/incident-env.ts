/**
 * The environment of the incident service's Lambda entry (automatic containment: an alarm on a key's
 * anomaly invokes it, and it opens an incident and revokes the key) and of `npm run incident`: one zod
 * schema, read by the handler and used by the CDK construct, so the two cannot drift.
 */
import { z } from 'zod';
import { envIssue, parseServiceEnv } from '../config';
import { STAGES } from '../definition';

/** Environment variables of the incident service. Every key starts with `TS_`. */
export const incidentEnvSchema = z
  .object({
    /** Deployment stage. */
    TS_STAGE: z.enum([...STAGES, 'local']).default('local'),
    /** Which directory holds accounts and API keys. */
    TS_DIRECTORY: z.enum(['file', 'dynamodb', 'firestore']).default('file'),
    /** The directory table (with `TS_DIRECTORY=dynamodb`), `names.directoryTable(stage)`. */
    TS_TABLE_NAME: z.string().min(3).max(255).optional(),
    /** Which store holds incident records. */
    TS_INCIDENT_STORE: z.enum(['file', 'dynamodb', 'firestore']).default('file'),
    /** The incident table (with `TS_INCIDENT_STORE=dynamodb`), `names.incidentTable(stage)`. */
    TS_INCIDENT_TABLE: z.string().min(3).max(255).optional(),
    /**
     * Which edge store receives revoked key ids: the CloudFront KeyValueStore, the Cloud Armor backend
     * policy (one deny rule per revoked key), or the local file.
     */
    TS_EDGE_STORE: z.enum(['kvs', 'armor', 'file']).default('file'),
    /** The Cloud Armor backend policy's name (with `TS_EDGE_STORE=armor`), `names.gcpBackendSecurityPolicy`. */
    TS_ARMOR_POLICY: z
      .string()
      .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Cloud Armor policy name (RFC 1035)')
      .optional(),
    /** ARN of the KeyValueStore (with `TS_EDGE_STORE=kvs`). */
    TS_KVS_ARN: z.string().min(1).max(2048).optional(),
    /** Where customer notices go: the SNS topic, or the local outbox folder. */
    TS_NOTIFIER: z.enum(['sns', 'pubsub', 'outbox']).default('outbox'),
    /** ARN of the customer notice topic (with `TS_NOTIFIER=sns`). */
    TS_NOTICE_TOPIC_ARN: z.string().min(1).max(2048).optional(),
    /** Short name of the customer-notice Pub/Sub topic (with `TS_NOTIFIER=pubsub`). */
    TS_NOTICE_TOPIC: z
      .string()
      .regex(
        /^[A-Za-z][-\w.~+%]{2,254}$/,
        "must be the topic's short name (a letter first, then letters, digits or -_.~+%), not projects/…",
      )
      .optional(),
    /** The GCP project of the Firestore, Pub/Sub or Cloud Armor adapters. */
    TS_GCP_PROJECT: z
      .string()
      .regex(
        /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/,
        'must be a GCP project id: 6-30 lowercase letters, digits or hyphens, a letter first, no hyphen last',
      )
      .optional(),
    /** The Firestore database id (with `TS_DIRECTORY=firestore` or `TS_INCIDENT_STORE=firestore`). */
    TS_FIRESTORE_DATABASE: z
      .string()
      .regex(
        /^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/,
        'must be a Firestore database id: (default), or 4-63 lowercase letters, digits or hyphens, a letter first',
      )
      .optional(),
    /** Local folder: `directory.json`, `incidents.json`, `edge-store.json`, `outbox/`. */
    TS_DATA_DIR: z.string().min(1).default('.data'),
    /** Log level. */
    TS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.TS_DIRECTORY === 'dynamodb' && !env.TS_TABLE_NAME)
      envIssue(ctx, 'TS_TABLE_NAME', 'is required when TS_DIRECTORY=dynamodb');
    if (env.TS_INCIDENT_STORE === 'dynamodb' && !env.TS_INCIDENT_TABLE)
      envIssue(ctx, 'TS_INCIDENT_TABLE', 'is required when TS_INCIDENT_STORE=dynamodb');
    if (env.TS_EDGE_STORE === 'kvs' && !env.TS_KVS_ARN)
      envIssue(ctx, 'TS_KVS_ARN', 'is required when TS_EDGE_STORE=kvs');
    if (env.TS_NOTIFIER === 'sns' && !env.TS_NOTICE_TOPIC_ARN)
      envIssue(ctx, 'TS_NOTICE_TOPIC_ARN', 'is required when TS_NOTIFIER=sns');
    if (env.TS_NOTIFIER === 'pubsub' && !env.TS_NOTICE_TOPIC)
      envIssue(ctx, 'TS_NOTICE_TOPIC', 'is required when TS_NOTIFIER=pubsub');
    if (env.TS_EDGE_STORE === 'armor' && !env.TS_ARMOR_POLICY)
      envIssue(ctx, 'TS_ARMOR_POLICY', 'is required when TS_EDGE_STORE=armor');
    // Each GCP adapter needs the project; the message names the selections that asked for it.
    const gcp = [
      env.TS_DIRECTORY === 'firestore' && 'TS_DIRECTORY=firestore',
      env.TS_INCIDENT_STORE === 'firestore' && 'TS_INCIDENT_STORE=firestore',
      env.TS_NOTIFIER === 'pubsub' && 'TS_NOTIFIER=pubsub',
      env.TS_EDGE_STORE === 'armor' && 'TS_EDGE_STORE=armor',
    ].filter((s): s is string => typeof s === 'string');
    if (gcp.length && !env.TS_GCP_PROJECT)
      envIssue(ctx, 'TS_GCP_PROJECT', `is required when ${gcp.join(', ')}`);
    const firestore = [
      env.TS_DIRECTORY === 'firestore' && 'TS_DIRECTORY=firestore',
      env.TS_INCIDENT_STORE === 'firestore' && 'TS_INCIDENT_STORE=firestore',
    ].filter((s): s is string => typeof s === 'string');
    if (firestore.length && !env.TS_FIRESTORE_DATABASE)
      envIssue(ctx, 'TS_FIRESTORE_DATABASE', `is required when ${firestore.join(', ')}`);
  });

/** The raw environment variables, as a construct sets them (all strings). */
export type IncidentEnvInput = z.input<typeof incidentEnvSchema>;
/** The parsed environment. */
export type IncidentEnv = z.output<typeof incidentEnvSchema>;

/**
 * Parses the environment (only `TS_*` variables; empty ones count as unset).
 * @throws Error naming every missing or malformed variable
 */
export function parseIncidentEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined>): IncidentEnv {
  return parseServiceEnv(incidentEnvSchema, env, 'incident');
}
