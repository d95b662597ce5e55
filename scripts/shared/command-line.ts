/**
 * What the command lines of `npm run synth` and `npm run deploy:local` share beyond the project's flag
 * parsing (services/shared/cli.ts): the `--stage` flag, how a path is printed, and how an entry point runs.
 */
import { relative } from 'node:path';
import type { Stage } from '../../platform';
import { stageFlag } from '../../services/shared/cli';

/**
 * Reads `--stage`, defaulting to `dev` so that the commands run with no flags at all.
 * @throws UsageError naming the platform's stages
 */
export function parseStageArg(value: string | undefined): Stage {
  return stageFlag(value ?? 'dev');
}

/** A path as short as the user can still use it: relative when it is below the working directory. */
export function displayPath(path: string): string {
  const r = relative(process.cwd(), path);
  return r && !r.startsWith('..') ? r : path;
}

/**
 * Runs an entry point's `main` with the process's arguments; its result becomes the exit status. An error
 * that escapes `main` is a bug, not a usage mistake, so it is printed whole (with its stack) and exits 1.
 * Sets `process.exitCode` rather than calling `process.exit`, so that output still being written is kept.
 */
export function runMain(main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
