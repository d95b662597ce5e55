/** How `npm run incident` prints incidents: the list's table, `show`'s timeline, the clock line. */
import { RETENTION } from '../../../platform';
import { formatClock } from './core/clock';
import type { Incident } from './core/model';

/** The label of the 72-hour clock line. */
export const CLOCK_LABEL = `${RETENTION.breachNotificationHours}-hour clock`;

/** One table row per incident, newest first, with where each stands on its clock. */
export function formatList(incidents: readonly Incident[], now: Date): string {
  if (incidents.length === 0) return 'No incidents.';
  const rows = incidents.map((i) => [i.id, i.status, i.accountId, i.detectedAt, formatClock(i, now)]);
  const header = ['INCIDENT', 'STATUS', 'ACCOUNT', 'DETECTED', CLOCK_LABEL.toUpperCase()];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The whole incident: its facts, the clock, and the timeline (each step with time and actor). */
export function formatIncident(incident: Incident, now: Date): string {
  const steps = incident.timeline;
  const stepWidth = Math.max(...steps.map((s) => s.step.length));
  const actorWidth = Math.max(...steps.map((s) => s.actor.length));
  return [
    `Incident ${incident.id} (${incident.status})`,
    `  account:        ${incident.accountId}`,
    `  API keys:       ${incident.keyIds.length ? incident.keyIds.join(', ') : 'none named'}`,
    `  summary:        ${incident.summary}`,
    `  personal data:  ${incident.affectsPersonalData ? 'may be affected' : 'not affected'}`,
    `  detected:       ${incident.detectedAt}`,
    `  ${CLOCK_LABEL}:  ${formatClock(incident, now)}`,
    ...(incident.resolution ? [`  resolution:     ${incident.resolution}`] : []),
    'Timeline',
    ...steps.map((s) => `  ${s.at}  ${s.step.padEnd(stepWidth)}  ${s.actor.padEnd(actorWidth)}  ${s.detail}`),
  ].join('\n');
}

/** The clock line printed under every command's result. */
export function clockLine(incident: Incident, now: Date): string {
  return `  ${CLOCK_LABEL}: ${formatClock(incident, now)}`;
}
