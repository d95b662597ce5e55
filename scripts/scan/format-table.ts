/**
 * The scan's default output: a table for the terminal, one row per finding (violations first), each
 * acknowledged row followed by its reason, then a line per target and the summary.
 */
import { formatSourceLocation } from './source-location';
import type { ScanFinding, ScanReport } from './report';

const COLUMNS = ['STATUS', 'SEVERITY', 'STAGE', 'PACK', 'RULE', 'RESOURCE', 'SOURCE'] as const;

/** A finding's resource as one cell: logical id (or name) and the stack that holds it. */
function resourceCell(f: ScanFinding): string {
  const r = f.resource;
  return r.logicalId === undefined ? `${r.stack}: ${r.path}` : `${r.stack}/${r.logicalId}`;
}

function row(f: ScanFinding): string[] {
  return [
    f.status === 'violation' ? 'VIOLATION' : 'acknowledged',
    f.severity,
    `${f.cloud}/${f.stage}`,
    f.pack,
    f.rule,
    resourceCell(f),
    f.resource.source ? formatSourceLocation(f.resource.source) : '-',
  ];
}

/** The report as terminal lines. */
export function formatTable(report: ScanReport): string[] {
  const rows = report.findings.map(row);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [line(COLUMNS)];
  report.findings.forEach((f, i) => {
    lines.push(line(rows[i] ?? []));
    if (f.status === 'violation') lines.push(`    ${f.message}`);
    else if (f.acknowledgement) {
      const where = f.acknowledgement.source
        ? formatSourceLocation(f.acknowledgement.source)
        : f.acknowledgement.declaredAt;
      lines.push(`    acknowledged at ${where}: ${f.acknowledgement.reason}`);
    }
  });
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
