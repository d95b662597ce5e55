/**
 * `npm run purge`: the purge job from a terminal, against the local store of `npm run local` or, with
 * `--stage`, against AWS (or, with `--cloud gcp --project <id>`, GCP) with the ambient credentials.
 *
 * Exit status: 0 done; 1 some account failed (see the report); 2 bad usage, or a request refused before
 * anything changed (unknown or active account, unacceptable reason, a local store that does not exist);
 * 3 stopped by the time budget or a signal with work left, or the account is held by another run (run it
 * again to continue).
 */
import { resolve } from 'node:path';
import { LOCATIONS, PRIMARY_LOCATION, names, type Location, type Stage } from '../../../platform';
import { UsageError, cloudFlags, parseFlags, stageFlag, type CloudFlagMessages } from '../../shared/cli';
import { PurgeRequestError } from './core/errors';
import type { PurgeRunReport } from './core/run-report';
import { eventBucketVariable, parsePurgeEnv } from '../../../platform/contracts/purge-env';
import { formatReport } from './report';
import { LocalStoreMissingError, createPurgeRuntime, purgeLogger, type PurgeRuntimeOptions } from './runtime';

const USAGE = `Usage: npm run purge -- (--dry-run | --run | --now <accountId> --reason "<text>") [options]

  --dry-run                 list every account that would be purged or swept, with counts; change
                            nothing
  --run                     purge every account expired at least 45 days ago, and sweep each
                            purged account once more a day after its purge (late data)
  --now <accountId>         purge one expired account now: a customer's deletion request
  --reason "<text>"         why (required with --now); kept in the permanent receipt, so give a
                            ticket reference, never personal data such as an e-mail address
  --data-dir <path>         the local store of npm run local (default .data); it must exist
  --stage <dev|staging|prod>
                            run against AWS with the ambient credentials instead: the table, event
                            buckets and receipts bucket named in platform/names.ts (TS_TABLE_NAME,
                            TS_EVENT_BUCKET_<LOCATION>, TS_RECEIPTS_BUCKET override them);
                            with TS_CONFIG_BUCKET set, the purged accounts' published
                            campaign configs are deleted from that bucket too
  --cloud <aws|gcp>         with --stage: the cloud of the stage (default aws)
  --project <project-id>    with --cloud gcp (required there): the stage's GCP project; the Firestore
                            directory, event buckets, config bucket and receipts bucket named in
                            platform/names.ts (TS_FIRESTORE_DATABASE, TS_EVENT_BUCKET_<LOCATION>,
                            TS_CONFIG_BUCKET, TS_RECEIPTS_BUCKET override them); Application
                            Default Credentials
  --locations <list>        with --stage: the locations the stage deploys, comma-separated (default
                            all three); an account counts as purged once every one is emptied
  --account <12 digits>     with --stage on AWS: the stage's AWS account (or TS_AWS_ACCOUNT), which the
                            bucket names carry
  --time-budget <seconds>   start no new work after this long; the next run continues (default 600)
  --json                    print the report as JSON
  --help                    show this message

Exit status: 0 done, 1 an account failed, 2 bad usage or request refused (nothing changed),
3 time budget used up with work left, or the account is held by another run (run again).`;

/** This tool's wording of the `--cloud`/`--project` mistakes (its usage says `<project-id>`). */
const PURGE_CLOUD_MESSAGES: Partial<CloudFlagMessages> = {
  badCloud: (value) => `--cloud must be aws or gcp, got "${value}"`,
  needsProject: '--cloud gcp needs --project <project-id>',
  projectWithoutGcp: () => '--project goes only with --stage <stage> --cloud gcp',
  awsOnlyWithGcp: (flags) => `--${flags.join(', --')} is for AWS; it cannot go with --cloud gcp`,
};

/** What the command line asks for. */
export interface PurgeArgs {
  readonly mode: 'dry-run' | 'run' | 'now';
  readonly accountId?: string;
  readonly reason?: string;
  readonly dataDir: string;
  readonly stage?: Stage;
  readonly locations: readonly Location[];
  /** With `stage`: the AWS account, which the bucket names carry. */
  readonly account?: string;
  /** With `stage`: the cloud of the stage. */
  readonly cloud: 'aws' | 'gcp';
  /** With `cloud: 'gcp'`: the stage's project, which the bucket names carry. */
  readonly project?: string;
  readonly timeBudgetSeconds: number;
  readonly json: boolean;
}

/**
 * Parses the command line.
 * @throws UsageError naming what is wrong
 */
export function parsePurgeArgs(argv: readonly string[]): PurgeArgs | 'help' {
  const values = parseFlags(argv, {
    'dry-run': { type: 'boolean' },
    run: { type: 'boolean' },
    now: { type: 'string' },
    reason: { type: 'string' },
    'data-dir': { type: 'string' },
    stage: { type: 'string' },
    locations: { type: 'string' },
    account: { type: 'string' },
    cloud: { type: 'string' },
    project: { type: 'string' },
    'time-budget': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const modes = [
    values['dry-run'] && 'dry-run',
    values.run && 'run',
    values.now !== undefined && 'now',
  ].filter((m): m is 'dry-run' | 'run' | 'now' => typeof m === 'string');
  if (modes.length !== 1) {
    throw new UsageError(
      modes.length === 0
        ? 'say what to do: --dry-run, --run or --now <accountId>'
        : `--dry-run, --run and --now are exclusive; got ${modes.map((m) => `--${m}`).join(' and ')}`,
    );
  }
  const mode = modes[0]!;
  if (mode === 'now') {
    if (!values.now) throw new UsageError('--now needs an account id');
    if (values.reason === undefined)
      throw new UsageError('--now needs --reason "<text>" (e.g. a ticket reference)');
  } else if (values.reason !== undefined) {
    throw new UsageError('--reason goes only with --now');
  }
  let stage: Stage | undefined;
  if (values.stage !== undefined) {
    stage = stageFlag(values.stage);
    if (values['data-dir'] !== undefined)
      throw new UsageError('--data-dir is for the local store; it cannot go with --stage');
  }
  let locations: Location[] = [...LOCATIONS];
  if (values.locations !== undefined) {
    if (!stage) throw new UsageError('--locations goes only with --stage (the local store has one location)');
    const given = values.locations.split(',').map((l) => l.trim());
    const bad = given.filter((l) => !(LOCATIONS as readonly string[]).includes(l));
    if (bad.length || given.length === 0)
      throw new UsageError(
        `--locations takes a comma-separated list of ${LOCATIONS.join(', ')}; got "${values.locations}"`,
      );
    locations = [...new Set(given as Location[])];
  }
  if (values.account !== undefined) {
    if (!stage) throw new UsageError('--account goes only with --stage');
    if (!/^\d{12}$/.test(values.account))
      throw new UsageError(`--account must be a 12-digit AWS account id, got "${values.account}"`);
  }
  const { cloud, project } = cloudFlags(values, {
    stageGiven: stage !== undefined,
    awsOnly: ['account'],
    messages: PURGE_CLOUD_MESSAGES,
  });
  const budgetText = values['time-budget'] ?? '600';
  const timeBudgetSeconds = Number(budgetText);
  if (!/^\d+$/.test(budgetText) || timeBudgetSeconds > 86_400)
    throw new UsageError(
      `--time-budget must be a whole number of seconds from 0 to 86400, got "${budgetText}"`,
    );
  const dataDir = values['data-dir'] ?? '.data';
  if (dataDir.trim() === '') throw new UsageError('--data-dir must not be empty');
  return {
    mode,
    ...(mode === 'now' ? { accountId: values.now, reason: values.reason } : {}),
    dataDir: resolve(dataDir),
    ...(stage ? { stage } : {}),
    locations,
    ...(values.account !== undefined ? { account: values.account } : {}),
    cloud,
    ...(project !== undefined ? { project } : {}),
    timeBudgetSeconds,
    json: values.json === true,
  };
}

/** The environment the CLI runs with: the local store, or the stage's AWS resources. */
export function cliEnvironment(
  args: PurgeArgs,
  processEnv: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const common = { TS_TIME_BUDGET_SECONDS: String(args.timeBudgetSeconds), TS_LOG_LEVEL: 'silent' };
  if (!args.stage) {
    return {
      ...common,
      TS_STAGE: 'local',
      TS_LOCATION: processEnv.TS_LOCATION ?? PRIMARY_LOCATION,
      TS_DIRECTORY: 'file',
      TS_OBJECT_STORE: 'file',
      TS_RECEIPT_STORE: 'file',
      TS_DATA_DIR: args.dataDir,
    };
  }
  const stage = args.stage;
  if (args.cloud === 'gcp') return gcpEnvironment(stage, args, processEnv, common);
  // S3 bucket names are global across accounts, so the platform's names carry the account.
  const account = args.account ?? processEnv.TS_AWS_ACCOUNT;
  const accountFor = (variable: string): string => {
    if (account !== undefined && /^\d{12}$/.test(account)) return account;
    throw new UsageError(
      `--stage needs the AWS account for ${variable}: pass --account <12 digits> or set TS_AWS_ACCOUNT (or set ${variable})`,
    );
  };
  const env: Record<string, string> = {
    ...common,
    TS_STAGE: stage,
    TS_LOCATION: PRIMARY_LOCATION,
    TS_DIRECTORY: 'dynamodb',
    TS_TABLE_NAME: processEnv.TS_TABLE_NAME || names.directoryTable(stage),
    TS_OBJECT_STORE: 's3',
    TS_RECEIPT_STORE: 's3',
    TS_RECEIPTS_BUCKET:
      processEnv.TS_RECEIPTS_BUCKET || names.purgeReceiptsBucket(stage, accountFor('TS_RECEIPTS_BUCKET')),
    TS_LOCATIONS: args.locations.join(','),
  };
  if (processEnv.TS_RECEIPTS_REGION) env.TS_RECEIPTS_REGION = processEnv.TS_RECEIPTS_REGION;
  // Only when named: a stage whose edge stack is not deployed has no config bucket to delete from.
  if (processEnv.TS_CONFIG_BUCKET) env.TS_CONFIG_BUCKET = processEnv.TS_CONFIG_BUCKET;
  for (const l of args.locations) {
    const variable = eventBucketVariable(l);
    env[variable] = processEnv[variable] || names.eventBucket(stage, l, accountFor(variable));
  }
  return env;
}

/** A GCP stage's resources, from `names` (each overridable by its variable). */
function gcpEnvironment(
  stage: Stage,
  args: PurgeArgs,
  processEnv: Readonly<Record<string, string | undefined>>,
  common: Record<string, string>,
): Record<string, string> {
  const project = args.project!;
  const env: Record<string, string> = {
    ...common,
    TS_STAGE: stage,
    TS_LOCATION: PRIMARY_LOCATION,
    TS_DIRECTORY: 'firestore',
    TS_GCP_PROJECT: project,
    TS_FIRESTORE_DATABASE: processEnv.TS_FIRESTORE_DATABASE || names.gcpDirectoryDatabase(stage),
    TS_OBJECT_STORE: 'gcs',
    // One config bucket per GCP stage, always deployed with it.
    TS_CONFIG_BUCKET: processEnv.TS_CONFIG_BUCKET || names.gcpConfigBucket(stage, project),
    TS_RECEIPT_STORE: 'gcs',
    TS_RECEIPTS_BUCKET: processEnv.TS_RECEIPTS_BUCKET || names.gcpReceiptsBucket(stage, project),
    TS_LOCATIONS: args.locations.join(','),
  };
  for (const l of args.locations) {
    const variable = eventBucketVariable(l);
    env[variable] = processEnv[variable] || names.gcpEventBucket(stage, l, project);
  }
  return env;
}

/** Where the CLI writes. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Stops the run between batches (SIGINT). */
  readonly signal?: AbortSignal;
  /** For tests: clock, hooks, SDK client settings. */
  readonly runtime?: PurgeRuntimeOptions;
}

/** Runs the CLI; resolves with the exit status. */
export async function runPurgeCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args: PurgeArgs | 'help';
  try {
    args = parsePurgeArgs(argv);
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  let report: PurgeRunReport;
  let store: string;
  let close: (() => Promise<void>) | undefined;
  try {
    const env = parsePurgeEnv(cliEnvironment(args, io.env ?? process.env));
    const rt = await createPurgeRuntime(env, {
      logger: purgeLogger('silent'),
      ...io.runtime,
    });
    close = rt.close;
    store = rt.directory.description;
    const options = {
      timeBudgetMs: args.timeBudgetSeconds * 1000,
      ...(io.signal ? { signal: io.signal } : {}),
    };
    if (args.mode === 'now') report = await rt.job.purgeNow(args.accountId!, args.reason!, options);
    else report = await rt.job.run({ ...options, dryRun: args.mode === 'dry-run' });
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof PurgeRequestError) {
      io.stderr(`Refused, nothing was changed: ${err.message}`);
      return 2;
    }
    if (err instanceof LocalStoreMissingError) {
      io.stderr(`Refused, nothing was changed: ${err.message} (--data-dir)`);
      return 2;
    }
    io.stderr(`Purge failed: ${(err as Error).message}`);
    return 1;
  } finally {
    await close?.().catch(() => undefined);
  }
  io.stdout(args.json ? JSON.stringify(report, null, 2) : formatReport(report, store));
  const all = [...report.outcomes, ...report.sweeps];
  if (all.some((o) => o.result === 'failed')) return 1;
  // Paused by the budget, or held by another run: the request is not done yet.
  if (report.metrics.incomplete || all.some((o) => o.result === 'busy')) return 3;
  return 0;
}

async function main(): Promise<void> {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error('Stopping after the batch in flight (press Ctrl-C again to quit at once)...');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await runPurgeCli(process.argv.slice(2), {
    stdout: (t) => console.log(t),
    stderr: (t) => console.error(t),
    signal: controller.signal,
  });
  process.exit(code);
}

if (require.main === module) void main();
