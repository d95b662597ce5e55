/**
 * Lambda entry of automatic containment: a per-key anomaly alarm (through EventBridge, or its own Lambda
 * action) invokes it, and it opens an incident and revokes the key, with the same core as
 * `npm run incident -- revoke-key`. An hourly schedule also invokes it to check the 72-hour clock of every
 * incident ({@link checkClock}). The stage option `autoContain` decides only whether the alarm is wired
 * here; once invoked, the handler always contains. See `alarm-event.ts` for the events it reads.
 *
 * Idempotent: a key already revoked (a second alarm on it, a retried invocation) records nothing new.
 */
import { INCIDENT_METRICS, metricsNamespace, parseIncidentEnv } from '../../../platform';
import { emfDocument } from '../../shared/emf';
import { notificationBacklog } from './core/clock';
import { createLogger } from '../../shared/logger';
import { lambdaActor } from './actor';
import { parseAlarmEvent, type AlarmChange } from './alarm-event';
import { KeyAlreadyRevokedError, IncidentRefusedError } from './core/errors';
import { createIncidentRuntime, type IncidentRuntime, type IncidentRuntimeOptions } from './runtime';

/** What one invocation did. */
export type ContainmentResult =
  | { readonly outcome: 'clock'; readonly overdue: readonly string[]; readonly dueSoon: readonly string[] }
  | { readonly outcome: 'contained'; readonly keyId: string; readonly incidentId: string }
  | { readonly outcome: 'already-revoked'; readonly keyId: string }
  | { readonly outcome: 'ignored'; readonly reason: string; readonly keyId?: string };

/** The dependencies of {@link contain}, for tests. */
export interface ContainDeps {
  readonly runtime: IncidentRuntime;
  /** Finds a Contributor Insights rule's top key at the alarm's time, in the alarm's region. */
  readonly topContributor: (ruleName: string, at: Date, region?: string) => Promise<string | undefined>;
  /** The actor recorded. */
  readonly actor: string;
  readonly log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

/** The longest revocation reason kept from an alarm's own explanation. */
const MAX_REASON = 500;

/** Whether the event is the hourly schedule of the 72-hour clock check (an EventBridge scheduled event). */
export function isClockCheck(event: unknown): boolean {
  const e = event as { source?: unknown; 'detail-type'?: unknown } | null;
  return e?.source === 'aws.events' && e['detail-type'] === 'Scheduled Event';
}

/**
 * The hourly check of the 72-hour clock: counts the incidents overdue for notification (and due soon) and
 * writes them as metrics (EMF), which the overdue alarm watches.
 */
export async function checkClock(
  deps: Pick<ContainDeps, 'runtime' | 'log'> & {
    readonly stage: string;
    readonly write?: (line: string) => void;
  },
  now = new Date(),
): Promise<ContainmentResult> {
  const { overdue, dueSoon } = notificationBacklog(await deps.runtime.incidents.list(), now);
  (deps.write ?? ((line) => process.stdout.write(`${line}\n`)))(
    emfDocument(
      metricsNamespace(deps.stage),
      {},
      [
        { name: INCIDENT_METRICS.overdueNotifications, unit: 'Count', value: overdue.length },
        { name: INCIDENT_METRICS.notificationsDueSoon, unit: 'Count', value: dueSoon.length },
      ],
      now.getTime(),
    ),
  );
  if (overdue.length > 0) deps.log?.warn({ overdue }, 'incidents past their 72-hour notification deadline');
  return { outcome: 'clock', overdue, dueSoon };
}

/** Handles one alarm state change. */
export async function contain(event: unknown, deps: ContainDeps): Promise<ContainmentResult> {
  const change: AlarmChange = parseAlarmEvent(event);
  if (change.state !== 'ALARM') return { outcome: 'ignored', reason: `alarm state is ${change.state}` };
  const keyId =
    change.keyId ??
    (change.insightRule
      ? await deps.topContributor(change.insightRule, change.at, change.region)
      : undefined);
  if (!keyId) {
    const reason = change.insightRule
      ? `the rule ${change.insightRule} had no key as top contributor`
      : 'the event names no key (detail.keyId) and its alarm no Contributor Insights rule';
    deps.log?.warn({ alarm: change.alarmName }, `containment skipped: ${reason}`);
    return { outcome: 'ignored', reason };
  }
  const reason =
    `automatic containment: alarm ${change.alarmName}${change.reason ? ` (${change.reason})` : ''}`.slice(
      0,
      MAX_REASON,
    );
  try {
    const r = await deps.runtime.service.revokeKey(keyId, reason, deps.actor);
    deps.log?.info({ keyId, incidentId: r.incident.id, alarm: change.alarmName }, 'api key contained');
    return { outcome: 'contained', keyId, incidentId: r.incident.id };
  } catch (err) {
    if (err instanceof KeyAlreadyRevokedError) return { outcome: 'already-revoked', keyId };
    if (err instanceof IncidentRefusedError) {
      // An unknown key id (a burst of failures with made-up keys): nothing to revoke. Retrying cannot help.
      deps.log?.warn({ keyId, alarm: change.alarmName }, `containment refused: ${err.message}`);
      return { outcome: 'ignored', reason: err.message, keyId };
    }
    throw err;
  }
}

let deps: Promise<ContainDeps> | undefined;

/** Builds the runtime once per container. */
async function createDeps(options: IncidentRuntimeOptions = {}): Promise<ContainDeps> {
  const env = parseIncidentEnv(process.env);
  const [runtime, { CloudWatchClient }, { topContributorKey }] = await Promise.all([
    createIncidentRuntime(env, options),
    import('@aws-sdk/client-cloudwatch'),
    import('./aws/insight-rule'),
  ]);
  // The rules live beside the ingest's logs in each region; an alarm names its own.
  const clients = new Map<string, InstanceType<typeof CloudWatchClient>>();
  const cloudWatch = (region: string | undefined) => {
    const key = region ?? '';
    let client = clients.get(key);
    if (!client)
      clients.set(
        key,
        (client = new CloudWatchClient({ ...options.awsClientConfig, ...(region ? { region } : {}) })),
      );
    return client;
  };
  const log = createLogger({ service: 'incident', level: env.TS_LOG_LEVEL, base: { stage: env.TS_STAGE } });
  return {
    runtime,
    topContributor: (rule, at, region) => topContributorKey(cloudWatch(region), rule, at),
    actor: lambdaActor(),
    log,
  };
}

/** The alarm-triggered handler. */
export async function handler(event: unknown): Promise<ContainmentResult> {
  deps ??= createDeps().catch((err: unknown) => {
    // A failed start-up is not cached: the next invocation tries again.
    deps = undefined;
    throw err;
  });
  const ready = await deps;
  if (isClockCheck(event)) return checkClock({ ...ready, stage: parseIncidentEnv(process.env).TS_STAGE });
  return contain(event, ready);
}
