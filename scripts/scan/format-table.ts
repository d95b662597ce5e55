/**
 * The scan's default output: a table for the terminal, one row per finding (violations first), each row
 * followed by cdk-nag's finding where there is one and by the violation's message or the acknowledgement's
 * reason, then a line per target and the summary.
 */
import { ruleOfFinding } from '../../policies/promises';
import { formatSourceLocation } from './source-location';
import type { ScanFinding, ScanReport } from './report';

const COLUMNS = ['STATUS', 'SEVERITY', 'STAGE', 'PACK', 'RULE', 'RESOURCE', 'SOURCE', 'REASON'] as const;

/** A finding's resource as one cell: logical id (or name) and the stack that holds it. */
function resourceCell(f: ScanFinding): string {
  const r = f.resource;
  return r.logicalId === undefined ? `${r.stack}: ${r.path}` : `${r.stack}/${r.logicalId}`;
}

/**
 * The report as terminal lines. One reason often covers many findings (the same acknowledgement in three
 * packs, a cfn-lint check ignored everywhere), so each distinct reason is printed once, below the table,
 * and the rows refer to it as `A<n>`.
 */
export function formatTable(report: ScanReport): string[] {
  const reasons = new Map<string, { n: number; findings: number; where: Set<string> }>();
  for (const f of report.findings) {
    const ack = f.acknowledgement;
    if (!ack) continue;
    const entry = reasons.get(ack.reason) ?? { n: reasons.size + 1, findings: 0, where: new Set<string>() };
    entry.findings += 1;
    entry.where.add(ack.source ? formatSourceLocation(ack.source) : ack.declaredAt);
    reasons.set(ack.reason, entry);
  }
  const rows = report.findings.map((f) => [
    f.status === 'violation' ? 'VIOLATION' : 'acknowledged',
    f.severity,
    `${f.cloud}/${f.stage}`,
    f.pack,
    ruleOfFinding(f.rule),
    resourceCell(f),
    f.resource.source ? formatSourceLocation(f.resource.source) : '-',
    f.acknowledgement ? `A${reasons.get(f.acknowledgement.reason)?.n ?? '?'}` : '',
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [line(COLUMNS)];
  report.findings.forEach((f, i) => {
    lines.push(line(rows[i] ?? []));
    // cdk-nag's finding (e.g. the wildcard resource) can be long: it goes under the row, not in the column.
    const suffix = f.rule.slice(ruleOfFinding(f.rule).length);
    if (suffix) lines.push(`    finding ${suffix}`);
    if (f.status === 'violation') lines.push(`    ${f.message}`);
  });
  if (reasons.size > 0) {
    lines.push('', 'Acknowledged, with the reasons the code gives:');
    for (const [reason, { n, findings, where }] of reasons)
      lines.push(
        `  A${n}  ${findings} finding${findings === 1 ? '' : 's'}, at ${[...where].join(', ')}:`,
        `      ${reason}`,
      );
  }
  lines.push('', ...formatTargets(report), formatSummary(report));
  return lines;
}
/** One line per scanned target. */
export function formatTargets(report: ScanReport): string[] {
  return report.targets.map(
    (t) =>
      `scanned ${t.cloud}/${t.stage}: ${t.stacks.length} stack${t.stacks.length === 1 ? '' : 's'}, ` +
      `${t.resources} resources, ${t.tools.join(' + ')} (${t.seconds.toFixed(1)} s)`,
  );
}

/** The last line: the counts and the verdict. */
export function formatSummary(report: ScanReport): string {
  const s = report.summary;
  const byTool = Object.entries(s.violationsByTool)
    .map(([tool, n]) => `${tool} ${n}`)
    .join(', ');
  return (
    `scan: ${s.violations} violation${s.violations === 1 ? '' : 's'} (${byTool}), ` +
    `${s.acknowledged} acknowledged, in ${s.seconds.toFixed(1)} s: ${s.violations === 0 ? 'passed' : 'FAILED'}`
  );
}
