/**
 * `npm run synth [-- --stage dev|staging|prod] [--out DIR]`: the entry point. Synthesizes every AWS stack
 * of a stage offline (synthesize.ts), fails on any unacknowledged cdk-nag finding, then runs cfn-lint on
 * every synthesized template and fails on any cfn-lint error. Prints the time of each step and the total.
 */
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../infra/build/paths';
import { STAGES, type Stage } from '../../platform';
import { parseCommandLine, parseFlags } from '../../services/shared/cli';
import { parseStageArg, runMain } from '../shared/command-line';
import { formatSeconds, formatTimings } from '../shared/steps';
import { formatLintMatches } from './cfn-lint';
import { formatNagFindings } from './nag-report';
import { synthStage, type SynthResult } from './synthesize';

/** Usage of the command line, printed on `--help` and after a mistake. */
export const SYNTH_USAGE = `Usage: npm run synth [-- --stage <${STAGES.join('|')}>] [--out <dir>]

Synthesizes every AWS stack of the stage offline, fails on any unacknowledged cdk-nag finding, then runs
cfn-lint on every template (zero errors allowed; ignored checks are listed in .cfnlintrc.yaml).

  --stage <stage>  stage to synthesize (default: dev)
  --out <dir>      cloud assembly directory (default: cdk.out)
  --help           show this help`;

/** Parsed command line of `npm run synth`. */
export interface SynthArgs {
  readonly stage: Stage;
  readonly outdir: string;
  readonly help: boolean;
}

/**
 * Parses the command line of `npm run synth`; the output directory comes back absolute so that the
 * messages and the assembly do not depend on where the CDK app later resolves it from.
 * @throws UsageError on an unknown flag or a bad value
 */
export function parseSynthArgs(argv: readonly string[]): SynthArgs {
  const values = parseFlags(argv, {
    stage: { type: 'string', short: 's' },
    out: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  return {
    stage: parseStageArg(values.stage),
    outdir: resolve(values.out ?? resolve(REPO_ROOT, 'cdk.out')),
    help: values.help ?? false,
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommandLine(argv, parseSynthArgs, SYNTH_USAGE);
  if (typeof args === 'number') return args;
  let result: SynthResult;
  try {
    result = await synthStage({ stage: args.stage, outdir: args.outdir, log: (l) => console.log(l) });
  } catch (err) {
    // A configuration mistake names its key; a stack trace would add nothing to it.
    if ((err as Error).name === 'ConfigError') {
      console.error((err as Error).message);
      return 1;
    }
    throw err;
  }
  for (const line of formatNagFindings(result.nag)) console.error(line);
  if (result.lint) for (const line of formatLintMatches(result.lint)) console.error(line);
  console.log(`\nnpm run synth -- --stage ${result.stage}: ${result.ok ? 'passed' : 'FAILED'}`);
  for (const line of formatTimings(result)) console.log(line);
  // The steps above exclude starting node and tsx; the time bar for synth (docs/architecture.md) is about
  // the whole command.
  console.log(`  (whole command so far: ${formatSeconds(performance.now())})`);
  return result.ok ? 0 : 1;
}

if (require.main === module) runMain(main);
