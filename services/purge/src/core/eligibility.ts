/**
 * When an account may, and must, be purged (see `services/purge/README.md`): eligible at
 * `expiredAt + 45 days`, gone by `expiredAt + 90 days`, alarm at `expiredAt + 80 days`. Computed on epoch
 * milliseconds, so in UTC with no time zone or daylight-saving shift anywhere; a day is exactly
 * 86,400,000 ms.
 */
import { ID_PATTERNS, LIMITS, RETENTION, parseIsoInstant } from '../../../../platform';
import type { AccountState } from './model';

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/** Days as the report and the metrics give them: to the hundredth. */
export function reportedDays(days: number): number {
  return Math.round(days * 100) / 100;
}

/**
 * Parses an ISO-8601 instant strictly: a date alone is midnight UTC; a date-time must carry `Z` or an
 * offset; a date that is not on the calendar (`2026-09-31`) is refused, never rolled over into the next
 * month as `Date.parse` would, which would start an account's 45 days from a day nobody wrote.
 * @returns epoch milliseconds, or `undefined` when the text is not such an instant
 */
export const parseInstant: (text: unknown) => number | undefined = parseIsoInstant;

/** Where an account stands with respect to the purge, at one instant. */
export type Eligibility =
  | { readonly kind: 'active' }
  | { readonly kind: 'purged' }
  /**
   * The record cannot be judged (no, malformed or future expiry, malformed id): it is reported and
   * alarmed on, never touched.
   */
  | { readonly kind: 'invalid'; readonly problem: string }
  /** Expired, but day 45 has not come yet. */
  | ({ readonly kind: 'waiting' } & ExpiryDates)
  /** Expired at least 45 days ago. */
  | ({ readonly kind: 'eligible' } & ExpiryDates);

/** The dates that follow from an expiry. */
export interface ExpiryDates {
  readonly expiredAtMs: number;
  /** `expiredAt + 45 days`. */
  readonly eligibleAtMs: number;
  /** `expiredAt + 80 days`: still unpurged then, the alarm fires. */
  readonly alarmAtMs: number;
  /** `expiredAt + 90 days`: the promise. */
  readonly deadlineMs: number;
  /** Days since expiry (fractional). */
  readonly ageDays: number;
}

/** The dates that follow from an expiry instant, seen at `nowMs`. */
export function expiryDates(expiredAtMs: number, nowMs: number): ExpiryDates {
  return {
    expiredAtMs,
    eligibleAtMs: expiredAtMs + RETENTION.purgeEligibleAfterDays * DAY_MS,
    alarmAtMs: expiredAtMs + RETENTION.purgeAlarmAfterDays * DAY_MS,
    deadlineMs: expiredAtMs + RETENTION.purgeDeadlineDays * DAY_MS,
    ageDays: (nowMs - expiredAtMs) / DAY_MS,
  };
}

/** When a purged account's sweep falls due, and the dates it is held to. */
export interface SweepDates {
  readonly purgedAtMs: number;
  /**
   * `purgedAt + purgeSweepAfterDays`, but no later than the deadline: a purge that finished within a day
   * of the deadline is swept when it comes, and one that finished after it (late) is due at once, that
   * is on the next run.
   */
  readonly dueAtMs: number;
  /** `expiredAt + 80 days`: a sweep due and still not done then is alarmed on. */
  readonly alarmAtMs: number;
  /** `expiredAt + 90 days`: the promise covers what arrived late, too. */
  readonly deadlineMs: number;
}

/** The dates of a purged account's sweep, from its expiry and the end of its purge. */
export function sweepDates(expiredAtMs: number, purgedAtMs: number): SweepDates {
  const { alarmAtMs, deadlineMs } = expiryDates(expiredAtMs, purgedAtMs);
  const dueAtMs = Math.min(purgedAtMs + RETENTION.purgeSweepAfterDays * DAY_MS, deadlineMs);
  return { purgedAtMs, dueAtMs, alarmAtMs, deadlineMs };
}

/**
 * Judges one account at `nowMs`. Only status `expired` can ever be eligible: an active account (a
 * reactivated one included, whatever expiry it still carries) and a purged one never are.
 */
export function eligibility(account: AccountState, nowMs: number): Eligibility {
  if (account.status === 'active') return { kind: 'active' };
  if (account.status === 'purged') return { kind: 'purged' };
  if (account.status !== 'expired')
    return { kind: 'invalid', problem: `unknown status ${String(account.status)}` };
  if (!ID_PATTERNS.account.test(account.accountId)) {
    // The id becomes an object prefix: never build one from an id of unexpected shape.
    return { kind: 'invalid', problem: 'account id does not have the acc_… format' };
  }
  const expiredAtMs = parseInstant(account.expiredAt);
  if (expiredAtMs === undefined) {
    return {
      kind: 'invalid',
      problem:
        account.expiredAt === undefined
          ? 'expired account has no expiredAt'
          : `expiredAt ${JSON.stringify(account.expiredAt)} is not an ISO-8601 instant with a time zone on the calendar`,
    };
  }
  if (expiredAtMs > nowMs + LIMITS.maxClockSkewSeconds * 1000) {
    // Waiting for a future expiry would keep the data past 90 days after the real one, and silently.
    return {
      kind: 'invalid',
      problem: `expiredAt ${account.expiredAt} is in the future (now is ${new Date(nowMs).toISOString()}): the 45 to 90 days cannot be counted from it`,
    };
  }
  const dates = expiryDates(expiredAtMs, nowMs);
  return nowMs >= dates.eligibleAtMs ? { kind: 'eligible', ...dates } : { kind: 'waiting', ...dates };
}
