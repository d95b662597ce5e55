/**
 * cfn-lint over the synthesized templates: the second gate of `npm run synth`, after cdk-nag. cfn-lint
 * checks the templates against CloudFormation's own resource specification, which aws-cdk-lib's validator
 * (switched off during synth) covers less thoroughly. The checks it ignores are listed once, with their
 * reasons, in `.cfnlintrc.yaml`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../infra/build/paths';
import { displayPath } from '../shared/command-line';

/** cfn-lint's configuration: the one place where ignored checks are listed, each with its reason. */
export const CFN_LINT_CONFIG = resolve(REPO_ROOT, '.cfnlintrc.yaml');

/** One cfn-lint match. */
export interface LintMatch {
  /** `Error`, `Warning` or `Informational`. */
  readonly level: string;
  /** Rule id, e.g. `E3012`. */
  readonly rule: string;
  readonly message: string;
  /** `file:line`, relative to the repository. */
  readonly location: string;
  /** Absolute path of the template. */
  readonly templateFile: string;
  /** Logical id of the resource the match is about, when it is inside `Resources`. */
  readonly logicalId?: string;
}

/** What cfn-lint said about the templates. */
export interface LintResult {
  readonly errors: readonly LintMatch[];
  readonly warnings: readonly LintMatch[];
  /** Checks that `.cfnlintrc.yaml` ignores. */
  readonly ignoredChecks: readonly string[];
}

/**
 * Throws with an install hint when cfn-lint is not on PATH, so that a missing tool fails before minutes of
 * synthesis rather than after.
 */
export function assertCfnLintInstalled(): void {
  // `env` is passed explicitly so that a caller's (or a test's) PATH decides where cfn-lint is looked up.
  const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8', env: process.env });
  if (probe.error || probe.status !== 0)
    throw new Error(
      'cfn-lint was not found on PATH. Install it with `pip install "cfn-lint>=1"`, then run again.' +
        (probe.error ? ` (${probe.error.message})` : ` (exit ${probe.status}: ${probe.stderr.trim()})`),
    );
}

/**
 * The `ignore_checks` of the cfn-lint configuration file, read without a YAML parser so that the summary
 * line can say which checks were not run.
 */
export function ignoredLintChecks(configFile = CFN_LINT_CONFIG): string[] {
  return [...ignoredLintCheckReasons(configFile).keys()];
}

/**
 * Each ignored check with its reason: the comment lines just above its `- <check>` item in
 * `ignore_checks`, joined into one text (`npm run scan` reports the ignored matches as acknowledged).
 */
export function ignoredLintCheckReasons(configFile = CFN_LINT_CONFIG): Map<string, string> {
  const checks = new Map<string, string>();
  if (!existsSync(configFile)) return checks;
  const lines = readFileSync(configFile, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^ignore_checks:\s*$/.test(l));
  if (start < 0) return checks;
  let comment: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const item = /^\s+-\s+([A-Z]\d+)\b/.exec(line);
    const text = /^\s+#\s?(.*)$/.exec(line);
    if (item?.[1]) {
      checks.set(item[1], comment.join(' ').trim());
      comment = [];
    } else if (text) comment.push(text[1] ?? '');
    else if (/^\S/.test(line)) break;
  }
  return checks;
}

interface CfnLintJsonMatch {
  Level: string;
  Message: string;
  Filename: string;
  Rule: { Id: string };
  Location: { Start: { LineNumber: number }; Path?: (string | number)[] };
}

/** How cfn-lint is invoked over some templates. */
function lintArgs(templateFiles: readonly string[], configFile: string): string[] {
  return ['--config-file', configFile, '--format', 'json', '--', ...templateFiles];
}

/**
 * Runs cfn-lint once over all templates with the repository's configuration (one process: cfn-lint's
 * start-up is most of its time).
 * @throws Error when cfn-lint cannot run or prints something other than its JSON report
 */
export function lintTemplates(templateFiles: readonly string[], configFile = CFN_LINT_CONFIG): LintResult {
  const ignoredChecks = ignoredLintChecks(configFile);
  if (templateFiles.length === 0) return { errors: [], warnings: [], ignoredChecks };
  const run = spawnSync('cfn-lint', lintArgs(templateFiles, configFile), {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new Error(`cfn-lint could not run: ${run.error.message}`, { cause: run.error });
  return lintResult(run.status, run.stdout, run.stderr, ignoredChecks);
}

/**
 * {@link lintTemplates} without blocking: the scan lints one target's templates while it synthesizes the next.
 * @throws Error when cfn-lint cannot run or prints something other than its JSON report
 */
export function lintTemplatesInBackground(
  templateFiles: readonly string[],
  configFile = CFN_LINT_CONFIG,
): Promise<LintResult> {
  const ignoredChecks = ignoredLintChecks(configFile);
  if (templateFiles.length === 0) return Promise.resolve({ errors: [], warnings: [], ignoredChecks });
  return new Promise((resolvePromise, reject) => {
    const child = spawn('cfn-lint', lintArgs(templateFiles, configFile), { env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`cfn-lint could not run: ${err.message}`, { cause: err })));
    child.on('close', (status) => {
      try {
        resolvePromise(lintResult(status, stdout, stderr, ignoredChecks));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function lintResult(
  status: number | null,
  stdout: string,
  stderr: string,
  ignoredChecks: readonly string[],
): LintResult {
  // Exit codes are a bit mask (2 errors, 4 warnings, 8 informational); 1 means cfn-lint itself failed.
  let matches: CfnLintJsonMatch[];
  try {
    matches = JSON.parse(stdout || '[]') as CfnLintJsonMatch[];
  } catch (err) {
    throw new Error(`cfn-lint failed (exit ${status}):\n${stderr}${stdout}`, { cause: err });
  }
  if (status === 1) throw new Error(`cfn-lint failed (exit 1):\n${stderr}`);
  const toMatch = (m: CfnLintJsonMatch): LintMatch => {
    const [section, logicalId] = m.Location.Path ?? [];
    return {
      level: m.Level,
      rule: m.Rule.Id,
      message: m.Message,
      location: `${displayPath(m.Filename)}:${m.Location.Start.LineNumber}`,
      templateFile: resolve(m.Filename),
      ...(section === 'Resources' && typeof logicalId === 'string' && { logicalId }),
    };
  };
  return {
    errors: matches.filter((m) => m.Level === 'Error').map(toMatch),
    warnings: matches.filter((m) => m.Level !== 'Error').map(toMatch),
    ignoredChecks,
  };
}

/** cfn-lint's matches as lines for the terminal: the rule and message, then where to look. */
export function formatLintMatches(lint: LintResult): string[] {
  return [...lint.errors, ...lint.warnings].map(
    (m) => `${m.level === 'Error' ? 'error  ' : 'warning'} ${m.rule} ${m.message}\n          ${m.location}`,
  );
}
