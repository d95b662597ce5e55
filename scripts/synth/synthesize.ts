/**
 * Synthesis of every AWS stack of a stage, offline (no credentials, no AWS calls), followed by the two
 * gates: cdk-nag's findings (nag-report.ts) and cfn-lint (cfn-lint.ts). `npm run synth`, `npm run
 * deploy:local` and the tests all call {@link synthStage}, so they check exactly the same thing.
 *
 * The CDK app runs in this process through `createApp` (infra/aws/lib/app.ts) rather than through
 * `npx cdk synth`: that skips npx, the CLI and a second TypeScript loader, which is most of the time.
 * aws-cdk-lib's own CloudFormation validator is switched off (`CDK_VALIDATION=false`): cfn-lint checks the
 * same templates more thoroughly right after.
 */
import type { App } from 'aws-cdk-lib';
import type { Stage } from '../../platform';
import { displayPath } from '../shared/command-line';
import { withEnv } from '../shared/env';
import { timeStep, type StepTiming } from '../shared/steps';
import { assertCfnLintInstalled, lintTemplates, type LintResult } from './cfn-lint';
import { readNagReport, type NagResult } from './nag-report';

/** One synthesized CloudFormation stack. */
export interface SynthesizedStack {
  /** Artifact id, e.g. `Trackstack-dev-europe`. */
  readonly id: string;
  readonly stackName: string;
  /** Concrete account, or `unknown-account` for an environment-agnostic account. */
  readonly account: string;
  readonly region: string;
  /** Absolute path of the template file. */
  readonly templateFile: string;
}

/** Result of {@link synthStage}. */
export interface SynthResult {
  readonly stage: Stage;
  /** Cloud assembly directory. */
  readonly outdir: string;
  /** Every stack, nested stage assemblies included. */
  readonly stacks: readonly SynthesizedStack[];
  readonly nag: NagResult;
  /** Absent when linting was not asked for, or synth already failed on cdk-nag. */
  readonly lint?: LintResult;
  readonly timings: readonly StepTiming[];
  readonly totalMs: number;
  /** True when there is no nag finding, no crashed plugin and no cfn-lint error. */
  readonly ok: boolean;
}

/** Options of {@link synthStage}. */
export interface SynthOptions {
  readonly stage: Stage;
  /** Cloud assembly directory. */
  readonly outdir: string;
  /**
   * Account of the stacks when the stage configuration names none (e.g. moto's account for a local
   * deploy). By default the stacks stay environment-agnostic in the account, as for an offline synth.
   */
  readonly account?: string;
  /** Run cfn-lint after synth. @default true */
  readonly lint?: boolean;
  /** Progress lines; silent by default. */
  readonly log?: (line: string) => void;
  /** Changes the app before synthesis, e.g. a test adding a non-compliant resource. */
  readonly customize?: (app: App) => void;
}

/**
 * Synthesizes every stack of a stage, collects cdk-nag's findings and, unless told otherwise, lints every
 * template with cfn-lint. Never throws for findings: they are in the result (`ok` is false).
 * @throws ConfigError for a bad stage configuration, Error when synthesis itself fails or cfn-lint is missing
 */
export async function synthStage(options: SynthOptions): Promise<SynthResult> {
  const log = options.log ?? (() => undefined);
  const lint = options.lint ?? true;
  if (lint) assertCfnLintInstalled();
  const start = performance.now();
  const timings: StepTiming[] = [];

  const [{ createApp, readCdkJsonContext }, { CloudAssembly, FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT }] =
    await timeStep(timings, 'load CDK app', () =>
      Promise.all([import('../../infra/aws/lib/app'), import('aws-cdk-lib/cx-api')]),
    );

  const { app } = await timeStep(timings, 'construct app', () => {
    const created = createApp({
      context: {
        ...readCdkJsonContext(),
        stage: options.stage,
        // The report is read from the assembly below and printed grouped by construct; without this,
        // aws-cdk-lib prints every finding itself and throws before the assembly can be inspected.
        [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
      },
      outdir: options.outdir,
      defaultAccount: options.account,
    });
    options.customize?.(created.app);
    return created;
  });

  const { stacks, nag } = await withEnv({ CDK_VALIDATION: 'false' }, () =>
    timeStep(
      timings,
      'synthesize + cdk-nag',
      () => {
        const assembly = app.synth();
        const missing = assembly.manifest.missing ?? [];
        if (missing.length > 0)
          throw new Error(
            `The app needs context lookups (${missing.map((m) => m.key).join(', ')}); synth runs offline, ` +
              'so commit the values to cdk.context.json (npx cdk synth does the lookups once).',
          );
        const all = new CloudAssembly(assembly.directory).stacksRecursively.map((s): SynthesizedStack => ({
          id: s.id,
          stackName: s.stackName,
          account: s.environment.account,
          region: s.environment.region,
          templateFile: s.templateFullPath,
        }));
        return { stacks: all, nag: readNagReport(assembly.directory) };
      },
      (r) =>
        `${r.stacks.length} stacks; ${r.nag.findings.length} unacknowledged findings` +
        (r.nag.warnings.length > 0 ? `, ${r.nag.warnings.length} warning annotations` : ''),
    ),
  );
  log(`synthesized ${stacks.length} stacks of stage ${options.stage} into ${displayPath(options.outdir)}`);

  const nagOk = nag.findings.length === 0 && nag.pluginFailures.length === 0;
  let lintResult: LintResult | undefined;
  // Linting templates that already fail compliance would only bury the findings that matter.
  if (lint && nagOk) {
    lintResult = await timeStep(
      timings,
      'cfn-lint',
      () => lintTemplates(stacks.map((s) => s.templateFile)),
      (r) =>
        `${stacks.length} templates; ${r.errors.length} errors, ${r.warnings.length} warnings` +
        (r.ignoredChecks.length > 0 ? ` (ignored: ${r.ignoredChecks.join(', ')})` : ''),
    );
  }
  return {
    stage: options.stage,
    outdir: options.outdir,
    stacks,
    nag,
    lint: lintResult,
    timings,
    totalMs: performance.now() - start,
    ok: nagOk && (lintResult?.errors.length ?? 0) === 0,
  };
}
