/**
 * cdk-nag's findings, read from the validation report aws-cdk-lib writes into the cloud assembly, and
 * printed grouped by construct with the way to fix or acknowledge them. The packs themselves and the
 * acknowledgements live in `policies/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { displayPath } from '../shared/command-line';

/** Name of the report that aws-cdk-lib writes into the cloud assembly (`cxapi.VALIDATION_REPORT_FILE`). */
const VALIDATION_REPORT_FILE = 'validation-report.json';

/** Plugin name of construct annotations in the validation report; not a compliance pack. */
const ANNOTATIONS_PLUGIN = 'Construct Annotations';

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
          description: shortRuleDescription(v.description),
          severity,
          constructPath: c.constructPath || '(unknown construct)',
          resource: cfn ? `${cfn.templatePath} ${cfn.logicalId}` : undefined,
        });
      }
    }
  }
  return { findings, warnings, pluginFailures, reportFile };
}

/** A pack rule's description without the list of control ids that framework packs append to it. */
export function shortRuleDescription(description: string): string {
  return description.replace(/\s+-\s+\(Control IDs?:.*$/s, '').trim();
}

/**
 * The findings as lines for the terminal, grouped by construct (one resource usually breaks several packs'
 * rules at once), followed by how to fix or acknowledge them. Empty when there is nothing to say.
 */
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
  if (lines.length > 0) lines.push(`  full report: ${displayPath(nag.reportFile)}`);
  return lines;
}
