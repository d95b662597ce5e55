/**
 * Which progress of an account's record a piece of work keeps: the parameter of the ledger
 * (`progress-ledger.ts`) that the purge and the sweep of a purged account share. The purge keeps
 * `progress` (`purgeProgress` in the directory), the sweep `sweepProgress`; each names its checkpoints and
 * words its outcomes its own way, and the rest of the handling is the same code.
 */
import type { AccountState, DeletionProgress, PurgeLease, PurgeProgress, SweepProgress } from './model';
import type { AccountChange } from './ports';

/** Progress that a ledger keeps on an account's record: the purge's or the sweep's. */
export interface TrackedProgress extends DeletionProgress {
  /** The step to do next; `receipt`, which writes the receipt and marks the account, is the last. */
  readonly step: string;
}

/** Which progress of the account's record a kind of work keeps, and the words it reports with. */
export interface ProgressTrack<P extends TrackedProgress> {
  /** `purge` or `sweep`, in messages. */
  readonly noun: string;
  /** Put before every `SharedCheckpointName` this work passes. */
  readonly checkpointPrefix: '' | 'sweep:';
  /** The step that new progress starts at. */
  readonly firstStep: P['step'];
  /** The progress on a record, if any. */
  read(st: AccountState): P | undefined;
  /** The record change that stores `progress` (and leaves the rest of the record as it is). */
  store(progress: P): AccountChange;
  /** What a `busy` outcome says of the lease that another run holds. */
  busy(lease: PurgeLease): { readonly busyUntil?: string; readonly message: string };
  /** What a `paused` outcome says. */
  readonly pausedMessage: string;
  /** What the log says once a batch a killed run left in flight is settled. */
  readonly settledMessage: string;
}

/** The purge's progress: `progress` on the record (`purgeProgress` in the directory). */
export const PURGE_TRACK: ProgressTrack<PurgeProgress> = {
  noun: 'purge',
  checkpointPrefix: '',
  firstStep: 'shred',
  read: (st) => st.progress,
  store: (progress) => ({ kind: 'progress', progress }),
  busy: (lease) => ({ busyUntil: lease.until, message: `run ${lease.runId} holds it until ${lease.until}` }),
  pausedMessage: 'time budget used up; the next run continues from here',
  settledMessage: 'settled an unrecorded batch of an interrupted run',
};

/** The sweep's progress: `sweepProgress` on a purged account's record. */
export const SWEEP_TRACK: ProgressTrack<SweepProgress> = {
  noun: 'sweep',
  checkpointPrefix: 'sweep:',
  firstStep: 'directory',
  read: (st) => st.sweepProgress,
  store: (progress) => ({ kind: 'sweep-progress', progress }),
  busy: (lease) => ({ message: `run ${lease.runId} holds its sweep until ${lease.until}` }),
  pausedMessage: 'time budget used up; the next run continues the sweep from here',
  settledMessage: 'settled an unrecorded batch of an interrupted sweep',
};
