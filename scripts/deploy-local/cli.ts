/**
 * `npm run deploy:local [-- --stage dev] [--keep] [--unpatched] [--verbose]`: the entry point. Deploys
 * every AWS stack of a stage into a local moto_server with the real CDK CLI, checks what got deployed
 * against the synthesized templates, then sends a hit through the ingest service running in this process
 * with the deployed function's environment and reads it back from the deployed bucket.
 *
 * The modules beside this one, in the order the flow (deploy.ts) uses them:
 * 1. synth (scripts/synth/): the same synth, cdk-nag and cfn-lint as `npm run synth`, with moto's account
 *    as the stacks' account.
 * 2. moto_server on a free loopback port (tooling/moto.ts, `MOTO_ACCOUNT_ID=000000000000`).
 * 3. `cdk bootstrap aws://<account>/<region>` for every region of the stage (cdk-cli.ts).
 * 4. A copy of the cloud assembly, adjusted where moto's CloudFormation would fail (moto-patch.ts, from
 *    what moto-types.ts knows of moto); every adjustment is printed. `--unpatched` deploys the assembly as
 *    synthesized instead.
 * 5. `cdk deploy --all --require-approval never --method=direct --no-previous-parameters` against it.
 * 6. Inventory (CloudFormation ListStackResources, moto-clients.ts): what moto created and what it skipped.
 * 7. Stand-ins for the skipped resources the data path needs (stand-ins.ts: Firehose delivery streams, the
 *    DynamoDB global table), created through their service APIs from the templates' own properties.
 * 8. Checks with the AWS SDK against the templates, resolved by template-resolver.ts (checks.ts,
 *    check-list.ts): keys, buckets, functions, tables, streams, queues, schedules; and that each purge
 *    function's environment names buckets and tables that exist.
 * 9. The data path (data-path.ts): seeds the directory, runs the ingest service in-process with each
 *    deployed function's environment, sends a hit, reads the event back from the bucket and decrypts its
 *    personal fields.
 * Then the report (report.ts). The README's "Local deploy against moto" says what this does not prove.
 *
 * Each workaround's comment names the behaviour of moto (5.2) or of the CDK CLI (2.1148) that it answers.
 */
import { rmSync } from 'node:fs';
import { STAGES, type Stage } from '../../platform';
import { parseCommandLine, parseFlags } from '../../services/shared/cli';
import { parseStageArg, runMain } from '../shared/command-line';
import { deployLocal } from './deploy';
import { formatDeployLocalReport } from './report';

/** Usage of the command line, printed on `--help` and after a mistake. */
export const DEPLOY_LOCAL_USAGE = `Usage: npm run deploy:local [-- --stage <${STAGES.join('|')}>] [--keep] [--unpatched] [--verbose]

Deploys every AWS stack of the stage into a local moto_server with the CDK CLI (bootstrap, then
deploy --all), checks the deployed resources against the synthesized templates, and sends a hit through
the ingest service running with the deployed function's environment.

  --stage <stage>  stage to deploy (default: dev)
  --keep           leave moto running (until Ctrl-C) and print its endpoint
  --unpatched      deploy the assembly exactly as synthesized (expect moto to fail; see the report)
  --verbose        print the CDK CLI's output
  --help           show this help`;

/** Parsed command line of `npm run deploy:local`. */
export interface DeployLocalArgs {
  readonly stage: Stage;
  readonly keep: boolean;
  readonly unpatched: boolean;
  readonly verbose: boolean;
  readonly help: boolean;
}

/**
 * Parses the command line of `npm run deploy:local`, every flag off unless given.
 * @throws UsageError on an unknown flag or a bad value
 */
export function parseDeployLocalArgs(argv: readonly string[]): DeployLocalArgs {
  const values = parseFlags(argv, {
    stage: { type: 'string', short: 's' },
    keep: { type: 'boolean' },
    unpatched: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  });
  return {
    stage: parseStageArg(values.stage),
    keep: values.keep ?? false,
    unpatched: values.unpatched ?? false,
    verbose: values.verbose ?? false,
    help: values.help ?? false,
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommandLine(argv, parseDeployLocalArgs, DEPLOY_LOCAL_USAGE);
  if (typeof args === 'number') return args;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the CDK CLI and moto…`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await deployLocal({
    stage: args.stage,
    keep: args.keep,
    unpatched: args.unpatched,
    log: (l) => console.log(`· ${l}`),
    cliOutput: args.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
    signal: abort.signal,
  });
  console.log('');
  for (const line of formatDeployLocalReport(result)) console.log(line);
  if (result.moto) {
    const port = new URL(result.endpoint).port;
    console.log(
      `\nmoto is still running at ${result.endpoint}. To use it:\n` +
        `  export AWS_ENDPOINT_URL=${result.endpoint} AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION=http://localhost:${port}\n` +
        '  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1\n' +
        `The assemblies (as synthesized, as deployed) are in ${result.scratchDir}. Ctrl-C stops moto.`,
    );
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await new Promise<void>((resolveWait) => {
      const stop = () =>
        void result.moto!.stop().then(() => {
          if (result.scratchDir) rmSync(result.scratchDir, { recursive: true, force: true });
          resolveWait();
        });
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  }
  return abort.signal.aborted ? 130 : result.ok ? 0 : 1;
}

if (require.main === module) runMain(main);
