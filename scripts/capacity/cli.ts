/**
 * `npm run capacity`: the capacity model of the event path per region (function concurrency, KMS requests
 * before and after the branch-key reduction, directory reads, Firehose records, calls and partitions, cost
 * per month) and the quota that binds first. Exit 0, or 2 for bad flags.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIMITS, LOCATIONS, STAGES, type Stage } from '../../platform';
import { readStageConfig, STAGE_CONTEXT_KEY } from '../../infra/aws/lib/stage-context';
import { REPO_ROOT } from '../../infra/build/paths';
import { parseCommandLine, parseFlags, stageFlag, UsageError, wholeNumber } from '../../services/shared/cli';
import { runMain } from '../shared/command-line';
import { checkQuotas } from '../../tooling/capacity/bounds';
import { formatGrid, formatLoad, type GridRow, type RegionReport } from './format';
import {
  DEFAULT_ASSUMPTIONS,
  regionFigures,
  type Assumptions,
  type Load,
  type StageSettings,
} from '../../tooling/capacity/model';

/** The grid: accounts × hits per second. */
export const GRID_ACCOUNTS = [1_000, 10_000, 50_000] as const;
/** The grid: hits per second. */
export const GRID_HITS_PER_SECOND = [1_000, 10_000] as const;

const MAX_LOAD = 10_000_000;

/** Usage, printed on `--help` and after a mistake. */
export const CAPACITY_USAGE = `Usage: npm run capacity -- --accounts <n> --hits-per-second <h> [--instances <i>] [options]
       npm run capacity -- --table [options]

The capacity model of one region's event path, for each location: function concurrency, KMS requests per
second before and after the branch-key reduction, directory reads, Firehose records, PUT calls and active
partitions per stream, the cost per month, and the quota that binds first and at what load.

  --accounts <n>                accounts sending hits to a region within one buffer interval
  --hits-per-second <h>         events per second reaching a region
  --instances <i>               function instances (default: the mean concurrency, rounded up)
  --table                       the grid ${GRID_ACCOUNTS.join('/')} accounts × ${GRID_HITS_PER_SECOND.join('/')} hits/s instead
  --stage <${STAGES.join('|')}>      stage whose settings (cdk.json) are the defaults below (default: prod)
  --streams <n>                 Firehose streams per region, 1 to ${LIMITS.maxEventStreams} (default: the stage's eventStreams)
  --partition-quota <q>         active partitions per stream, ${LIMITS.firehoseActivePartitions} to ${LIMITS.firehoseMaxActivePartitions} (default: the stage's)
  --events-per-request <e>      events per request, 1 (pixels) to ${LIMITS.maxEventsPerBatch} (default ${DEFAULT_ASSUMPTIONS.eventsPerRequest})
  --event-bytes <b>             bytes of one stored event (default ${DEFAULT_ASSUMPTIONS.eventBytes})
  --duration-ms <ms>            billed duration of one invocation (default ${DEFAULT_ASSUMPTIONS.durationMs})
  --batch-ms <ms>               time one instance gathers requests into a sink batch (default: one request)
  --partitions-per-account <p>  partitions per active account: 2 after midnight UTC, 1 otherwise (default ${DEFAULT_ASSUMPTIONS.partitionsPerAccount})
  --instance-lifetime-minutes <m>  mean life of an instance (default ${DEFAULT_ASSUMPTIONS.instanceLifetimeMinutes})
  --format <table|json>         output format (default: table)
  --help                        show this help

In JSON, a quota that no load below 1e9 reaches has "loadAtLimit": null.
Quotas and prices: platform/quotas.ts. Exit status: 0, or 2 for bad flags.`;

/** Parsed command line of `npm run capacity`. */
export interface CapacityArgs {
  /** The one load to evaluate; absent with `--table`. */
  readonly load?: Load;
  readonly table: boolean;
  readonly stage: Stage;
  readonly streams?: number;
  readonly partitionQuota?: number;
  readonly assumptions: Assumptions;
  readonly format: 'table' | 'json';
  readonly help: boolean;
}

/**
 * A positive decimal from a flag, within bounds.
 * @throws UsageError naming the flag and the bounds
 */
function decimal(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value < min || value > max)
    throw new UsageError(`${name} must be a number from ${min} to ${max}, got "${text}"`);
  return value;
}

/**
 * Parses the command line of `npm run capacity`.
 * @throws UsageError on an unknown flag, a bad value or a missing load
 */
export function parseCapacityArgs(argv: readonly string[]): CapacityArgs {
  const v = parseFlags(argv, {
    accounts: { type: 'string' },
    'hits-per-second': { type: 'string' },
    instances: { type: 'string' },
    table: { type: 'boolean' },
    stage: { type: 'string' },
    streams: { type: 'string' },
    'partition-quota': { type: 'string' },
    'events-per-request': { type: 'string' },
    'event-bytes': { type: 'string' },
    'duration-ms': { type: 'string' },
    'batch-ms': { type: 'string' },
    'partitions-per-account': { type: 'string' },
    'instance-lifetime-minutes': { type: 'string' },
    format: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const help = v.help ?? false;
  const table = v.table ?? false;
  const format = v.format ?? 'table';
  if (format !== 'table' && format !== 'json')
    throw new UsageError(`--format must be table or json; got "${format}"`);
  const opt = <T>(text: string | undefined, parse: (t: string) => T): T | undefined =>
    text === undefined ? undefined : parse(text);

  let load: Load | undefined;
  if (table) {
    for (const flag of ['accounts', 'hits-per-second', 'instances'] as const)
      if (v[flag] !== undefined)
        throw new UsageError(`--${flag} goes without --table (the grid sets the load)`);
  } else if (!help) {
    if (v.accounts === undefined || v['hits-per-second'] === undefined)
      throw new UsageError('--accounts and --hits-per-second are required (or --table for the grid)');
    const instances = opt(v.instances, (t) => wholeNumber('--instances', t, 1, 100_000));
    load = {
      accounts: wholeNumber('--accounts', v.accounts, 1, MAX_LOAD),
      hitsPerSecond: wholeNumber('--hits-per-second', v['hits-per-second'], 1, MAX_LOAD),
      ...(instances !== undefined && { instances }),
    };
  }

  const batchMs = opt(v['batch-ms'], (t) => decimal('--batch-ms', t, 0.1, 60_000));
  const assumptions: Assumptions = {
    ...DEFAULT_ASSUMPTIONS,
    eventsPerRequest:
      opt(v['events-per-request'], (t) =>
        wholeNumber('--events-per-request', t, 1, LIMITS.maxEventsPerBatch),
      ) ?? DEFAULT_ASSUMPTIONS.eventsPerRequest,
    eventBytes:
      opt(v['event-bytes'], (t) => wholeNumber('--event-bytes', t, 50, LIMITS.firehoseMaxRecordBytes)) ??
      DEFAULT_ASSUMPTIONS.eventBytes,
    durationMs:
      opt(v['duration-ms'], (t) => decimal('--duration-ms', t, 0.1, 900_000)) ??
      DEFAULT_ASSUMPTIONS.durationMs,
    ...(batchMs !== undefined && { batchMs }),
    partitionsPerAccount:
      opt(v['partitions-per-account'], (t) => wholeNumber('--partitions-per-account', t, 1, 8)) ??
      DEFAULT_ASSUMPTIONS.partitionsPerAccount,
    instanceLifetimeMinutes:
      opt(v['instance-lifetime-minutes'], (t) => decimal('--instance-lifetime-minutes', t, 1, 24 * 60)) ??
      DEFAULT_ASSUMPTIONS.instanceLifetimeMinutes,
  };
  const streams = opt(v.streams, (t) => wholeNumber('--streams', t, 1, LIMITS.maxEventStreams));
  const partitionQuota = opt(v['partition-quota'], (t) =>
    wholeNumber('--partition-quota', t, LIMITS.firehoseActivePartitions, LIMITS.firehoseMaxActivePartitions),
  );
  return {
    ...(load && { load }),
    table,
    stage: stageFlag(v.stage ?? 'prod'),
    ...(streams !== undefined && { streams }),
    ...(partitionQuota !== undefined && { partitionQuota }),
    assumptions,
    format,
    help,
  };
}

/**
 * The stage's settings from `cdk.json`, validated as synth validates them, with the flags' overrides.
 * @throws ConfigError when cdk.json's entry for the stage is malformed
 */
export function stageSettings(args: CapacityArgs, cdkJson = join(REPO_ROOT, 'cdk.json')): StageSettings {
  const context = (JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> })
    .context;
  const config = readStageConfig({
    tryGetContext: (key) => (key === STAGE_CONTEXT_KEY ? args.stage : context?.[key]),
  });
  return {
    streams: args.streams ?? config.eventStreams,
    partitionQuota: args.partitionQuota ?? config.firehoseActivePartitionQuota,
    memoryMb: config.ingestMemoryMb,
    reservedConcurrency: config.ingestReservedConcurrency,
  };
}

/** Each location's figures and quota checks at one load. */
export function regionReports(load: Load, stage: StageSettings, assumptions: Assumptions): RegionReport[] {
  return LOCATIONS.map((location) => ({
    figures: regionFigures(location, load, stage, assumptions),
    before: checkQuotas(location, load, stage, 'before', assumptions),
    after: checkQuotas(location, load, stage, 'after', assumptions),
  }));
}

/** The grid, every location at every load. */
export function gridRows(stage: StageSettings, assumptions: Assumptions): GridRow[] {
  return GRID_ACCOUNTS.flatMap((accounts) =>
    GRID_HITS_PER_SECOND.flatMap((hitsPerSecond) =>
      regionReports({ accounts, hitsPerSecond }, stage, assumptions).map((report) => ({
        accounts,
        hitsPerSecond,
        report,
      })),
    ),
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommandLine(argv, parseCapacityArgs, CAPACITY_USAGE);
  if (typeof args === 'number') return args;
  const stage = stageSettings(args);
  if (args.table || !args.load) {
    const rows = gridRows(stage, args.assumptions);
    process.stdout.write(
      args.format === 'json'
        ? `${JSON.stringify({ stage, assumptions: args.assumptions, rows }, null, 2)}\n`
        : `${formatGrid(rows, stage, args.assumptions).join('\n')}\n`,
    );
    return 0;
  }
  const reports = regionReports(args.load, stage, args.assumptions);
  process.stdout.write(
    args.format === 'json'
      ? `${JSON.stringify({ stage, assumptions: args.assumptions, regions: reports }, null, 2)}\n`
      : `${formatLoad(reports, stage, args.assumptions).join('\n')}\n`,
  );
  return 0;
}

if (require.main === module) runMain(main);
