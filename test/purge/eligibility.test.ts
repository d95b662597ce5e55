/** Eligibility in UTC: day 45 exactly, never an active (or reactivated) or purged account. */
import { DAY_MS, eligibility, parseInstant } from '../../services/purge/src/core/eligibility';
import type { AccountState } from '../../services/purge/src/core/model';
import { NOW, daysAgo } from '../support/purge-world';

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
