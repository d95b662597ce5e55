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
