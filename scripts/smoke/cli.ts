/**
 * `npm run smoke -- --stage <stage> [--location <location>]... [--timeout <s>] [--poll <s>]`: the release
 * pipeline's post-deployment check (smoke.ts). Exit 0 when every location received its hit, 1 when one
 * did not (or a stack or output is missing), 2 for bad flags.
 */
import { LOCATIONS, names, type Location, type Stage } from '../../platform';
import { directoryHome, readCdkJsonContext } from '../../infra/aws/lib/app';
import { readStageConfig, STAGE_CONTEXT_KEY } from '../../infra/aws/lib/stage-context';
import { parseFlags, stageFlag, UsageError, wholeNumber } from '../../services/shared/cli';
import { runMain } from '../shared/command-line';
import { setupSmokeAccounts } from './setup';
import { formatResults, runSmoke, SMOKE_CAMPAIGN, SmokeError, type SmokeOptions } from './smoke';

/** Usage of the command line, printed on `--help` and after a mistake. */
export const SMOKE_USAGE = `Usage: npm run smoke -- --stage <stage> [--location <location>]... [--timeout <s>] [--poll <s>]

Sends one pixel hit per location through the stage's CDN, for the smoke account whose home is that
location, and waits until the hit's object appears in that location's event bucket. Reads the CDN's
domain and the buckets from the stacks' outputs (credentials of the stage's account).

  --stage <stage>        the deployed stage (dev, staging or prod)
  --location <location>  a location to check; repeat for several (default: every location of the stage)
  --timeout <seconds>    how long to wait for each object, 1 to 3600 (default: 300: Firehose buffers)
  --poll <seconds>       pause between two listings of a bucket, 1 to 60 (default: 10)
  --role-arn <arn>       a role of the stage's account to read through (cross-account releases)
  --setup                instead of checking: write the smoke accounts (one per location, home there)
                         and their campaign to the stage's directory; once per stage, by an operator
  --help                 show this help

Exit status: 0 every location ok, 1 a location failed or a stack output is missing, 2 bad flags.`;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Parsed command line of `npm run smoke`. */
export interface SmokeArgs {
  readonly stage: Stage;
  /** The locations given, or `undefined` for every location of the stage. */
  readonly locations?: readonly Location[];
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Whether to write the smoke accounts rather than check. */
  readonly setup: boolean;
  /** The role to assume in the stage's account, if any. */
  readonly roleArn?: string;
  readonly help: boolean;
}

/**
 * Parses the command line of `npm run smoke`.
 * @throws UsageError on an unknown flag, a missing stage or a bad value
 */
export function parseSmokeArgs(argv: readonly string[]): SmokeArgs {
  const values = parseFlags(argv, {
    stage: { type: 'string', short: 's' },
    location: { type: 'string', short: 'l', multiple: true },
    timeout: { type: 'string' },
    poll: { type: 'string' },
    'role-arn': { type: 'string' },
    setup: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return { stage: 'dev', timeoutMs: 0, pollMs: 0, setup: false, help: true };
  // No default stage: a smoke check of the wrong stage would pass or fail for the wrong reason.
  if (values.stage === undefined) throw new UsageError('--stage is required');
  const locations = values.location?.map((l) => {
    if (!(LOCATIONS as readonly string[]).includes(l))
      throw new UsageError(`--location must be one of ${LOCATIONS.join(', ')}; got "${l}"`);
    return l as Location;
  });
  if (locations && new Set(locations).size !== locations.length)
    throw new UsageError('--location names a location twice');
  const timeout = wholeNumber('--timeout', values.timeout ?? '300', 1, 3600);
  const poll = wholeNumber('--poll', values.poll ?? '10', 1, 60);
  const roleArn = values['role-arn'];
  if (roleArn !== undefined && !ROLE_ARN.test(roleArn))
    throw new UsageError(
      `--role-arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>); got "${roleArn}"`,
    );
  return {
    stage: stageFlag(values.stage),
    locations,
    timeoutMs: timeout * 1000,
    pollMs: poll * 1000,
    roleArn,
    setup: values.setup ?? false,
    help: false,
  };
}

/** Where the CLI writes, and what tests change. */
export interface SmokeIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** For tests: settings for every AWS SDK client (moto's endpoint). */
  readonly awsClientConfig?: SmokeOptions['awsClientConfig'];
  /** The context to read the stage's locations from. @default cdk.json's */
  readonly context?: Record<string, unknown>;
}

/** Runs the smoke check from a command line; resolves with the exit status. */
export async function runSmokeCli(argv: readonly string[], io: SmokeIo): Promise<number> {
  let args: SmokeArgs;
  try {
    args = parseSmokeArgs(argv);
    if (args.help) {
      io.stdout(SMOKE_USAGE);
      return 0;
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${err.message}\n\n${SMOKE_USAGE}`);
    return 2;
  }
  const context = io.context ?? readCdkJsonContext();
  const config = readStageConfig({
    tryGetContext: (key) => (key === STAGE_CONTEXT_KEY ? args.stage : context[key]),
  });
  const outside = (args.locations ?? []).filter((l) => !config.locations.includes(l));
  if (outside.length > 0) {
    io.stderr(`--location ${outside.join(', ')} is not a location of stage ${args.stage}\n\n${SMOKE_USAGE}`);
    return 2;
  }
  if (args.setup) {
    const ids = await setupSmokeAccounts({
      stage: args.stage,
      locations: args.locations ?? config.locations,
      directoryLocation: directoryHome(config),
      awsClientConfig: io.awsClientConfig,
    });
    io.stdout(`Smoke accounts written to ${names.directoryTable(args.stage)}: ${ids.join(', ')}`);
    io.stdout('Publish their home locations to the edge store, once:');
    for (const id of ids)
      io.stdout(`  npm run publish-config -- ${SMOKE_CAMPAIGN} --account ${id} --stage ${args.stage}`);
    return 0;
  }
  try {
    const results = await runSmoke({
      stage: args.stage,
      locations: args.locations ?? config.locations,
      timeoutMs: args.timeoutMs,
      pollMs: args.pollMs,
      roleArn: args.roleArn,
      awsClientConfig: io.awsClientConfig,
      log: io.stdout,
    });
    for (const line of formatResults(results)) io.stdout(line);
    const ok = results.every((r) => r.ok);
    io.stdout(`smoke check of ${args.stage}: ${ok ? 'passed' : 'FAILED'}`);
    return ok ? 0 : 1;
  } catch (err) {
    if (!(err instanceof SmokeError)) throw err;
    io.stderr(`smoke check of ${args.stage}: FAILED: ${err.message}`);
    return 1;
  }
}

if (require.main === module)
  runMain((argv) => runSmokeCli(argv, { stdout: (l) => console.log(l), stderr: (l) => console.error(l) }));
