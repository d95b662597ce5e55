/**
 * `npm run scan` as a library: every target (each stage's CDK app, the release pipeline, each Pulumi stack)
 * evaluated offline, the findings of every tool gathered into one report. The GCP stacks run in child
 * processes while the AWS apps synthesize in this one, which keeps the whole scan within its time bar
 * (docs/architecture.md, "Compliance scan").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { STAGES, type Stage } from '../../platform';
import { promisesOfRule } from '../../policies/promises';
import { createApp, readCdkJsonContext } from '../../infra/aws/lib/app';
import { createPipelineApp } from '../../infra/aws/lib/pipeline-app';
import { PIPELINE_CONTEXT_KEY } from '../../infra/aws/lib/pipeline-context';
import { assertCfnLintInstalled } from '../synth/cfn-lint';
import { scanAwsApp, stageApp, type AwsAppBuilder } from './aws';
import { hasGcpStack, scanGcpStack } from './gcp';
import { lintFindings } from './lint';
import {
  SCAN_REPORT_VERSION,
  sortFindings,
  summarize,
  type Cloud,
  type ScanFinding,
  type ScanReport,
  type ScanStage,
  type ScanTarget,
} from './report';

/** Every stage the scan knows: the platform's stages, and `release` for the AWS pipeline stack. */
export const SCAN_STAGES: readonly ScanStage[] = [...STAGES, 'release'];

/** Rule id of the finding the scan raises for an acknowledgement that silences nothing. */
export const UNUSED_ACKNOWLEDGEMENT_RULE = 'Trackstack-UnusedAcknowledgement';

/** Options of {@link runScan}. */
export interface ScanOptions {
  /** Stages to scan. @default every stage, and the release pipeline */
  readonly stages?: readonly ScanStage[];
  /** Clouds to scan. @default both */
  readonly clouds?: readonly Cloud[];
  /** Changes an AWS app before synthesis, e.g. a test adding a non-compliant resource. */
  readonly customizeAws?: (stage: ScanStage, app: App) => void;
  /** A module loaded into every GCP stack after the program, e.g. a test's non-compliant bucket. */
  readonly gcpExtraModule?: string;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

/**
 * Scans the chosen targets and returns the report; never throws for findings (they are in the report).
 * @throws Error when a target cannot be built at all (a configuration error, a crashed program) or cfn-lint is missing
 */
export async function runScan(options: ScanOptions = {}): Promise<ScanReport> {
  const started = new Date();
  const t0 = performance.now();
  const log = options.log ?? (() => undefined);
  const stages = options.stages ?? SCAN_STAGES;
  const clouds = options.clouds ?? ['aws', 'gcp'];
  const targets: ScanTarget[] = [];
  const findings: ScanFinding[] = [];

  // The GCP stacks start first: their processes run while this one synthesizes the AWS apps.
  const gcpStacks = clouds.includes('gcp')
    ? stages.filter((s): s is Stage => s !== 'release' && hasGcpStack(s))
    : [];
  const gcp = gcpStacks.map(async (stack) => {
    const result = await scanGcpStack(stack, options.gcpExtraModule);
    // Measured in the child: this process's clock would add the time its synthesis kept the event loop busy.
    const seconds = result.seconds;
    log(
      `gcp ${stack}: ${result.resources} resources, ${result.findings.length} findings (${seconds.toFixed(1)} s)`,
    );
    return { result, seconds };
  });
  // Rejections are awaited below; without a handler now, an early one would crash the process meanwhile.
  for (const p of gcp) p.catch(() => undefined);

  if (clouds.includes('aws')) {
    assertCfnLintInstalled();
    const outRoot = mkdtempSync(join(tmpdir(), 'trackstack-scan-'));
    try {
      const lints: Promise<ScanFinding[]>[] = [];
      for (const stage of stages) {
        const t = performance.now();
        const scan = await scanAwsApp(stage, awsBuilder(stage, options.customizeAws), join(outRoot, stage));
        const lint = lintFindings(scan);
        lint.catch(() => undefined);
        lints.push(lint);
        findings.push(...scan.findings, ...scan.unusedAcknowledgements.map((a) => unusedFinding(stage, a)));
        const seconds = (performance.now() - t) / 1000;
        targets.push({
          cloud: 'aws',
          stage,
          stacks: scan.stacks,
          resources: scan.resources.size,
          tools: ['cdk-nag', 'cfn-lint'],
          seconds,
        });
        log(
          `aws ${stage}: ${scan.stacks.length} stacks, ${scan.resources.size} resources, ${scan.findings.length} pack findings (${seconds.toFixed(1)} s)`,
        );
      }
      for (const lint of lints) findings.push(...(await lint));
    } finally {
      rmSync(outRoot, { recursive: true, force: true });
    }
  }

  for (const run of gcp) {
    const { result, seconds } = await run;
    findings.push(...result.findings);
    targets.push({
      cloud: 'gcp',
      stage: result.stack as Stage,
      stacks: [result.stack],
      resources: result.resources,
      tools: ['pulumi-policy'],
      seconds,
    });
  }

  const withPromises = findings.map((f) => ({ ...f, promises: promisesOfRule(f.rule).map((p) => p.id) }));
  return {
    version: SCAN_REPORT_VERSION,
    startedAt: started.toISOString(),
    targets,
    findings: sortFindings(withPromises),
    summary: summarize(withPromises, (performance.now() - t0) / 1000),
  };
}

/**
 * The account the release pipeline is synthesized for when neither its context nor the environment names
 * one: CodePipeline's cross-region support stacks need an account at synth, and the scan runs without
 * credentials. No rule depends on the account number (AWS's documentation example account).
 */
export const OFFLINE_PIPELINE_ACCOUNT = '123456789012';

function awsBuilder(stage: ScanStage, customize?: (stage: ScanStage, app: App) => void): AwsAppBuilder {
  const cdkJson = readCdkJsonContext();
  const context = {
    ...cdkJson,
    // The scan reads findings itself; without this aws-cdk-lib throws at the first one before the scan can.
    [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
  };
  const tweak = customize && ((app: App) => customize(stage, app));
  if (stage === 'release') return stageApp(createPipelineApp, withPipelineAccount(context), tweak);
  return stageApp(createApp, { ...context, stage }, tweak);
}

function withPipelineAccount(context: Record<string, unknown>): Record<string, unknown> {
  const settings = context[PIPELINE_CONTEXT_KEY];
  if (typeof settings !== 'object' || settings === null || 'pipelineAccount' in settings) return context;
  const account = process.env.CDK_DEFAULT_ACCOUNT ?? OFFLINE_PIPELINE_ACCOUNT;
  return { ...context, [PIPELINE_CONTEXT_KEY]: { ...settings, pipelineAccount: account } };
}

function unusedFinding(stage: ScanStage, ack: NonNullable<ScanFinding['acknowledgement']>): ScanFinding {
  return {
    tool: 'cdk-nag',
    pack: 'Trackstack',
    rule: UNUSED_ACKNOWLEDGEMENT_RULE,
    severity: 'error',
    message: `The acknowledgement of ${ack.id} silences no finding: remove it, or move it to the construct whose finding it explains.`,
    cloud: 'aws',
    stage,
    resource: {
      path: ack.declaredAt,
      stack: ack.declaredAt.split('/')[0] ?? '',
      ...(ack.source && { source: ack.source }),
    },
    status: 'violation',
    promises: [],
  };
}
