/**
 * `npm run synth [-- --stage dev|staging|prod] [--out DIR]`: synthesizes every AWS stack of a stage offline
 * (no credentials, no AWS calls), fails on any unacknowledged cdk-nag finding, then runs cfn-lint on every
 * synthesized template and fails on any cfn-lint error. Prints the time of each step and the total.
 *
 * The CDK app runs in this process through `createApp` (infra/aws/lib/app.ts) rather than through
 * `npx cdk synth`: that skips npx, the CLI and a second TypeScript loader, which is most of the time.
 * aws-cdk-lib's own CloudFormation validator is switched off (`CDK_VALIDATION=false`): cfn-lint checks the
 * same templates more thoroughly right after.
 *
 * `deploy-local.ts` and the tests call {@link synthStage}, so they check exactly what this command checks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { REPO_ROOT } from '../infra/build/paths';
import { STAGES, type Stage } from '../platform';
import { UsageError, parseCommandLine, parseFlags } from '../services/shared/cli';

/** cfn-lint's configuration: the one place where ignored checks are listed, each with its reason. */
export const CFN_LINT_CONFIG = resolve(REPO_ROOT, '.cfnlintrc.yaml');

/** Name of the report that aws-cdk-lib writes into the cloud assembly (`cxapi.VALIDATION_REPORT_FILE`). */
const VALIDATION_REPORT_FILE = 'validation-report.json';

/** Plugin name of construct annotations in the validation report; not a compliance pack. */
const ANNOTATIONS_PLUGIN = 'Construct Annotations';

/** Usage of the command line. */
export const SYNTH_USAGE = `Usage: npm run synth [-- --stage <${STAGES.join('|')}>] [--out <dir>]

Synthesizes every AWS stack of the stage offline, fails on any unacknowledged cdk-nag finding, then runs
cfn-lint on every template (zero errors allowed; ignored checks are listed in .cfnlintrc.yaml).

  --stage <stage>  stage to synthesize (default: dev)
  --out <dir>      cloud assembly directory (default: cdk.out)
  --help           show this help`;

/** Reads `--stage` (validated against the platform's stages) from the command line. */
export function parseStageArg(value: string | undefined): Stage {
  const stage = value ?? 'dev';
  if (!(STAGES as readonly string[]).includes(stage))
    throw new UsageError(`--stage must be one of ${STAGES.join(', ')}; got "${stage}"`);
  return stage as Stage;
}

/** Parsed command line of `npm run synth`. */
export interface SynthArgs {
  readonly stage: Stage;
  readonly outdir: string;
  readonly help: boolean;
}

/** Parses the command line of `npm run synth`. @throws UsageError on an unknown flag or a bad value */
export function parseSynthArgs(argv: readonly string[]): SynthArgs {
  const values = parseFlags(argv, {
    stage: { type: 'string', short: 's' },
    out: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  return {
    stage: parseStageArg(values.stage),
    outdir: resolve(values.out ?? resolve(REPO_ROOT, 'cdk.out')),
    help: values.help ?? false,
  };
}

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

/** One unacknowledged finding of a compliance pack (or an error annotation). */
export interface NagFinding {
  /** Pack (validation plugin) that reported it, e.g. `AwsSolutions`. */
  readonly pack: string;
  /** Rule id, e.g. `AwsSolutions-S1`; acknowledge with this id (or `Rule[Finding]`). */
  readonly rule: string;
  /** The rule's description, without the list of control ids. */
  readonly description: string;
  readonly severity: string;
  /** Construct path, e.g. `Trackstack-dev-americas/EventStore/Bucket/Resource`. */
  readonly constructPath: string;
  /** `<template file> <logical id>`, when known. */
  readonly resource?: string;
}

/** What cdk-nag (and the other validation plugins) said. */
export interface NagResult {
  /** Findings that fail synth: every violation of a pack, and error annotations. */
  readonly findings: readonly NagFinding[];
  /** Warning annotations from constructs: printed, never failing. */
  readonly warnings: readonly NagFinding[];
  /** Plugins that crashed instead of reporting (each fails synth). */
  readonly pluginFailures: readonly string[];
  /** The full JSON report aws-cdk-lib wrote. */
  readonly reportFile: string;
}

/** One cfn-lint match. */
export interface LintMatch {
  /** `Error`, `Warning` or `Informational`. */
  readonly level: string;
  /** Rule id, e.g. `E3012`. */
  readonly rule: string;
  readonly message: string;
  /** `file:line`, relative to the repository. */
  readonly location: string;
}

/** What cfn-lint said about the templates. */
export interface LintResult {
  readonly errors: readonly LintMatch[];
  readonly warnings: readonly LintMatch[];
  /** Checks that `.cfnlintrc.yaml` ignores. */
  readonly ignoredChecks: readonly string[];
}

/** The time one step took. */
export interface StepTiming {
  readonly step: string;
  readonly ms: number;
  /** One line of what the step found. */
  readonly detail?: string;
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

/** Throws with an install hint when cfn-lint is not on PATH. */
export function assertCfnLintInstalled(): void {
  // `env` is passed explicitly so that a caller's (or a test's) PATH decides where cfn-lint is looked up.
  const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8', env: process.env });
  if (probe.error || probe.status !== 0)
    throw new Error(
      'cfn-lint was not found on PATH. Install it with `pip install "cfn-lint>=1"`, then run again.' +
        (probe.error ? ` (${probe.error.message})` : ` (exit ${probe.status}: ${probe.stderr.trim()})`),
    );
}

async function timed<T>(
  timings: StepTiming[],
  step: string,
  run: () => T | Promise<T>,
  detail?: (value: T) => string,
): Promise<T> {
  const start = performance.now();
  const value = await run();
  timings.push({ step, ms: performance.now() - start, detail: detail?.(value) });
  return value;
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
    await timed(timings, 'load CDK app', () =>
      Promise.all([import('../infra/aws/lib/app'), import('aws-cdk-lib/cx-api')]),
    );

  const { app } = await timed(timings, 'construct app', () => {
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

  const savedValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  let stacks: SynthesizedStack[];
  let nag: NagResult;
  try {
    ({ stacks, nag } = await timed(
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
    ));
  } finally {
    if (savedValidation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = savedValidation;
  }
  log(`synthesized ${stacks.length} stacks of stage ${options.stage} into ${rel(options.outdir)}`);

  const nagOk = nag.findings.length === 0 && nag.pluginFailures.length === 0;
  let lintResult: LintResult | undefined;
  // Linting templates that already fail compliance would only bury the findings that matter.
  if (lint && nagOk) {
    lintResult = await timed(
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

interface ReportViolation {
  ruleName: string;
  description: string;
  severity?: string;
  violatingConstructs?: {
    constructPath?: string;
    cloudFormationResource?: { templatePath: string; logicalId: string };
  }[];
}

interface ReportPlugin {
  pluginName: string;
  conclusion: 'success' | 'failure';
  violations?: ReportViolation[];
  metadata?: Record<string, string>;
}

/**
 * Reads aws-cdk-lib's validation report from a cloud assembly. Acknowledged findings never appear in it
 * (cdk-nag 3 drops them), so every violation of a pack is an unacknowledged finding.
 */
export function readNagReport(assemblyDir: string): NagResult {
  const reportFile = resolve(assemblyDir, VALIDATION_REPORT_FILE);
  if (!existsSync(reportFile)) return { findings: [], warnings: [], pluginFailures: [], reportFile };
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { pluginReports?: ReportPlugin[] };
  const findings: NagFinding[] = [];
  const warnings: NagFinding[] = [];
  const pluginFailures: string[] = [];
  for (const plugin of report.pluginReports ?? []) {
    const violations = plugin.violations ?? [];
    if (plugin.conclusion === 'failure' && violations.length === 0)
      pluginFailures.push(`${plugin.pluginName}: ${JSON.stringify(plugin.metadata ?? {})}`);
    for (const v of violations) {
      const severity = v.severity ?? 'error';
      const target =
        plugin.pluginName === ANNOTATIONS_PLUGIN && severity !== 'error' && severity !== 'fatal'
          ? warnings
          : findings;
      for (const c of v.violatingConstructs ?? [{}]) {
        const cfn = c.cloudFormationResource;
        target.push({
          pack: plugin.pluginName,
          rule: v.ruleName,
          // Framework packs append dozens of control ids; the rule id already leads to them.
          description: v.description.replace(/\s+-\s+\(Control IDs?:.*$/s, '').trim(),
          severity,
          constructPath: c.constructPath || '(unknown construct)',
          resource: cfn ? `${cfn.templatePath} ${cfn.logicalId}` : undefined,
        });
      }
    }
  }
  return { findings, warnings, pluginFailures, reportFile };
}

/** The `ignore_checks` of the cfn-lint configuration file. */
export function ignoredLintChecks(configFile = CFN_LINT_CONFIG): string[] {
  if (!existsSync(configFile)) return [];
  const lines = readFileSync(configFile, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^ignore_checks:\s*$/.test(l));
  if (start < 0) return [];
  const checks: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const item = /^\s+-\s+([A-Z]\d+)\b/.exec(line);
    if (item?.[1]) checks.push(item[1]);
    else if (/^\S/.test(line)) break;
  }
  return checks;
}

interface CfnLintJsonMatch {
  Level: string;
  Message: string;
  Filename: string;
  Rule: { Id: string };
  Location: { Start: { LineNumber: number } };
}

/**
 * Runs cfn-lint once over all templates with the repository's configuration.
 * @throws Error when cfn-lint cannot run or prints something other than its JSON report
 */
export function lintTemplates(templateFiles: readonly string[], configFile = CFN_LINT_CONFIG): LintResult {
  const ignoredChecks = ignoredLintChecks(configFile);
  if (templateFiles.length === 0) return { errors: [], warnings: [], ignoredChecks };
  const run = spawnSync(
    'cfn-lint',
    ['--config-file', configFile, '--format', 'json', '--', ...templateFiles],
    { encoding: 'utf8', env: process.env, maxBuffer: 64 * 1024 * 1024 },
  );
  if (run.error) throw new Error(`cfn-lint could not run: ${run.error.message}`);
  // Exit codes are a bit mask (2 errors, 4 warnings, 8 informational); 1 means cfn-lint itself failed.
  let matches: CfnLintJsonMatch[];
  try {
    matches = JSON.parse(run.stdout || '[]') as CfnLintJsonMatch[];
  } catch {
    throw new Error(`cfn-lint failed (exit ${run.status}):\n${run.stderr}${run.stdout}`);
  }
  if (run.status === 1) throw new Error(`cfn-lint failed (exit 1):\n${run.stderr}`);
  const toMatch = (m: CfnLintJsonMatch): LintMatch => ({
    level: m.Level,
    rule: m.Rule.Id,
    message: m.Message,
    location: `${rel(m.Filename)}:${m.Location.Start.LineNumber}`,
  });
  return {
    errors: matches.filter((m) => m.Level === 'Error').map(toMatch),
    warnings: matches.filter((m) => m.Level !== 'Error').map(toMatch),
    ignoredChecks,
  };
}

function rel(path: string): string {
  const r = relative(process.cwd(), path);
  return r && !r.startsWith('..') ? r : path;
}

/** `1.23 s` */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Readable lines for the nag findings, grouped by construct. */
export function formatNagFindings(nag: NagResult): string[] {
  const lines: string[] = [];
  if (nag.findings.length > 0) {
    lines.push(`cdk-nag: ${nag.findings.length} unacknowledged findings`);
    const byConstruct = new Map<string, NagFinding[]>();
    for (const f of nag.findings) {
      const key = f.constructPath + (f.resource ? `  (${f.resource})` : '');
      byConstruct.set(key, [...(byConstruct.get(key) ?? []), f]);
    }
    const width = Math.max(...nag.findings.map((f) => f.rule.length));
    for (const [construct, findings] of byConstruct) {
      lines.push(`  ${construct}`);
      for (const f of findings) lines.push(`    ${f.rule.padEnd(width)}  ${f.description}`);
    }
    lines.push(
      '  Fix the resource, or acknowledge one finding beside it (or in a named helper in policies/):',
      "  Validations.of(construct).acknowledge({ id: '<Rule>' or '<Rule>[<Finding>]', reason: '<full sentence>' })",
    );
  }
  for (const failure of nag.pluginFailures) lines.push(`validation plugin failed: ${failure}`);
  for (const w of nag.warnings) lines.push(`warning ${w.rule}: ${w.description} (${w.constructPath})`);
  if (lines.length > 0) lines.push(`  full report: ${rel(nag.reportFile)}`);
  return lines;
}

/** Readable lines for cfn-lint's matches. */
export function formatLintMatches(lint: LintResult): string[] {
  return [...lint.errors, ...lint.warnings].map(
    (m) => `${m.level === 'Error' ? 'error  ' : 'warning'} ${m.rule} ${m.message}\n          ${m.location}`,
  );
}

/** The step table: each step's time and what it found, then the total. */
export function formatTimings(result: Pick<SynthResult, 'timings' | 'totalMs'>): string[] {
  const width = Math.max(...result.timings.map((t) => t.step.length), 'total'.length);
  return [
    ...result.timings.map(
      (t) =>
        `  ${t.step.padEnd(width)}  ${formatSeconds(t.ms).padStart(8)}${t.detail ? `  ${t.detail}` : ''}`,
    ),
    `  ${'total'.padEnd(width)}  ${formatSeconds(result.totalMs).padStart(8)}`,
  ];
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommandLine(argv, parseSynthArgs, SYNTH_USAGE);
  if (typeof args === 'number') return args;
  let result: SynthResult;
  try {
    result = await synthStage({ stage: args.stage, outdir: args.outdir, log: (l) => console.log(l) });
  } catch (err) {
    // A configuration mistake names its key; a stack trace would add nothing to it.
    if ((err as Error).name === 'ConfigError') {
      console.error((err as Error).message);
      return 1;
    }
    throw err;
  }
  for (const line of formatNagFindings(result.nag)) console.error(line);
  if (result.lint) for (const line of formatLintMatches(result.lint)) console.error(line);
  console.log(`\nnpm run synth -- --stage ${result.stage}: ${result.ok ? 'passed' : 'FAILED'}`);
  for (const line of formatTimings(result)) console.log(line);
  // The steps above exclude starting node and tsx; the bar (DESIGN §11) is about the whole command.
  console.log(`  (whole command so far: ${formatSeconds(performance.now())})`);
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
