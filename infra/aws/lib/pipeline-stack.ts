/**
 * The release pipeline (CDK Pipelines): source from the repository's connection, a synth step that runs
 * the tests and the compliance scan before `cdk synth`, then staging as one wave (three regions, the edge
 * and the security stack) with a smoke check, a manual approval, and prod the same way.
 */
import {
  DefaultStackSynthesizer,
  Duration,
  RemovalPolicy,
  Stack,
  Stage as CdkStage,
  Token,
  type StackProps,
} from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import type { Construct } from 'constructs';
import { names, PRIMARY_LOCATION, REGIONS, type Stage, type StageConfig } from '../../../platform';
import {
  acknowledgePipeline,
  acknowledgePipelineSynthImage,
} from '../../../policies/aws/pipeline-acknowledgements';
import { TrackstackStage } from './app';
import { preferSubInActionConfigurations } from './constructs/pipeline/action-configuration';
import {
  PIPELINE_NODE_VERSION,
  PIPELINE_SYNTH_IMAGE,
  toolchainInstallCommands,
} from './constructs/pipeline/toolchain';
import { pipelineNames } from './naming';
import type { PipelineContext } from './pipeline-context';

/** Where the synth step writes the scan's SARIF report: kept as the synth action's output artifact `Synth_reports`. */
export const SCAN_REPORT_DIRECTORY = 'reports';

/** The scan command of the synth step: a violation fails the build, and with it the release. */
export const SCAN_COMMAND = `npm run scan -- --format sarif --out ${SCAN_REPORT_DIRECTORY}/scan.sarif`;

/** The synth step's commands, in order: install, test, scan, synthesize the pipeline app. */
export const SYNTH_COMMANDS: readonly string[] = [
  'npm ci',
  'npm test',
  SCAN_COMMAND,
  'npx cdk synth -c pipeline=true',
];

/**
 * The smoke check's command for a stage (scripts/smoke/cli.ts).
 * @param roleArn the role to read the stage's account through, for a stage in another account
 */
export function smokeCommand(stage: Stage, roleArn?: string): string {
  return `npm run smoke -- --stage ${stage}${roleArn ? ` --role-arn ${roleArn}` : ''}`;
}

/**
 * The CDK bootstrap's lookup role of an account (default qualifier, us-east-1): read-only, and trusted by
 * the accounts the bootstrap names with `--trust`.
 */
export function lookupRoleArn(scope: Stack, account: string): string {
  const region = REGIONS[PRIMARY_LOCATION].aws;
  return scope.formatArn({
    service: 'iam',
    region: '',
    account,
    resource: 'role',
    resourceName: `cdk-${DefaultStackSynthesizer.DEFAULT_QUALIFIER}-lookup-role-${account}-${region}`,
  });
}

/**
 * What CDK Pipelines leaves out on its artifact buckets and keys (it exposes no option for them): the
 * buckets are versioned, and the keys are retained, so that artifacts of past runs stay readable for a
 * roll-back after the stack is replaced.
 */
function hardenArtifactStores(pipelineStack: Stack): void {
  const app = CdkStage.of(pipelineStack);
  const scopes = [
    pipelineStack,
    ...(app?.node.children ?? []).filter((c) => c.node.id.startsWith('cross-region-stack-')),
  ];
  for (const scope of scopes) {
    for (const c of scope.node.findAll()) {
      if (CdkStage.of(c) !== app) continue;
      if (c instanceof s3.CfnBucket) c.versioningConfiguration = { status: 'Enabled' };
      if (c instanceof kms.CfnKey) c.applyRemovalPolicy(RemovalPolicy.RETAIN);
    }
  }
}

/** Properties of {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /** The pipeline's validated settings (`trackstack:pipeline`). */
  readonly settings: PipelineContext;
  /** The validated configuration of staging, deployed first. */
  readonly staging: StageConfig;
  /** The validated configuration of prod, deployed after the approval. */
  readonly prod: StageConfig;
}

/** The release pipeline's stack, in the tooling account's us-east-1. */
export class PipelineStack extends Stack {
  /** The pipeline. */
  public readonly pipeline: pipelines.CodePipeline;
  /** The synth step: tests, scan and `cdk synth`. */
  public readonly synth: pipelines.CodeBuildStep;
  /** The scan's SARIF report, an artifact of the synth step. */
  public readonly scanReport: pipelines.FileSet;
  /** The staging stage (its stacks are deployed by the staging wave). */
  public readonly stagingStage: TrackstackStage;
  /** The prod stage. */
  public readonly prodStage: TrackstackStage;
  /** The approval between the staging and the prod waves. */
  public readonly approval: pipelines.ManualApprovalStep;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { settings } = props;

    const source = pipelines.CodePipelineSource.connection(settings.repository, settings.branch, {
      connectionArn: settings.connection,
    });
    this.synth = new pipelines.CodeBuildStep('Synth', {
      input: source,
      installCommands: toolchainInstallCommands(),
      commands: [...SYNTH_COMMANDS],
      primaryOutputDirectory: 'cdk.out',
      buildEnvironment: {
        buildImage: codebuild.LinuxBuildImage.fromDockerRegistry(PIPELINE_SYNTH_IMAGE),
        // npm test runs the browser and emulator tests on two workers.
        computeType: codebuild.ComputeType.MEDIUM,
      },
    });
    this.scanReport = this.synth.addOutputDirectory(SCAN_REPORT_DIRECTORY);

    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineName: pipelineNames.pipeline,
      synth: this.synth,
      // Cross-account deployment needs customer-managed keys on the artifacts; the compliance packs
      // require them anyway, rotated.
      crossAccountKeys: true,
      enableKeyRotation: true,
      codeBuildDefaults: {
        buildEnvironment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0 },
        // npm test alone takes about 5 minutes; install and scan add a few more.
        timeout: Duration.minutes(45),
      },
    });

    this.stagingStage = new TrackstackStage(this, pipelineNames.stage('staging'), {
      config: props.staging,
      account: settings.stagingAccount ?? props.staging.awsAccount ?? this.account,
    });
    this.prodStage = new TrackstackStage(this, pipelineNames.stage('prod'), {
      config: props.prod,
      account: settings.prodAccount ?? props.prod.awsAccount ?? this.account,
    });

    this.pipeline
      .addWave('Staging')
      .addStage(this.stagingStage, { post: [this.smokeStep(this.stagingStage, source)] });
    this.approval = new pipelines.ManualApprovalStep('PromoteToProd', {
      comment: 'Staging passed its smoke check. Approve to deploy this commit to prod.',
    });
    this.pipeline
      .addWave('Prod', { pre: [this.approval] })
      .addStage(this.prodStage, { post: [this.smokeStep(this.prodStage, source)] });

    // The CodePipeline and CodeBuild resources exist only once the pipeline is built.
    this.pipeline.buildPipeline();
    preferSubInActionConfigurations(this.pipeline.pipeline.node.defaultChild as codepipeline.CfnPipeline);
    hardenArtifactStores(this);
    acknowledgePipeline(this);
    acknowledgePipelineSynthImage(this.pipeline.synthProject);
  }

  /**
   * The post-deployment smoke check of a stage: a hit per location through the CDN, read back from that
   * location's event bucket. It may read the stage's stack outputs and list its event buckets, nothing
   * else. In another account it reads through that account's CDK lookup role (read-only, and trusted by the
   * pipeline's account once the account is bootstrapped with `--trust`).
   */
  private smokeStep(stage: TrackstackStage, source: pipelines.IFileSetProducer): pipelines.CodeBuildStep {
    const name = stage.config.stage;
    const stacks = [...stage.regionalStacks, stage.edgeStack];
    const account = stage.edgeStack.account;
    const crossAccount = !Token.isUnresolved(account) && account !== this.account;
    const lookupRole = crossAccount ? lookupRoleArn(this, account) : undefined;
    const statements = lookupRole
      ? [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [lookupRole] })]
      : [
          new iam.PolicyStatement({
            actions: ['cloudformation:DescribeStacks'],
            resources: stacks.map((s) =>
              s.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${s.stackName}/*` }),
            ),
          }),
          new iam.PolicyStatement({
            actions: ['s3:ListBucket'],
            resources: stage.regionalStacks.map((s) =>
              s.formatArn({
                service: 's3',
                region: '',
                account: '',
                resource: names.eventBucket(name, s.location, s.account),
              }),
            ),
          }),
        ];
    return new pipelines.CodeBuildStep(`Smoke-${name}`, {
      input: source,
      installCommands: [`n ${PIPELINE_NODE_VERSION}`],
      commands: ['npm ci', smokeCommand(name, lookupRole)],
      rolePolicyStatements: statements,
    });
  }
}
