/**
 * `npm run scan`: the compliance report of every stage on both clouds, offline and without credentials.
 * Exit 0 when nothing is in violation, 1 when something is (or a target cannot be built), 2 for bad flags.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandLine, parseFlags, UsageError } from '../../services/shared/cli';
import { displayPath, runMain } from '../shared/command-line';
import { formatByPromise, promiseStatuses } from './by-promise';
import { toSarif } from './format-sarif';
import { formatTable } from './format-table';
import { CLOUDS, exitStatus, type Cloud, type ScanReport, type ScanStage } from './report';
import { runScan, SCAN_STAGES } from './scan';

/** The output formats. */
export const SCAN_FORMATS = ['table', 'json', 'sarif'] as const;
/** One of {@link SCAN_FORMATS}. */
export type ScanFormat = (typeof SCAN_FORMATS)[number];

/** Usage, printed on `--help` and after a mistake. */
export const SCAN_USAGE = `Usage: npm run scan [-- --stage <${SCAN_STAGES.join('|')}>] [--cloud <${CLOUDS.join('|')}>]
                    [--format <${SCAN_FORMATS.join('|')}>] [--out <file>] [--by-promise]

Synthesizes every AWS stage (and the release pipeline), evaluates the cdk-nag packs and cfn-lint on it, runs
the GCP program of every Pulumi stack under mocks and evaluates the policy pack, offline and without
credentials, and reports every finding: violations and acknowledged ones with their reasons.

  --stage <stage>    scan one stage only (repeatable); "release" is the AWS pipeline stack (default: all)
  --cloud <cloud>    scan one cloud only (default: both)
  --format <format>  table (default), json (schema: docs/scan-report.schema.json) or sarif (SARIF 2.1.0)
  --out <file>       write the report to a file instead of stdout
  --by-promise       for each customer promise, the rules that enforce it and their status (table or json)
  --help             show this help

Exit status: 0 nothing in violation, 1 something in violation (or a stage could not be built), 2 bad flags.`;

/** Parsed command line of `npm run scan`. */
export interface ScanArgs {
  readonly stages?: readonly ScanStage[];
  readonly clouds?: readonly Cloud[];
  readonly format: ScanFormat;
  /** Absolute path, or undefined for stdout. */
  readonly out?: string;
  readonly byPromise: boolean;
  readonly help: boolean;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}; got "${value}".`);
  return value as T;
}

/**
 * Parses the command line of `npm run scan`.
 * @throws UsageError on an unknown flag, a bad value or a combination that means nothing
 */
export function parseScanArgs(argv: readonly string[]): ScanArgs {
  const values = parseFlags(argv, {
    stage: { type: 'string', short: 's', multiple: true },
    cloud: { type: 'string', short: 'c' },
    format: { type: 'string', short: 'f' },
    out: { type: 'string', short: 'o' },
    'by-promise': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const stages = values.stage?.map((s) => oneOf('--stage', s, SCAN_STAGES));
  const cloud = values.cloud === undefined ? undefined : oneOf('--cloud', values.cloud, CLOUDS);
  const format = oneOf('--format', values.format ?? 'table', SCAN_FORMATS);
  const byPromise = values['by-promise'] ?? false;
  if (byPromise && format === 'sarif')
    throw new UsageError(
      '--by-promise prints a table or JSON; SARIF has no place for promises (use --format sarif alone).',
    );
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out needs a file name.');
  if (cloud === 'gcp' && stages?.length === 1 && stages[0] === 'release')
    throw new UsageError('--stage release is the AWS pipeline stack; it has nothing on --cloud gcp.');
  return {
    ...(stages && { stages: [...new Set(stages)] }),
    ...(cloud && { clouds: [cloud] }),
    format,
    ...(values.out !== undefined && { out: resolve(values.out) }),
    byPromise,
    help: values.help ?? false,
  };
}

/** The report rendered in the chosen format. */
export function renderReport(report: ScanReport, format: ScanFormat, byPromise: boolean): string {
  if (byPromise) {
    const statuses = promiseStatuses(report);
    return format === 'json'
      ? `${JSON.stringify({ version: report.version, startedAt: report.startedAt, promises: statuses }, null, 2)}\n`
      : `${formatByPromise(statuses).join('\n')}\n`;
  }
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'sarif') return `${JSON.stringify(toSarif(report), null, 2)}\n`;
  return `${formatTable(report).join('\n')}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommandLine(argv, parseScanArgs, SCAN_USAGE);
  if (typeof args === 'number') return args;
  let report: ScanReport;
  try {
    report = await runScan({
      ...(args.stages && { stages: args.stages }),
      ...(args.clouds && { clouds: args.clouds }),
      log: (line) => console.error(line),
    });
  } catch (err) {
    // A configuration mistake or a missing tool names its fix; its stack would add nothing.
    console.error(`scan failed: ${(err as Error).message}`);
    return 1;
  }
  const text = renderReport(report, args.format, args.byPromise);
  if (args.out === undefined) process.stdout.write(text);
  else {
    writeFileSync(args.out, text);
    console.error(`wrote ${args.format} report to ${displayPath(args.out)}`);
  }
  // The verdict goes to stderr too, so that it shows when stdout is a file or a pipe.
  const s = report.summary;
  console.error(
    `scan: ${s.violations} violations, ${s.acknowledged} acknowledged, ${s.seconds.toFixed(1)} s`,
  );
  return exitStatus(report);
}

if (require.main === module) runMain(main);
