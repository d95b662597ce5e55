/**
 * The command lines of the project's tools (`npm run local`, `purge`, `synth`, `deploy:local`, the build
 * and the benchmark) share one way of reading flags and one way of failing: a {@link UsageError} whose
 * message names the flag, printed with the usage, exit status 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { STAGES, type Stage } from '../../platform';

/** A command-line mistake; the message is meant for the user, followed by the usage. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The flag definitions of {@link parseFlags}, as `node:util` takes them. */
export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses flags strictly (no positionals, no unknown flags).
 * @throws UsageError with node's message naming the flag
 */
export function parseFlags<O extends FlagOptions>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

/**
 * A whole number from a flag or variable, within bounds.
 * @param name how the user wrote it, e.g. `--port`
 * @throws UsageError naming it and the bounds
 */
export function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  return value;
}

/**
 * The value of a `--stage` flag.
 * @throws UsageError naming the platform's stages and the value given
 */
export function stageFlag(value: string): Stage {
  if (!(STAGES as readonly string[]).includes(value))
    throw new UsageError(`--stage must be one of ${STAGES.join(', ')}; got "${value}"`);
  return value as Stage;
}

/**
 * Checks the flags that name cloud resources (`--table`, `--bucket`, …): they go only with `--stage`, and
 * none may be empty.
 * @param values the parsed flags
 * @param flags the names of the flags that go only with `--stage`
 * @throws UsageError naming the flag
 */
export function checkStageOnlyFlags(
  values: Readonly<Record<string, unknown>>,
  flags: readonly string[],
  stageGiven: boolean,
): void {
  for (const flag of flags) {
    const value = values[flag];
    if (value === undefined) continue;
    if (!stageGiven) throw new UsageError(`--${flag} goes only with --stage`);
    if (typeof value === 'string' && value.trim() === '') throw new UsageError(`--${flag} must not be empty`);
  }
}

/**
 * The start of every tool's `main`: parses the command line, printing the usage on `--help` or after a
 * mistake. Resolves with the arguments, or with the exit status when there is nothing more to do (0 after
 * `--help`, 2 after a mistake).
 */
export function parseCommandLine<T extends { readonly help?: boolean }>(
  argv: readonly string[],
  parse: (argv: readonly string[]) => T,
  usage: string,
): T | number {
  let args: T;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    console.log(usage);
    return 0;
  }
  return args;
}

/** The cloud a stage runs on, as `--cloud` names it. */
export type CloudName = 'aws' | 'gcp';

/** A GCP project id, as GCP allows it. */
const GCP_PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/**
 * The messages of {@link cloudFlags}. The purge CLI words four of them its own way (its tests pin that
 * wording), so a tool may replace any of them; the rest of the check stays in one place.
 */
export interface CloudFlagMessages {
  readonly badCloud: (value: string) => string;
  readonly needsProject: string;
  /** `--project` without `--cloud gcp` (`stageGiven`: whether `--stage` was given). */
  readonly projectWithoutGcp: (stageGiven: boolean) => string;
  /** Flags that name AWS resources, given with `--cloud gcp`. */
  readonly awsOnlyWithGcp: (flags: readonly string[]) => string;
}

const CLOUD_FLAG_MESSAGES: CloudFlagMessages = {
  badCloud: (value) => `--cloud must be aws or gcp; got "${value}"`,
  needsProject: '--cloud gcp needs --project <GCP project id>',
  projectWithoutGcp: (stageGiven) =>
    stageGiven ? '--project goes only with --cloud gcp' : '--project goes only with --stage',
  awsOnlyWithGcp: (flags) => `--${flags.join(', --')} name AWS resources: not with --cloud gcp`,
};

/**
 * The stage's cloud from `--cloud aws|gcp` (default aws) and, with gcp, its project from `--project`
 * (required there, refused otherwise). Both go only with `--stage`; flags that name AWS resources are
 * refused with gcp.
 * @param values the parsed flags
 * @param options `stageGiven`: whether `--stage` was given; `awsOnly`: the tool's flags that name AWS
 *   resources; `messages`: wording that replaces the shared one
 * @throws UsageError naming the flag
 */
export function cloudFlags(
  values: Readonly<Record<string, unknown>> & { readonly cloud?: string; readonly project?: string },
  options: {
    readonly stageGiven: boolean;
    readonly awsOnly: readonly string[];
    readonly messages?: Partial<CloudFlagMessages>;
  },
): { readonly cloud: CloudName; readonly project?: string } {
  const messages = { ...CLOUD_FLAG_MESSAGES, ...options.messages };
  const { cloud: cloudText, project } = values;
  if (cloudText !== undefined && !options.stageGiven) throw new UsageError('--cloud goes only with --stage');
  if (cloudText !== undefined && cloudText !== 'aws' && cloudText !== 'gcp')
    throw new UsageError(messages.badCloud(cloudText));
  if (cloudText !== 'gcp') {
    if (project !== undefined) throw new UsageError(messages.projectWithoutGcp(options.stageGiven));
    return { cloud: 'aws' };
  }
  if (project === undefined) throw new UsageError(messages.needsProject);
  if (!GCP_PROJECT_ID.test(project))
    throw new UsageError(
      `--project must be a GCP project id (6-30 lowercase letters, digits or hyphens, a letter first, no hyphen last), got "${project}"`,
    );
  const awsOnly = options.awsOnly.filter((flag) => values[flag] !== undefined);
  if (awsOnly.length) throw new UsageError(messages.awsOnlyWithGcp(awsOnly));
  return { cloud: 'gcp', project };
}
