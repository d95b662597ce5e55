/** Human-readable rendering of a purge run's report, for the CLI. */
import type { PurgeCounts } from './core/model';
import type { AccountOutcome, PurgeRunReport } from './core/run-report';
import type { SweepOutcome } from './core/sweep';

/** Renders counts on one line per store. */
export function formatCounts(counts: PurgeCounts, indent = '    '): string[] {
  const lines = [
    `${indent}data keys: ${counts.dataKeys.deleted}${counts.dataKeys.locations.length ? ` (${counts.dataKeys.locations.join(', ')})` : ''}`,
  ];
  for (const [location, c] of Object.entries(counts.objects)) {
    lines.push(
      `${indent}events ${location}: ${c.versions} object version(s), ${c.deleteMarkers} delete marker(s), ${formatBytes(c.bytes)}`,
    );
  }
  const d = counts.directory;
  lines.push(
    `${indent}directory: ${d.campaigns} campaign(s), ${d.apiKeys} API key(s), ${d.other} other item(s), ${d.conversionClaims ?? 0} conversion claim(s)`,
  );
  return lines;
}

/** Renders a report for a terminal. */
export function formatReport(report: PurgeRunReport, store: string): string {
  const out: string[] = [];
  const c = report.census;
  if (report.mode === 'dry-run') {
    out.push(
      `Dry run at ${report.now} against ${store}: ${report.previews.length} account(s) would be purged, ${report.sweepPreviews.length} purged account(s) swept once more. Nothing was changed.`,
    );
    for (const p of report.previews) {
      out.push(
        `  ${p.accountId}  expired ${p.expiredAt} (${p.ageDays} days ago; eligible since ${p.eligibleAt}, deadline ${p.deadline})${p.overdue ? '  OVERDUE (past day 80)' : ''}${p.inProgress ? `  [purge ${p.inProgress.purgeId} in progress at step ${p.inProgress.step}]` : ''}`,
      );
      out.push(...formatCounts(p.counts));
    }
    for (const p of report.sweepPreviews) {
      out.push(
        `  ${p.accountId}  sweep of purge ${p.purgeId} (purged ${p.purgedAt}; due since ${p.dueAt}, deadline ${p.deadline})${p.overdue ? '  OVERDUE (past day 80)' : ''}${p.inProgress ? `  [sweep ${p.inProgress.sweepId} in progress at step ${p.inProgress.step}]` : ''}`,
      );
      out.push(...formatCounts(p.counts));
    }
  } else {
    out.push(
      `Purge ${report.mode === 'request' ? 'request' : 'run'} ${report.runId} at ${report.now} against ${store}:`,
    );
    const sweeps = report.sweeps;
    if (
      report.outcomes.length === 0 &&
      report.notStarted.length === 0 &&
      sweeps.length === 0 &&
      report.sweepsNotStarted.length === 0
    )
      out.push('  nothing to purge.');
    for (const o of report.outcomes) out.push(...formatOutcome(o));
    if (report.notStarted.length)
      out.push(
        `  not started (time budget used up; the next run continues): ${report.notStarted.join(', ')}`,
      );
    for (const o of sweeps) out.push(...formatSweep(o));
    if (report.sweepsNotStarted.length)
      out.push(
        `  sweeps not started (time budget used up; the next run continues): ${report.sweepsNotStarted.join(', ')}`,
      );
  }
  if (report.mode !== 'request') {
    out.push(
      `Accounts: ${c.active} active, ${c.waiting} expired and waiting for day 45, ${c.eligible} eligible, ${c.purged} purged${c.invalid ? `, ${c.invalid} that cannot be judged` : ''}.`,
    );
    const m = report.metrics;
    out.push(
      `Oldest expired account not yet purged: ${m.oldestUnpurgedExpiredDays} day(s); past day 80: ${m.overdueAccounts}.`,
    );
  }
  for (const a of report.anomalies) out.push(`  warning: ${a.accountId}: ${a.problem}`);
  return out.join('\n');
}

function formatOutcome(o: AccountOutcome): string[] {
  switch (o.result) {
    case 'purged':
      return [`  ${o.accountId}: purged; receipt ${o.receipt}`, ...(o.counts ? formatCounts(o.counts) : [])];
    case 'paused':
      return [`  ${o.accountId}: paused at step ${o.step} (time budget); the next run continues`];
    case 'busy':
      return [`  ${o.accountId}: skipped, ${o.message}`];
    case 'skipped':
      return [`  ${o.accountId}: skipped, ${o.message}${o.receipt ? `; receipt ${o.receipt}` : ''}`];
    case 'failed':
      return [
        `  ${o.accountId}: FAILED at step ${o.step ?? 'claim'}: ${o.message}`,
        ...(o.errors ?? []).map((e) => `      ${e.key} (${e.versionId}): ${e.code} ${e.message}`),
      ];
  }
}

function formatSweep(o: SweepOutcome): string[] {
  switch (o.result) {
    case 'swept':
      return [
        `  ${o.accountId}: swept once more after its purge; sweep receipt ${o.receipt}`,
        ...(o.counts ? formatCounts(o.counts) : []),
      ];
    case 'paused':
      return [`  ${o.accountId}: sweep paused at step ${o.step} (time budget); the next run continues`];
    case 'busy':
    case 'skipped':
      return [`  ${o.accountId}: sweep skipped, ${o.message}`];
    case 'failed':
      return [
        `  ${o.accountId}: sweep FAILED at step ${o.step ?? 'claim'}: ${o.message}`,
        ...(o.errors ?? []).map((e) => `      ${e.key} (${e.versionId}): ${e.code} ${e.message}`),
      ];
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
