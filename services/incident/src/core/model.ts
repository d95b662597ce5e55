/**
 * The incident record of breach response: who was affected (an account and the API keys involved), what
 * happened, and a timeline of the breach policy's steps, each with its time and actor. A record holds no
 * personal data (ids, instants, counts and text written by operators), so the purge never deletes one.
 */
import { randomInt } from 'node:crypto';
import { ID_PATTERNS, INCIDENT_STEPS, type IncidentStep, parseIsoInstant } from '../../../../platform';

/** Whether an incident is still being handled. */
export type IncidentStatus = 'open' | 'closed';

/** One step of the timeline. */
export interface TimelineEntry {
  readonly step: IncidentStep;
  /** ISO-8601 instant of the step (for `detected`: when the breach was detected, which may be earlier). */
  readonly at: string;
  /** Who took the step: `user@host`, an AWS identity ARN, or `lambda:<function name>`. */
  readonly actor: string;
  /** What was done, for the timeline (key ids, the notice's address, the summary); never a secret. */
  readonly detail: string;
  /** For `rotated`: the replacement key's id (never the key). */
  readonly newKeyId?: string;
  /** For `contained`: the revoked key's id. */
  readonly keyId?: string;
}

/** An incident record. */
export interface Incident {
  /** `inc_<yyyymmdd>_<6 base36>`, the day being the detection day (UTC). */
  readonly id: string;
  readonly accountId: string;
  /** The API keys involved (revoked ones and those named when the incident was opened). */
  readonly keyIds: readonly string[];
  /** What happened, as the operator wrote it. */
  readonly summary: string;
  /**
   * Whether personal data may have been exposed: such an incident carries the 72-hour notification clock.
   * @default true
   */
  readonly affectsPersonalData: boolean;
  /** ISO-8601 instant the breach was detected: the 72-hour clock starts here. */
  readonly detectedAt: string;
  readonly status: IncidentStatus;
  /** The closing summary (with status `closed`). */
  readonly resolution?: string;
  /** The steps taken, in the order they were recorded. */
  readonly timeline: readonly TimelineEntry[];
  /** Incremented by every write: stores replace a record only over the version it was read at. */
  readonly version: number;
}

const BASE36 = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new incident id for a breach detected at `detectedAt`.
 * @param random the six random characters' source (tests pass a fixed one)
 */
export function newIncidentId(detectedAt: Date, random: () => string = randomSuffix): string {
  const day = detectedAt.toISOString().slice(0, 10).replace(/-/g, '');
  const id = `inc_${day}_${random()}`;
  if (!ID_PATTERNS.incident.test(id)) throw new Error(`newIncidentId: "${id}" is not an incident id`);
  return id;
}

function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 6; i++) out += BASE36[randomInt(BASE36.length)];
  return out;
}

/** The first entry of a step, if the timeline has one. */
export function firstStep(incident: Incident, step: IncidentStep): TimelineEntry | undefined {
  return incident.timeline.find((e) => e.step === step);
}

/** The entries of a step, in order. */
export function stepsOf(incident: Incident, step: IncidentStep): TimelineEntry[] {
  return incident.timeline.filter((e) => e.step === step);
}

/** A stored record that is not an incident: the store refuses to guess what it means. */
export class InvalidIncidentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidIncidentError';
  }
}

/**
 * Checks a record read from a store (a file someone edited, an item of another layout) and returns it
 * typed; unknown attributes (the store's own keys) are dropped.
 * @throws InvalidIncidentError naming the first field that is wrong
 */
export function parseIncident(raw: unknown, where: string): Incident {
  const fail = (what: string): never => {
    throw new InvalidIncidentError(`${where}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) return fail('not an object');
  const r = raw as Record<string, unknown>;
  const str = (name: string): string =>
    typeof r[name] === 'string' ? (r[name] as string) : fail(`${name} must be a string`);
  const id = str('id');
  if (!ID_PATTERNS.incident.test(id)) fail(`id "${id}" is not an incident id`);
  const accountId = str('accountId');
  const detectedAt = str('detectedAt');
  if (parseIsoInstant(detectedAt) === undefined)
    fail(`detectedAt "${detectedAt}" is not an ISO-8601 instant`);
  const status = str('status');
  if (status !== 'open' && status !== 'closed') fail(`status "${status}" is neither open nor closed`);
  const keyIds = Array.isArray(r.keyIds) ? r.keyIds : fail('keyIds must be a list');
  if (!keyIds.every((k): k is string => typeof k === 'string')) fail('keyIds must be strings');
  const version = typeof r.version === 'number' && Number.isInteger(r.version) ? r.version : fail('version');
  const timeline = Array.isArray(r.timeline) ? r.timeline : fail('timeline must be a list');
  const entries = timeline.map((e: unknown, i): TimelineEntry => {
    const t = (e ?? {}) as Record<string, unknown>;
    if (!(INCIDENT_STEPS as readonly unknown[]).includes(t.step)) fail(`timeline[${i}].step is not a step`);
    for (const f of ['at', 'actor', 'detail'] as const)
      if (typeof t[f] !== 'string') fail(`timeline[${i}].${f} must be a string`);
    return {
      step: t.step as IncidentStep,
      at: t.at as string,
      actor: t.actor as string,
      detail: t.detail as string,
      ...(typeof t.newKeyId === 'string' ? { newKeyId: t.newKeyId } : {}),
      ...(typeof t.keyId === 'string' ? { keyId: t.keyId } : {}),
    };
  });
  return {
    id,
    accountId,
    keyIds: keyIds as string[],
    summary: str('summary'),
    affectsPersonalData: r.affectsPersonalData !== false,
    detectedAt,
    status,
    ...(typeof r.resolution === 'string' ? { resolution: r.resolution } : {}),
    timeline: entries,
    version,
  } as Incident;
}
