/**
 * cfn-lint over every template of the scan, in one process, with the checks `.cfnlintrc.yaml` ignores
 * switched back on: their matches are reported as acknowledged, with the reason written above them in that
 * file, instead of vanishing. Each match is tied to the resource (and so the construct and line) it is about.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayPath } from '../shared/command-line';
import {
  CFN_LINT_CONFIG,
  ignoredLintCheckReasons,
  lintTemplatesInBackground,
  type LintMatch,
} from '../synth/cfn-lint';
import type { AwsScan } from './aws';
import type { ScanFinding, Severity } from './report';

/**
 * cfn-lint's findings over the templates of one AWS target, linted in a background process (the scan
 * synthesizes the next target meanwhile).
 */
export async function lintFindings(scan: AwsScan, configFile = CFN_LINT_CONFIG): Promise<ScanFinding[]> {
  const reasons = ignoredLintCheckReasons(configFile);
  const dir = mkdtempSync(join(tmpdir(), 'trackstack-scan-lint-'));
  try {
    const config = join(dir, 'cfnlintrc.yaml');
    writeFileSync(config, withoutIgnoredChecks(readFileSync(configFile, 'utf8')));
    const result = await lintTemplatesInBackground(
      scan.templates.map((t) => t.file),
      config,
    );
    const stackOf = new Map(scan.templates.map((t) => [t.file, t.stack]));
    return [...result.errors, ...result.warnings].map((m) => {
      const stack = stackOf.get(m.templateFile) ?? displayPath(m.templateFile);
      const resource = m.logicalId === undefined ? undefined : findResource(scan, stack, m.logicalId);
      const reason = reasons.get(m.rule);
      return {
        tool: 'cfn-lint',
        pack: 'cfn-lint',
        rule: m.rule,
        severity: severityOf(m),
        message: m.message,
        cloud: 'aws',
        stage: scan.stage,
        resource: resource ?? { path: m.logicalId ?? m.location, stack },
        status: reason === undefined ? 'violation' : 'acknowledged',
        ...(reason !== undefined && {
          acknowledgement: { id: m.rule, reason, declaredAt: displayPath(configFile) },
        }),
        promises: [],
      } satisfies ScanFinding;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function severityOf(m: LintMatch): Severity {
  return m.level === 'Error' ? 'error' : m.level === 'Warning' ? 'warning' : 'info';
}

function findResource(scan: AwsScan, stack: string, logicalId: string) {
  return [...scan.resources.values()].find((r) => r.stack === stack && r.logicalId === logicalId);
}

/** The configuration without its `ignore_checks` block (every other setting kept). */
export function withoutIgnoredChecks(config: string): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of config.split('\n')) {
    if (/^ignore_checks:/.test(line)) skipping = true;
    else if (skipping && /^\S/.test(line) && !line.startsWith('#')) skipping = false;
    if (!skipping) out.push(line);
  }
  return out.join('\n');
}
