/**
 * The GDPR 72-hour clock (`RETENTION.breachNotificationHours`): an incident that affects personal data must
 * be notified to the affected customer within that many hours of its detection. `list` and `show` print
 * where each incident stands; the alarm on overdue incidents reads the same deadline.
 */
import { RETENTION } from '../../../../platform';
import { firstStep, type Incident } from './model';

const HOUR_MS = 3_600_000;

/** The instant by which the customer must have been notified. */
export function notificationDeadline(incident: Pick<Incident, 'detectedAt'>): Date {
  return new Date(Date.parse(incident.detectedAt) + RETENTION.breachNotificationHours * HOUR_MS);
}

/** Where an incident stands on its clock. */
export type ClockState =
  /** No personal data affected: no clock. */
  | { readonly kind: 'none' }
  /** Notified, `afterMs` after detection; `late` when that was past the deadline. */
  | { readonly kind: 'notified'; readonly afterMs: number; readonly late: boolean; readonly deadline: Date }
  /** Not yet notified, `leftMs` before the deadline. */
  | { readonly kind: 'running'; readonly leftMs: number; readonly deadline: Date }
  /** Not notified, `overMs` past the deadline. */
  | { readonly kind: 'overdue'; readonly overMs: number; readonly deadline: Date };

/** Where an incident stands at `now`. */
export function clockState(incident: Incident, now: Date): ClockState {
  if (!incident.affectsPersonalData) return { kind: 'none' };
  const deadline = notificationDeadline(incident);
  const notified = firstStep(incident, 'notified');
  if (notified) {
    const at = Date.parse(notified.at);
    return {
      kind: 'notified',
      afterMs: at - Date.parse(incident.detectedAt),
      late: at > deadline.getTime(),
      deadline,
    };
  }
  const left = deadline.getTime() - now.getTime();
  return left >= 0
    ? { kind: 'running', leftMs: left, deadline }
    : { kind: 'overdue', overMs: -left, deadline };
}

/** `71h 59m`: hours and minutes, rounded down to the minute. */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** One line for `list` and `show`, e.g. `71h 59m left to notify (deadline 2026-05-04T10:00:00.000Z)`. */
export function formatClock(incident: Incident, now: Date): string {
  const state = clockState(incident, now);
  const hours = RETENTION.breachNotificationHours;
  switch (state.kind) {
    case 'none':
      return 'no notification clock (no personal data affected)';
    case 'notified':
      return state.late
        ? `notified in ${formatDuration(state.afterMs)}: LATE, ${formatDuration(state.afterMs - hours * HOUR_MS)} past the ${hours}-hour deadline`
        : `notified in ${formatDuration(state.afterMs)} (within ${hours} hours)`;
    case 'running':
      return `${formatDuration(state.leftMs)} left to notify (deadline ${state.deadline.toISOString()})`;
    case 'overdue':
      return `OVERDUE by ${formatDuration(state.overMs)}: not notified within ${hours} hours (deadline ${state.deadline.toISOString()})`;
  }
}

/** Hours before the deadline from which an unnotified incident counts as due soon. */
export const DUE_SOON_HOURS = 12;

/** Where the incidents stand on their clocks, for the hourly check and its alarm. */
export interface NotificationBacklog {
  /** Affecting personal data, not notified, past the deadline (closed or not: the obligation stays). */
  readonly overdue: readonly string[];
  /** Affecting personal data, not notified, the deadline within {@link DUE_SOON_HOURS}. */
  readonly dueSoon: readonly string[];
}

/** The ids of the incidents overdue for notification, and of those due soon, at `now`. */
export function notificationBacklog(incidents: readonly Incident[], now: Date): NotificationBacklog {
  const overdue: string[] = [];
  const dueSoon: string[] = [];
  for (const incident of incidents) {
    const state = clockState(incident, now);
    if (state.kind === 'overdue') overdue.push(incident.id);
    else if (state.kind === 'running' && state.leftMs <= DUE_SOON_HOURS * HOUR_MS) dueSoon.push(incident.id);
  }
  return { overdue, dueSoon };
}
