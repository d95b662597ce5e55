/**
 * When an account may, and must, be purged (DESIGN §0, §7): eligible at `expiredAt + 45 days`, gone by
 * `expiredAt + 90 days`, alarm at `expiredAt + 80 days`. Computed on epoch milliseconds, so in UTC with
 * no time zone or daylight-saving shift anywhere; a day is exactly 86,400,000 ms.
 */
import { ID_PATTERNS, RETENTION } from '../../../../infra/platform';
import type { AccountState } from './model';

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/** ISO-8601 date, or date-time with `Z` or an offset (a date-time without one would be local time). */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Parses an ISO-8601 instant strictly: a date alone is midnight UTC; a date-time must carry `Z` or an
 * offset. Resolves to epoch milliseconds, or `undefined` when the text is not such an instant.
 */
export function parseInstant(text: unknown): number | undefined {
  if (typeof text !== 'string' || !ISO_INSTANT.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Where an account stands with respect to the purge, at one instant. */
export type Eligibility =
  | { readonly kind: 'active' }
  | { readonly kind: 'purged' }
  /** The record cannot be judged (no or malformed expiry, malformed id); it is reported, never touched. */
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
          : `expiredAt ${JSON.stringify(account.expiredAt)} is not an ISO-8601 instant with a time zone`,
    };
  }
  const dates = expiryDates(expiredAtMs, nowMs);
  return nowMs >= dates.eligibleAtMs ? { kind: 'eligible', ...dates } : { kind: 'waiting', ...dates };
}
