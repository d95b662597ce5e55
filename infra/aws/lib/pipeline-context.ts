/**
 * Reads the release pipeline's settings from CDK context (`trackstack:pipeline` in cdk.json), validated
 * so that a bad value fails synth with a message naming the key. The schema lives here rather than in
 * `platform/config.ts` because only the AWS pipeline reads it: no service or GCP program needs these facts.
 */
import { z } from 'zod';
import { ConfigError, formatZodIssues } from '../../../platform';
import type { ContextSource } from './stage-context';

/** Context key of the pipeline's settings in `cdk.json`. */
export const PIPELINE_CONTEXT_KEY = 'trackstack:pipeline';

/** Context flag that makes `bin/app.ts` build the pipeline app: `cdk deploy -c pipeline=true`. */
export const PIPELINE_FLAG_CONTEXT_KEY = 'pipeline';

/**
 * The connection ARN used when the context names none: synth works offline with it, and deploying with it
 * fails, because no such connection exists (the account id is AWS's documentation example).
 */
export const PLACEHOLDER_CONNECTION_ARN =
  'arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-placeholder0';

const awsAccountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');

/** Schema of the `trackstack:pipeline` context entry. */
export const pipelineContextSchema = z
  .object({
    /** The CodeConnections (formerly CodeStar Connections) connection to the source repository. */
    connectionArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/,
        'must be the ARN of a CodeConnections connection (arn:aws:codeconnections:<region>:<account>:connection/<id>)',
      )
      .optional(),
    /** The source repository, `owner/name`. */
    repository: z
      .string({ error: 'must be the repository as owner/name' })
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be the repository as owner/name'),
    /** The branch whose commits are released. */
    branch: z
      .string()
      .regex(/^[A-Za-z0-9._/-]+$/, 'must be a git branch name')
      .default('main'),
    /** The account of the pipeline itself (tooling account); the CLI's account when absent. */
    pipelineAccount: awsAccountId.optional(),
    /** The account staging deploys into (cross-account); the stage's `awsAccount` or the pipeline's when absent. */
    stagingAccount: awsAccountId.optional(),
    /** The account prod deploys into (cross-account); the stage's `awsAccount` or the pipeline's when absent. */
    prodAccount: awsAccountId.optional(),
  })
  .strict();

/** The pipeline's validated settings, with the placeholder connection filled in when none is named. */
export interface PipelineContext extends z.output<typeof pipelineContextSchema> {
  /** The connection ARN to use: the configured one, or {@link PLACEHOLDER_CONNECTION_ARN}. */
  readonly connection: string;
  /** Whether {@link PipelineContext.connection} is the offline placeholder. */
  readonly placeholderConnection: boolean;
}

/**
 * Reads and validates `trackstack:pipeline`.
 * @throws ConfigError naming each bad key, e.g. `trackstack:pipeline.repository: must be the repository as owner/name`
 */
export function readPipelineContext(context: ContextSource): PipelineContext {
  const raw = context.tryGetContext(PIPELINE_CONTEXT_KEY);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const issue = `${PIPELINE_CONTEXT_KEY}: must be an object with at least "repository" (see cdk.json)`;
    throw new ConfigError(`Invalid CDK context:\n  ${issue}`, [issue]);
  }
  const result = pipelineContextSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatZodIssues(result.error, PIPELINE_CONTEXT_KEY);
    throw new ConfigError(`Invalid context "${PIPELINE_CONTEXT_KEY}":\n  ${issues.join('\n  ')}`, issues);
  }
  return {
    ...result.data,
    connection: result.data.connectionArn ?? PLACEHOLDER_CONNECTION_ARN,
    placeholderConnection: result.data.connectionArn === undefined,
  };
}

/** Whether the context asks for the pipeline app (`-c pipeline=true`; the CLI passes context as strings). */
export function wantsPipelineApp(context: ContextSource): boolean {
  const flag = context.tryGetContext(PIPELINE_FLAG_CONTEXT_KEY);
  return flag === true || flag === 'true';
}
