/**
 * `npm run scan -- --by-promise`: the report turned around, from the customer's side. For each promise of
 * the data-handling and breach policies (policies/promises), the rules that enforce it and how each fared in
 * this scan; a promise that no rule checks is listed as such, so the gap is visible rather than silent.
 */
import { CUSTOMER_PROMISES, type CustomerPromise } from '../../policies/promises';
import { baseRule } from './format-sarif';
import type { ScanReport, ScanTool } from './report';

/** How one rule fared: findings in violation, acknowledged, none, or its tool did not run in this scan. */
export type RuleStatus = 'violated' | 'acknowledged' | 'passed' | 'not-scanned';

/** One rule behind a promise. */
export interface PromiseRule {
  readonly rule: string;
  readonly tool: ScanTool;
  readonly status: RuleStatus;
  readonly violations: number;
  readonly acknowledged: number;
}

/** One promise and its rules. */
export interface PromiseStatus {
  readonly id: string;
  readonly title: string;
  readonly policy: CustomerPromise['policy'];
  readonly statement: string;
  /** `Art. <n> <title>`. */
  readonly gdpr: readonly string[];
  readonly rules: readonly PromiseRule[];
  /** `unenforced` when no rule stands behind the promise. */
  readonly status: 'kept' | 'violated' | 'unenforced';
}

/** The tool that evaluates a rule id of the mapping. */
export function toolOfRule(rule: string): ScanTool {
  if (rule.startsWith('gcp-')) return 'pulumi-policy';
  if (/^[EWI]\d{4}$/.test(rule)) return 'cfn-lint';
  return 'cdk-nag';
}

/** Every promise with the status of its rules in this report. */
export function promiseStatuses(report: ScanReport): PromiseStatus[] {
  const ran = new Set(report.targets.flatMap((t) => t.tools));
  return CUSTOMER_PROMISES.map((p) => {
    const rules = p.rules.map((rule): PromiseRule => {
      const findings = report.findings.filter((f) => baseRule(f.rule) === rule);
      const violations = findings.filter((f) => f.status === 'violation').length;
      const acknowledged = findings.length - violations;
      const tool = toolOfRule(rule);
      const status: RuleStatus = !ran.has(tool)
        ? 'not-scanned'
        : violations > 0
          ? 'violated'
          : acknowledged > 0
            ? 'acknowledged'
            : 'passed';
      return { rule, tool, status, violations, acknowledged };
    });
    return {
      id: p.id,
      title: p.title,
      policy: p.policy,
      statement: p.statement,
      gdpr: p.gdpr.map((a) => `Art. ${a.article} ${a.title}`),
      rules,
      status:
        rules.length === 0 ? 'unenforced' : rules.some((r) => r.status === 'violated') ? 'violated' : 'kept',
    };
  });
}

/** The promise view as terminal lines. */
export function formatByPromise(statuses: readonly PromiseStatus[]): string[] {
  const lines: string[] = [];
  for (const p of statuses) {
    const verdict =
      p.status === 'unenforced'
        ? 'NO RULE: kept by code and tests only'
        : p.status === 'violated'
          ? 'VIOLATED'
          : 'kept';
    lines.push(`${p.title}  [${p.policy}; ${verdict}]`, `  ${p.statement}`, `  GDPR: ${p.gdpr.join('; ')}`);
    const width = Math.max(0, ...p.rules.map((r) => r.rule.length));
    for (const r of p.rules) {
      const counts =
        r.violations + r.acknowledged > 0
          ? ` (${r.violations} violations, ${r.acknowledged} acknowledged)`
          : '';
      lines.push(`    ${r.rule.padEnd(width)}  ${r.tool.padEnd(13)}  ${r.status}${counts}`);
    }
    lines.push('');
  }
  const unenforced = statuses.filter((p) => p.status === 'unenforced').length;
  const violated = statuses.filter((p) => p.status === 'violated').length;
  lines.push(
    `promises: ${statuses.length}; ${violated} violated, ${unenforced} with no rule behind them, ` +
      `${statuses.length - violated - unenforced} kept by their rules`,
  );
  return lines;
}
