/**
 * Builds the release pipeline's CDK app (`cdk deploy -c pipeline=true Trackstack-pipeline`): the pipeline
 * stack with staging and prod as its stages, and the compliance packs attached like `createApp` does.
 */
import { App, Validations } from 'aws-cdk-lib';
import { ConfigError, PRIMARY_LOCATION, REGIONS, type Stage, type StageConfig } from '../../../platform';
import { compliancePacks } from '../../../policies/aws';
import { pipelineNames } from './naming';
import { readPipelineContext, PIPELINE_CONTEXT_KEY, type PipelineContext } from './pipeline-context';
import { PipelineStack } from './pipeline-stack';
import { readStageConfig, STAGE_CONTEXT_KEY, type ContextSource } from './stage-context';

/** Properties of {@link createPipelineApp}. */
export interface CreatePipelineAppProps {
  /**
   * Context to start the app with, e.g. `{ ...readCdkJsonContext(), pipeline: 'true' }` in tests.
   * @default - the context the CDK CLI passes (cdk.json and `-c`)
   */
  readonly context?: Record<string, unknown>;
  /**
   * Directory of the cloud assembly.
   * @default - the CLI's `cdk.out`, or a temporary directory outside the CLI
   */
  readonly outdir?: string;
}

/** The pipeline app and what it holds. */
export interface PipelineApp {
  /** The CDK app, with every compliance pack attached. */
  readonly app: App;
  /** The pipeline stack (its staging and prod stages are nested assemblies of it). */
  readonly pipelineStack: PipelineStack;
  /** The pipeline's validated settings. */
  readonly settings: PipelineContext;
  /** The validated configurations of the stages the pipeline releases, in release order. */
  readonly stages: readonly StageConfig[];
}

/** The stages the pipeline releases, in order: staging, then (after the approval) prod. */
export const RELEASED_STAGES: readonly Stage[] = ['staging', 'prod'];

/**
 * Creates the pipeline app. The stage configurations come from `trackstack:stages`, validated exactly as
 * `createApp` validates them; the pipeline's settings from `trackstack:pipeline`.
 * @throws ConfigError naming the key when the pipeline settings or a released stage's configuration is bad,
 *   or when no account is known for the pipeline stack
 */
export function createPipelineApp(props: CreatePipelineAppProps = {}): PipelineApp {
  const app = new App({ context: props.context, outdir: props.outdir });
  const settings = readPipelineContext(app.node);
  const [staging, prod] = RELEASED_STAGES.map((stage) => readStageConfig(withStage(app.node, stage)));
  const account = settings.pipelineAccount ?? process.env.CDK_DEFAULT_ACCOUNT;
  if (account === undefined) {
    // CodePipeline's cross-region support stacks need the pipeline's account at synth.
    const issue =
      `${PIPELINE_CONTEXT_KEY}.pipelineAccount: needed when the CLI has no credentials ` +
      '(set it, or run with credentials of the tooling account)';
    throw new ConfigError(`Invalid CDK context:\n  ${issue}`, [issue]);
  }
  const pipelineStack = new PipelineStack(app, pipelineNames.stack, {
    stackName: pipelineNames.stack,
    env: { account, region: REGIONS[PRIMARY_LOCATION].aws },
    description: 'Trackstack release pipeline: tests, compliance scan, staging, smoke check, approval, prod',
    settings,
    staging: staging!,
    prod: prod!,
  });
  Validations.of(app).addPlugins(...compliancePacks(app));
  return { app, pipelineStack, settings, stages: [staging!, prod!] };
}

/** The app's context, with `stage` answering `stage`: how one app reads several stages' configuration. */
function withStage(context: ContextSource, stage: Stage): ContextSource {
  return { tryGetContext: (key) => (key === STAGE_CONTEXT_KEY ? stage : context.tryGetContext(key)) };
}
