/** Errors of the purge core. */
import type { VersionError } from './ports';

/** Why a deletion request was refused before anything was changed. */
export type PurgeRequestProblem =
  | 'invalid-account-id'
  | 'unknown-account'
  | 'active-account'
  | 'too-recently-expired'
  | 'invalid-expiry'
  | 'invalid-reason';

/** A deletion request ({@link PurgeJob.purgeNow}) that was refused; nothing was changed. */
export class PurgeRequestError extends Error {
  constructor(
    /** What was wrong, for programs. */
    public readonly problem: PurgeRequestProblem,
    message: string,
  ) {
    super(message);
    this.name = 'PurgeRequestError';
  }
}

/** Some object versions could not be deleted even after retries. */
export class DeleteFailure extends Error {
  constructor(
    public readonly location: string,
    /** The versions still there, with the store's last error for each. */
    public readonly errors: readonly VersionError[],
  ) {
    const sample = errors
      .slice(0, 3)
      .map((e) => `${e.key}@${e.versionId}: ${e.code}`)
      .join('; ');
    super(`${errors.length} object version(s) in ${location} could not be deleted (${sample})`);
    this.name = 'DeleteFailure';
  }
}

/** The account's record changed under the purge or sweep: another run took over, or an operator changed it. */
export class PurgeConflict extends Error {
  constructor(accountId: string) {
    super(
      `the directory record of ${accountId} changed while the job worked on it (another run took it over, or it was reactivated or edited); stopped`,
    );
    this.name = 'PurgeConflict';
  }
}

/**
 * Carries an error thrown by a hook out of the run untouched: a throwing hook stands for a killed process,
 * so nothing may catch it on the way (no release, no report).
 */
export class HookAbort extends Error {
  constructor(public readonly original: unknown) {
    super('a purge hook aborted the run');
    this.name = 'HookAbort';
  }
}
