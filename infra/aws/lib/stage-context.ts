/**
 * Reads the stage to synthesize and its configuration from CDK context, validated with the platform's
 * schema, so that a missing or malformed value fails synth with a message naming the key.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  ConfigError,
  STAGES,
  formatZodIssues,
  stageConfigSchema,
  type Stage,
  type StageConfig,
} from '../../../platform';

/** Context key of the stage to synthesize: `cdk synth -c stage=dev`. */
export const STAGE_CONTEXT_KEY = 'stage';

/** Context key of the per-stage configuration in `cdk.json`: `{ dev: {...}, staging: {...}, prod: {...} }`. */
export const STAGES_CONTEXT_KEY = 'trackstack:stages';

/** Anything that answers context look-ups, such as `app.node`. */
export interface ContextSource {
  /** Returns the context value of `key`, or `undefined`. */
  tryGetContext(key: string): unknown;
}

// CloudWatch Logs accepts only these retention periods; "never expire" is left out on purpose, because the
// compliance packs require a retention and the platform promises that data does not outlive its purpose
// (the README's "Privacy and security").
const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays).filter(
  (d): d is number => typeof d === 'number' && d !== RetentionDays.INFINITE,
);

/**
 * Reads and validates the stage (`-c stage=…`) and its entry under `trackstack:stages`.
 *
 * The entry's `stage` field may be omitted (the key says which stage it is); when present it must agree.
 * @throws ConfigError naming every missing or malformed key, e.g.
 *   `context "stage": must be one of dev, staging, prod` or `trackstack:stages.dev.ingestMemoryMb: …`
 */
export function readStageConfig(context: ContextSource): StageConfig {
  const stage = readStage(context);
  const stages = context.tryGetContext(STAGES_CONTEXT_KEY);
  const stagesKey = `context "${STAGES_CONTEXT_KEY}"`;
  if (typeof stages !== 'object' || stages === null || Array.isArray(stages)) {
    throw configError(`${stagesKey}: must be an object with one entry per stage (${STAGES.join(', ')})`);
  }
  const root = `${STAGES_CONTEXT_KEY}.${stage}`;
  const raw: unknown = (stages as Record<string, unknown>)[stage];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(`${root}: must be an object with the configuration of stage "${stage}" (see cdk.json)`);
  }
  const entry = raw as Record<string, unknown>;
  if (entry.stage !== undefined && entry.stage !== stage) {
    throw configError(`${root}.stage: must be "${stage}" or omitted`);
  }

  const result = stageConfigSchema.safeParse({ ...entry, stage });
  if (!result.success) {
    const issues = formatZodIssues(result.error, root);
    throw new ConfigError(`Invalid ${stagesKey}:\n  ${issues.join('\n  ')}`, issues);
  }
  const config = result.data;
  if (!LOG_RETENTION_DAYS.includes(config.logRetentionDays)) {
    throw configError(
      `${root}.logRetentionDays: must be a CloudWatch Logs retention period (${LOG_RETENTION_DAYS.join(', ')})`,
    );
  }
  return config;
}

/**
 * Reads and validates the stage name alone.
 * @throws ConfigError when `-c stage=…` is missing or not one of the platform's stages
 */
export function readStage(context: ContextSource): Stage {
  const value = context.tryGetContext(STAGE_CONTEXT_KEY);
  if (typeof value !== 'string' || !(STAGES as readonly string[]).includes(value)) {
    const got = value === undefined ? 'missing (pass -c stage=<stage>)' : `got ${JSON.stringify(value)}`;
    throw configError(`context "${STAGE_CONTEXT_KEY}": must be one of ${STAGES.join(', ')}; ${got}`);
  }
  return value as Stage;
}

function configError(issue: string): ConfigError {
  return new ConfigError(`Invalid CDK context:\n  ${issue}`, [issue]);
}
