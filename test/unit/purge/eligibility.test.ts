/**
 * Eligibility in UTC: day 45 exactly, never an active (or reactivated) or purged account; dates off the
 * calendar and future expiries are anomalies; when a purged account's sweep falls due.
 */
import { LIMITS, RETENTION } from '../../../platform';
import { DAY_MS, eligibility, parseInstant, sweepDates } from '../../../services/purge/src/core/eligibility';
import { emptyCounts, type AccountState } from '../../../services/purge/src/core/model';
import { sweepStanding } from '../../../services/purge/src/core/sweep';
import { NOW, daysAgo } from '../../support/purge-world';

const nowMs = NOW.getTime();
const expired = (expiredAt: string | undefined, accountId = 'acc_boundary01'): AccountState => ({
  accountId,
  status: 'expired',
  ...(expiredAt !== undefined ? { expiredAt } : {}),
  revision: 0,
});

test.each([
  ['44 days', daysAgo(44), 'waiting'],
  ['45 days less 1 ms', new Date(nowMs - 45 * DAY_MS + 1).toISOString(), 'waiting'],
  ['exactly 45 days', daysAgo(45), 'eligible'],
  ['89 days', daysAgo(89), 'eligible'],
  ['400 days', daysAgo(400), 'eligible'],
])('an account expired %s ago is %s', (_label, expiredAt, kind) => {
  expect(eligibility(expired(expiredAt), nowMs).kind).toBe(kind);
});

test('the boundary is computed in UTC: an offset expiry means the same instant', () => {
  // 45 days before NOW, written in UTC+02:00: the same instant, so exactly eligible.
  const instant = new Date(nowMs - 45 * DAY_MS);
  const local = new Date(instant.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
  expect(parseInstant(local)).toBe(instant.getTime());
  expect(eligibility(expired(local), nowMs).kind).toBe('eligible');
  expect(eligibility(expired(local), nowMs - 1).kind).toBe('waiting');
});

test('a date without a time is midnight UTC; a date-time without a zone is refused, not guessed', () => {
  expect(parseInstant('2025-04-17')).toBe(Date.UTC(2025, 3, 17));
  const standing = eligibility(expired('2025-01-01T00:00:00'), nowMs);
  expect(standing).toMatchObject({ kind: 'invalid' });
  expect(eligibility(expired(undefined), nowMs)).toMatchObject({
    kind: 'invalid',
    problem: expect.stringMatching(/no expiredAt/),
  });
});

test('active (even with an old expiry: reactivated) and purged accounts are never eligible', () => {
  expect(
    eligibility(
      { accountId: 'acc_reactivated', status: 'active', expiredAt: daysAgo(200), revision: 0 },
      nowMs,
    ).kind,
  ).toBe('active');
  expect(
    eligibility(
      { accountId: 'acc_purged0001', status: 'purged', expiredAt: daysAgo(200), revision: 3 },
      nowMs,
    ).kind,
  ).toBe('purged');
});

test('an id that is not acc_… never becomes an object prefix', () => {
  expect(eligibility(expired(daysAgo(60), 'acc_x/../acc_other'), nowMs)).toMatchObject({ kind: 'invalid' });
});

test('the dates that follow from an expiry: eligible day 45, alarm day 80, deadline day 90', () => {
  const standing = eligibility(expired(daysAgo(50)), nowMs);
  if (standing.kind !== 'eligible') throw new Error('expected eligible');
  expect(standing.eligibleAtMs - standing.expiredAtMs).toBe(45 * DAY_MS);
  expect(standing.alarmAtMs - standing.expiredAtMs).toBe(80 * DAY_MS);
  expect(standing.deadlineMs - standing.expiredAtMs).toBe(90 * DAY_MS);
  expect(standing.ageDays).toBe(50);
});

test.each([
  ['2026-09-31T00:00:00Z', 'September has 30 days'],
  ['2026-02-29T00:00:00Z', '2026 is not a leap year'],
  ['2026-04-31', 'a date alone, April has 30 days'],
  ['2026-09-30T24:00:00Z', 'hour 24'],
])('%s is not a date on the calendar (%s): an anomaly, never the next day', (text) => {
  // Date.parse rolls these over (2026-09-31 is read as 1 October); the purge must not count from that.
  expect(Number.isNaN(Date.parse(text))).toBe(false);
  expect(parseInstant(text)).toBeUndefined();
  const standing = eligibility(expired(text), Date.UTC(2027, 0, 1));
  expect(standing).toEqual({
    kind: 'invalid',
    problem: `expiredAt ${JSON.stringify(text)} is not an ISO-8601 instant with a time zone on the calendar`,
  });
});

test('2024-02-29 exists: leap days are dates', () => {
  expect(parseInstant('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
  expect(eligibility(expired('2024-02-29T00:00:00Z'), nowMs).kind).toBe('eligible');
});

describe('an expiry in the future', () => {
  const skewMs = LIMITS.maxClockSkewSeconds * 1000;

  test('is an anomaly with a clear problem, not an account waiting for day 45', () => {
    const future = new Date(nowMs + 10 * DAY_MS).toISOString();
    expect(eligibility(expired(future), nowMs)).toEqual({
      kind: 'invalid',
      problem: `expiredAt ${future} is in the future (now is ${NOW.toISOString()}): the 45 to 90 days cannot be counted from it`,
    });
    expect(eligibility(expired(new Date(nowMs + skewMs + 1).toISOString()), nowMs)).toMatchObject({
      kind: 'invalid',
      problem: expect.stringMatching(/is in the future/),
    });
  });

  test('within the tolerated clock skew, it is an expiry that just happened: waiting', () => {
    expect(eligibility(expired(new Date(nowMs + skewMs).toISOString()), nowMs).kind).toBe('waiting');
    expect(eligibility(expired(new Date(nowMs + 1000).toISOString()), nowMs).kind).toBe('waiting');
  });
});

describe('the sweep of a purged account', () => {
  const purgedAccount = (expiredAt: string, purgedAt: string): AccountState => ({
    accountId: 'acc_swept00001',
    status: 'purged',
    expiredAt,
    purgedAt,
    purge: { purgeId: 'run_x', receipt: 'receipts/acc_swept00001/run_x.json' },
    revision: 5,
  });

  test('is due a day after the purge, before the deadline', () => {
    const purgedAtMs = nowMs - 10 * DAY_MS;
    const dates = sweepDates(nowMs - 60 * DAY_MS, purgedAtMs);
    expect(dates.dueAtMs).toBe(purgedAtMs + RETENTION.purgeSweepAfterDays * DAY_MS);
    expect(dates.deadlineMs).toBe(nowMs + 30 * DAY_MS);
    const account = purgedAccount(daysAgo(60), new Date(purgedAtMs).toISOString());
    expect(sweepStanding(account, dates.dueAtMs - 1).kind).toBe('waiting');
    expect(sweepStanding(account, dates.dueAtMs).kind).toBe('due');
  });

  test('a purge finished within a day of the deadline is swept by the deadline; one finished after it at once', () => {
    const expiredAtMs = nowMs - 89.5 * DAY_MS;
    expect(sweepDates(expiredAtMs, nowMs).dueAtMs).toBe(expiredAtMs + 90 * DAY_MS);
    const late = nowMs - 95 * DAY_MS;
    expect(sweepDates(late, nowMs).dueAtMs).toBeLessThan(nowMs);
    expect(sweepStanding(purgedAccount(new Date(late).toISOString(), NOW.toISOString()), nowMs).kind).toBe(
      'due',
    );
  });

  test('never for an account swept already, or marked purged without a purge of this job', () => {
    const account = purgedAccount(daysAgo(60), daysAgo(10));
    const swept = { sweptAt: daysAgo(9), sweepId: 'run_y', receipt: 'r', counts: emptyCounts([]) };
    expect(sweepStanding({ ...account, swept }, nowMs)).toEqual({ kind: 'swept' });
    const { purge: _none, ...byOtherMeans } = account;
    expect(sweepStanding(byOtherMeans, nowMs)).toEqual({ kind: 'none' });
    expect(sweepStanding(expired(daysAgo(60)), nowMs)).toEqual({ kind: 'none' });
  });

  test('unreadable dates make it an anomaly, never a guess', () => {
    expect(sweepStanding(purgedAccount(daysAgo(60), '2025-05-32T00:00:00Z'), nowMs)).toMatchObject({
      kind: 'invalid',
      problem: expect.stringMatching(/purgedAt "2025-05-32T00:00:00Z" is not an ISO-8601 instant/),
    });
  });
});
