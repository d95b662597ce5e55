/**
 * What the containment function is invoked with, and how it finds the key to revoke.
 *
 * Two invocations are accepted, both carrying a CloudWatch alarm's state change:
 * - EventBridge, rule on `source: aws.cloudwatch`, `detail-type: CloudWatch Alarm State Change`: the alarm
 *   is in `detail`;
 * - the alarm's own Lambda action: the alarm is in `alarmData`.
 *
 * The key id comes from `detail.keyId` when present (an EventBridge input transformer or a hand-sent
 * event), or else from the alarm's metric: a Contributor Insights alarm's metric is an expression
 * `INSIGHT_RULE_METRIC('<rule name>', '<metric>')`, and the rule's top contributor over the last minutes
 * (GetInsightRuleReport) is the key, its first contribution key being `$.keyId`. Only a change into
 * `ALARM` contains; any other state is ignored.
 */
import { ID_PATTERNS } from '../../../platform';

/** The parts of an alarm state change the handler reads. */
export interface AlarmChange {
  readonly alarmName: string;
  /** `ALARM`, `OK` or `INSUFFICIENT_DATA`. */
  readonly state: string;
  /** The alarm's own explanation of the change. */
  readonly reason: string;
  /** When the state changed. */
  readonly at: Date;
  /** The key, when the event names it. */
  readonly keyId?: string;
  /** The Contributor Insights rule of the alarm's metric, when it has one. */
  readonly insightRule?: string;
  /** The alarm's region (the event's `region`, or its ARN's), where its rule is. */
  readonly region?: string;
}

/** An event the handler cannot read: a wiring mistake, reported rather than ignored. */
export class InvalidAlarmEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAlarmEventError';
  }
}

const INSIGHT_RULE_METRIC = /INSIGHT_RULE_METRIC\(\s*['"]([^'"]+)['"]/;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;

/**
 * Reads an invocation.
 * @throws InvalidAlarmEventError when it is neither shape, or names a malformed key id
 */
export function parseAlarmEvent(event: unknown): AlarmChange {
  const root = obj(event);
  const alarm = obj(root?.detail) ?? obj(root?.alarmData);
  if (!root || !alarm)
    throw new InvalidAlarmEventError(
      'not a CloudWatch alarm state change: expected an EventBridge event with "detail" or an alarm action with "alarmData"',
    );
  const alarmName = typeof alarm.alarmName === 'string' ? alarm.alarmName : 'unnamed alarm';
  const state = obj(alarm.state);
  const value = typeof state?.value === 'string' ? state.value : undefined;
  if (!value) throw new InvalidAlarmEventError(`alarm ${alarmName}: no state.value in the event`);
  const stamp = [state?.timestamp, root.time].find((t): t is string => typeof t === 'string');
  const at = stamp && Number.isFinite(Date.parse(stamp)) ? new Date(stamp) : new Date();
  let keyId: string | undefined;
  if (alarm.keyId !== undefined) {
    if (typeof alarm.keyId !== 'string' || !ID_PATTERNS.apiKeyId.test(alarm.keyId))
      throw new InvalidAlarmEventError(
        `alarm ${alarmName}: keyId "${String(alarm.keyId)}" is not an API key id`,
      );
    keyId = alarm.keyId;
  }
  const metrics = Array.isArray(obj(alarm.configuration)?.metrics)
    ? (obj(alarm.configuration)!.metrics as unknown[])
    : [];
  let insightRule: string | undefined;
  for (const m of metrics) {
    const expression = obj(m)?.expression;
    const found = typeof expression === 'string' ? INSIGHT_RULE_METRIC.exec(expression) : null;
    if (found?.[1]) {
      insightRule = found[1];
      break;
    }
  }
  const arnRegion = typeof root.alarmArn === 'string' ? root.alarmArn.split(':')[3] : undefined;
  const region = typeof root.region === 'string' && root.region ? root.region : arnRegion || undefined;
  return {
    alarmName,
    state: value,
    reason: typeof state?.reason === 'string' ? state.reason : '',
    at,
    ...(keyId ? { keyId } : {}),
    ...(insightRule ? { insightRule } : {}),
    ...(region ? { region } : {}),
  };
}
