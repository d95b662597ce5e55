/** The 72-hour clock (where an incident stands, how it is printed) and the customer notice's text. */
import { RETENTION } from '../../../platform';
import {
  clockState,
  formatClock,
  formatDuration,
  notificationDeadline,
} from '../../../services/incident/src/core/clock';
import type { Incident } from '../../../services/incident/src/core/model';
import { renderNotice, SECURITY_CONTACT } from '../../../services/incident/src/core/notice';

const base: Incident = {
  id: 'inc_20260501_abc123',
  accountId: 'acc_shopworld01',
  keyIds: ['k1k1k1k1k1k1k1k1'],
  summary: 'API key k1k1k1k1k1k1k1k1 revoked: found in a public repository',
  affectsPersonalData: true,
  detectedAt: '2026-05-01T10:00:00.000Z',
  status: 'open',
  timeline: [
    { step: 'detected', at: '2026-05-01T10:00:00.000Z', actor: 'alice@laptop', detail: 'd' },
    {
      step: 'contained',
      at: '2026-05-01T10:02:00.000Z',
      actor: 'alice@laptop',
      detail: 'c',
      keyId: 'k1k1k1k1k1k1k1k1',
    },
  ],
  version: 2,
};
const at = (iso: string) => new Date(iso);
const notifiedAt = (iso: string): Incident => ({
  ...base,
  timeline: [...base.timeline, { step: 'notified', at: iso, actor: 'bob', detail: 'n' }],
});

describe('the 72-hour clock', () => {
  test('the deadline is RETENTION.breachNotificationHours after detection', () => {
    expect(RETENTION.breachNotificationHours).toBe(72);
    expect(notificationDeadline(base).toISOString()).toBe('2026-05-04T10:00:00.000Z');
  });

  test('running: the time left, rounded down to the minute', () => {
    expect(clockState(base, at('2026-05-01T11:30:30Z'))).toMatchObject({
      kind: 'running',
      leftMs: 70.5 * 3.6e6 - 30_000,
    });
    expect(formatClock(base, at('2026-05-01T11:30:30Z'))).toBe(
      '70h 29m left to notify (deadline 2026-05-04T10:00:00.000Z)',
    );
    expect(formatClock(base, at('2026-05-04T10:00:00Z'))).toBe(
      '0h 0m left to notify (deadline 2026-05-04T10:00:00.000Z)',
    );
  });

  test('overdue once the deadline has passed without a notice', () => {
    expect(formatClock(base, at('2026-05-04T12:05:00Z'))).toBe(
      'OVERDUE by 2h 5m: not notified within 72 hours (deadline 2026-05-04T10:00:00.000Z)',
    );
  });

  test('notified: how long after detection, and whether it was late', () => {
    expect(formatClock(notifiedAt('2026-05-01T13:15:00.000Z'), at('2026-06-01T00:00:00Z'))).toBe(
      'notified in 3h 15m (within 72 hours)',
    );
    expect(formatClock(notifiedAt('2026-05-04T11:00:00.000Z'), at('2026-06-01T00:00:00Z'))).toBe(
      'notified in 73h 0m: LATE, 1h 0m past the 72-hour deadline',
    );
  });

  test('no clock when no personal data is affected', () => {
    expect(formatClock({ ...base, affectsPersonalData: false }, at('2027-01-01T00:00:00Z'))).toBe(
      'no notification clock (no personal data affected)',
    );
  });

  test('durations', () => {
    expect(formatDuration(0)).toBe('0h 0m');
    expect(formatDuration(59_999)).toBe('0h 0m');
    expect(formatDuration(72 * 3.6e6)).toBe('72h 0m');
    expect(formatDuration(-5)).toBe('0h 0m');
  });
});

describe('the customer notice', () => {
  test('says what happened and when, which key, what was done, to generate a new key, whom to contact', () => {
    const rotated: Incident = {
      ...base,
      timeline: [
        ...base.timeline,
        {
          step: 'rotated',
          at: '2026-05-01T10:30:00.000Z',
          actor: 'a',
          detail: 'r',
          newKeyId: 'n2n2n2n2n2n2n2n2',
        },
      ],
    };
    const { subject, body } = renderNotice(rotated);
    expect(subject).toBe('Security incident inc_20260501_abc123 affecting your Trackstack account');
    expect(body).toContain('Dear customer (account acc_shopworld01),');
    expect(body).toContain('On 2026-05-01 10:00 UTC we detected a security incident affecting your account:');
    expect(body).toContain(`  ${base.summary}`);
    expect(body).toContain(
      'API key id k1k1k1k1k1k1k1k1 (the public part of the key: tsk_k1k1k1k1k1k1k1k1_…)',
    );
    expect(body).toContain(
      '- 2026-05-01 10:02 UTC: we revoked API key k1k1k1k1k1k1k1k1. Every request presenting it is now refused.',
    );
    expect(body).toContain('we issued a replacement key (id n2n2n2n2n2n2n2n2)');
    expect(body).toContain('Generate a new API key and replace the old one');
    expect(body).toContain(
      `Our security team: ${SECURITY_CONTACT}. Please quote the reference inc_20260501_abc123.`,
    );
    expect(body).toContain('We notify you within 72 hours');
  });

  test('an incident without a key or an action yet says so; without personal data, no GDPR paragraph', () => {
    const { body } = renderNotice({
      ...base,
      keyIds: [],
      affectsPersonalData: false,
      timeline: base.timeline.slice(0, 1),
    });
    expect(body).toContain('No API key of yours is involved.');
    expect(body).toContain('We are investigating');
    expect(body).not.toContain('Personal data');
  });
});
