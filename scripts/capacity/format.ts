/**
 * The capacity model's output: Markdown tables (readable in a terminal, pasted as they are into the README)
 * and the assumptions they rest on, so that no figure is printed without what it assumed.
 */
import { AWS_PRICES_USD, AWS_QUOTAS, LIMITS, REGIONS, type Location } from '../../platform';
import { bindingQuota, type QuotaCheck } from '../../tooling/capacity/bounds';
import type { Assumptions, RegionFigures, StageSettings } from '../../tooling/capacity/model';

/** One region's figures at one load, with its quota checks before and after the KMS reduction. */
export interface RegionReport {
  readonly figures: RegionFigures;
  readonly before: readonly QuotaCheck[];
  readonly after: readonly QuotaCheck[];
}

/** A number for a table: thousands separated, two decimals below 10, none from 100 up. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '-∞';
  const digits = Math.abs(n) < 10 ? 2 : Math.abs(n) < 100 ? 1 : 0;
  return n.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

const percent = (used: number, limit: number) => `${formatNumber((100 * used) / limit)}%`;
const dollars = (n: number) => `$${Math.round(n).toLocaleString('en-US')}`;

/** Where and at what load a quota is reached, e.g. `Firehose requests/s per stream at 2,000 hits/s`. */
export function describeBinding(check: QuotaCheck): string {
  if (!Number.isFinite(check.loadAtLimit)) return `${check.quota}: not reached below 1e9`;
  const unit = check.dimension === 'accounts' ? 'accounts' : 'hits/s';
  const state = check.headroom < 1 ? 'exceeded' : `${formatNumber(check.headroom)}× headroom`;
  return `${check.quota} at ${formatNumber(check.loadAtLimit)} ${unit} (${state})`;
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function regionLabel(location: Location): string {
  return `${location} (${REGIONS[location].aws})`;
}

/** The per-region table of one load, each region's binding quota, and the assumptions. */
export function formatLoad(
  reports: readonly RegionReport[],
  stage: StageSettings,
  assumptions: Assumptions,
): string[] {
  const first = reports[0];
  if (!first) return [];
  const { accounts, hitsPerSecond } = first.figures.load;
  const header = [
    'region',
    'concurrency (limit)',
    'instances',
    'KMS/s before',
    'KMS/s after',
    'directory RRU/s',
    'events/record',
    'records/s',
    'MiB/s',
    'PUT calls/s per stream',
    'partitions, busiest stream',
    'streams (stage/needed)',
    '$/month before',
    '$/month after',
  ];
  const rows = reports.map(({ figures: f }) => [
    regionLabel(f.location),
    `${formatNumber(f.lambda.concurrency)} (${formatNumber(f.lambda.concurrencyLimit)})`,
    formatNumber(f.lambda.instances),
    `${formatNumber(f.kms.beforePerSecond)} (${percent(f.kms.beforePerSecond, f.kms.quotaPerSecond)} of ${formatNumber(f.kms.quotaPerSecond)})`,
    `${formatNumber(f.kms.afterPerSecond)} (${percent(f.kms.afterPerSecond, f.kms.quotaPerSecond)})`,
    `${formatNumber(f.directory.readUnitsPerSecond)} (${percent(f.directory.readUnitsPerSecond, f.directory.readUnitQuota)})`,
    formatNumber(f.firehose.eventsPerRecord),
    formatNumber(f.firehose.recordsPerSecond),
    formatNumber(f.firehose.bytesPerSecond / (1024 * 1024)),
    formatNumber(f.firehose.requestsPerSecond / f.firehose.streams),
    `${formatNumber(f.firehose.busiestStreamPartitions)} of ${formatNumber(f.firehose.partitionQuota)}`,
    `${f.firehose.streams}/${formatNumber(f.firehose.streamsNeeded)}`,
    dollars(f.costPerMonth.totalBefore),
    dollars(f.costPerMonth.totalAfter),
  ]);
  const lines = [
    `Capacity of one region at ${formatNumber(accounts)} active accounts and ${formatNumber(hitsPerSecond)} hits/s`,
    '',
    ...markdownTable(header, rows),
    '',
  ];
  for (const r of reports) {
    lines.push(
      `${regionLabel(r.figures.location)} binds first: before the KMS reduction, ${describeBinding(bindingQuota(r.before))}; after it, ${describeBinding(bindingQuota(r.after))}.`,
    );
    const exceeded = [...r.before, ...r.after]
      .filter((c) => c.utilization > 1)
      .map((c) => `${c.quota} (${formatNumber(100 * c.utilization)}%)`);
    if (exceeded.length > 0) lines.push(`  exceeded: ${[...new Set(exceeded)].join(', ')}`);
    for (const step of advice(r)) lines.push(`  to do: ${step}`);
  }
  return [...lines, '', ...formatAssumptions(stage, assumptions)];
}

/** What to change for one region's load to fit its quotas, one step per quota exceeded. */
export function advice(report: RegionReport): string[] {
  const f = report.figures;
  const steps: string[] = [];
  const fh = f.firehose;
  if (fh.streamsNeeded > fh.streams) {
    const why = `${formatNumber(fh.streamsForPartitions)} for partitions, ${formatNumber(fh.streamsForThroughput)} for PUT throughput`;
    steps.push(
      fh.streamsNeeded <= LIMITS.maxEventStreams
        ? `set eventStreams to at least ${fh.streamsNeeded} (${why})`
        : `${formatNumber(fh.streamsNeeded)} streams needed (${why}), more than the ${LIMITS.maxEventStreams} a stage may have: ask AWS for a higher partition quota (firehoseActivePartitionQuota, up to ${formatNumber(LIMITS.firehoseMaxActivePartitions)})`,
    );
  }
  if (f.lambda.concurrency > f.lambda.concurrencyLimit) {
    const needed = Math.ceil(f.lambda.concurrency);
    steps.push(
      needed <= AWS_QUOTAS.lambdaAccountConcurrency
        ? `raise ingestReservedConcurrency to at least ${needed}`
        : `${needed} concurrent executions: ask AWS to raise the account's Lambda concurrency (${formatNumber(AWS_QUOTAS.lambdaAccountConcurrency)})`,
    );
  }
  if (f.kms.beforePerSecond > f.kms.quotaPerSecond) {
    steps.push(
      f.kms.afterPerSecond <= f.kms.quotaPerSecond
        ? `KMS needs the branch key (after: ${formatNumber(f.kms.afterPerSecond)}/s of ${formatNumber(f.kms.quotaPerSecond)})`
        : 'ask AWS to raise the KMS request quota',
    );
  }
  if (f.directory.readUnitsPerSecond > f.directory.readUnitQuota)
    steps.push("ask AWS to raise the directory table's on-demand read quota");
  return steps;
}

/** One row of the grid. */
export interface GridRow {
  readonly accounts: number;
  readonly hitsPerSecond: number;
  readonly report: RegionReport;
}

/** The grid (accounts × hits per second × region), before and after the KMS reduction. */
export function formatGrid(
  rows: readonly GridRow[],
  stage: StageSettings,
  assumptions: Assumptions,
): string[] {
  const header = [
    'accounts',
    'hits/s',
    'region',
    'concurrency',
    'KMS/s before',
    'KMS/s after',
    'KMS quota',
    'directory RRU/s',
    'records/s',
    'PUT calls/s per stream',
    'busiest stream partitions',
    'streams needed',
    '$/month before',
    '$/month after',
    'binds first (before)',
    'binds first (after)',
  ];
  const body = rows.map(({ accounts, hitsPerSecond, report }) => {
    const f = report.figures;
    return [
      formatNumber(accounts),
      formatNumber(hitsPerSecond),
      f.location,
      formatNumber(f.lambda.concurrency),
      formatNumber(f.kms.beforePerSecond),
      formatNumber(f.kms.afterPerSecond),
      formatNumber(f.kms.quotaPerSecond),
      formatNumber(f.directory.readUnitsPerSecond),
      formatNumber(f.firehose.recordsPerSecond),
      formatNumber(f.firehose.requestsPerSecond / f.firehose.streams),
      formatNumber(f.firehose.busiestStreamPartitions),
      formatNumber(f.firehose.streamsNeeded),
      dollars(f.costPerMonth.totalBefore),
      dollars(f.costPerMonth.totalAfter),
      shortBinding(bindingQuota(report.before)),
      shortBinding(bindingQuota(report.after)),
    ];
  });
  return [...markdownTable(header, body), '', ...formatAssumptions(stage, assumptions)];
}

function shortBinding(check: QuotaCheck): string {
  if (!Number.isFinite(check.loadAtLimit)) return 'none below 1e9';
  const unit = check.dimension === 'accounts' ? 'accounts' : 'hits/s';
  return `${check.quota} at ${formatNumber(check.loadAtLimit)} ${unit}`;
}

/** The stage settings and assumptions behind the figures, one per line. */
export function formatAssumptions(stage: StageSettings, a: Assumptions): string[] {
  const batch =
    a.batchMs === undefined
      ? 'one request per sink batch (a Lambda instance serves one request at a time)'
      : `${formatNumber(a.batchMs)} ms of requests per instance per sink batch`;
  return [
    'Assumptions (each a flag; see --help):',
    `- stage: ${stage.streams} stream(s) per region, ${formatNumber(stage.partitionQuota)} active partitions per stream, ${stage.memoryMb} MiB functions, reserved concurrency ${stage.reservedConcurrency}`,
    `- hits spread evenly over the active accounts (the worst case for caches and partitions); ${a.eventsPerRequest} event(s) per request of ${a.eventBytes} bytes; ${formatNumber(a.durationMs)} ms billed per invocation; instances = mean concurrency unless --instances`,
    `- ${batch}; events of one account in a batch packed into records of up to ${LIMITS.firehoseBillingIncrementBytes} bytes`,
    `- ${a.partitionsPerAccount} partition(s) per active account per ${a.bufferSeconds} s buffer interval; busiest stream = mean + 3σ of the hash's spread`,
    `- KMS before: each instance unwraps each account's data key once per ${LIMITS.dataKeyCacheSeconds} s, plus every account a fresh instance meets in its first minute; instances live ${a.instanceLifetimeMinutes} min`,
    `- KMS after: one branch-key unwrap per fresh instance and per instance every ${formatNumber(a.branchKeyRotationSeconds / 3600)} h (rotation), and at most one call per account per rotation (a copy sealed under a retired branch key)`,
    `- directory: ${a.statusReadsPerAccount} eventually consistent reads per account seen per ${LIMITS.keyStatusCacheSeconds} s, one wrapped-key read per account per ${LIMITS.dataKeyCacheSeconds} s, per instance`,
    `- cost: us-east-1 list prices in every region (platform/quotas.ts), 730 h a month; not counted: the edge, S3 storage, JQ processing hours ($${AWS_PRICES_USD.firehoseJqPerHour}/h), directory writes`,
  ];
}
