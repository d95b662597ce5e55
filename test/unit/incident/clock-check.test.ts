/**
 * The hourly check of the 72-hour clock: the incidents affecting personal data that were not notified in
 * time (closed or not) are counted as overdue, those within 12 hours of their deadline as due soon, and both
 * counts are written as EMF metrics for the overdue alarm.
 */
import { INCIDENT_METRICS } from '../../../platform';
import { checkClock, isClockCheck } from '../../../services/incident/src/lambda';
import type { IncidentRuntime } from '../../../services/incident/src/runtime';
import { createWorld, SHOP, SILENT, T0, type World } from './world';

const ALICE = 'alice@laptop';
const HOUR = 3_600_000;
let w: World;
beforeEach(async () => {
  w = await createWorld();
});
afterEach(() => w.close());

test('the scheduled event is told apart from alarm events', () => {
  expect(isClockCheck({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} })).toBe(true);
  expect(isClockCheck({ source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change' })).toBe(
    false,
  );
  expect(isClockCheck(null)).toBe(false);
});

test('overdue, due soon, notified in time and no personal data are told apart, and written as metrics', async () => {
  const at = (hoursBefore: number) => new Date(T0.getTime() - hoursBefore * HOUR).toISOString();
  const overdue = await w.service.open({ accountId: SHOP, summary: 'late', detectedAt: at(80) }, ALICE);
  const closedLate = await w.service.open(
    { accountId: SILENT, summary: 'closed', detectedAt: at(73) },
    ALICE,
  );
  await w.service.close(closedLate.id, 'closed without a notice', ALICE);
  const dueSoon = await w.service.open({ accountId: SHOP, summary: 'soon', detectedAt: at(65) }, ALICE);
  await w.service.open({ accountId: SHOP, summary: 'fresh', detectedAt: at(1) }, ALICE);
  const notified = await w.service.open({ accountId: SHOP, summary: 'told', detectedAt: at(80) }, ALICE);
  w.setNow(new Date(T0.getTime() - 79 * HOUR));
  await w.service.notify(notified.id, ALICE);
  w.setNow(T0);
  await w.service.open(
    { accountId: SHOP, summary: 'no personal data', detectedAt: at(100), affectsPersonalData: false },
    ALICE,
  );

  const lines: string[] = [];
  const r = await checkClock(
    {
      runtime: { incidents: w.incidents } as unknown as IncidentRuntime,
      stage: 'dev',
      write: (l) => lines.push(l),
    },
    T0,
  );
  expect(r).toEqual({
    outcome: 'clock',
    overdue: expect.arrayContaining([overdue.id, closedLate.id]) as unknown,
    dueSoon: [dueSoon.id],
  });
  expect((r as { overdue: readonly string[] }).overdue).toHaveLength(2);
  expect(lines).toHaveLength(1);
  const emf = JSON.parse(lines[0]!) as Record<string, unknown> & {
    _aws: { CloudWatchMetrics: { Namespace: string }[] };
  };
  expect(emf._aws.CloudWatchMetrics[0]!.Namespace).toBe('trackstack/dev');
  expect(emf[INCIDENT_METRICS.overdueNotifications]).toBe(2);
  expect(emf[INCIDENT_METRICS.notificationsDueSoon]).toBe(1);
});
