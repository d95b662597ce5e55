/**
 * Who an action is recorded as: the local user (`user@host`) on embedded defaults, the caller's AWS
 * identity with `--stage`, and `lambda:<function name>` in the containment function.
 */
import { hostname, userInfo } from 'node:os';

/** The operator at this machine: `os.userInfo().username@os.hostname()`. */
export function localActor(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers): the uid still tells who it was.
    user = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return `${user}@${hostname()}`;
}

/** The containment function, by the name Lambda gives it (`AWS_LAMBDA_FUNCTION_NAME`). */
export function lambdaActor(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return `lambda:${env.AWS_LAMBDA_FUNCTION_NAME ?? 'unknown-function'}`;
}
