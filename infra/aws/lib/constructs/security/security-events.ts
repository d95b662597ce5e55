/**
 * The EventBridge patterns of the security events: the per-key alarms entering ALARM, and GuardDuty
 * findings. The regional stacks forward them with these patterns, and the security stack acts on them with
 * the same ones, so the two sides cannot disagree.
 */
import type * as events from 'aws-cdk-lib/aws-events';
import type { Stage } from '../../../../../platform';
import { securityNames } from './security-names';

/** A per-key alarm (any location, any signal, or the ones named) entering the ALARM state. */
export function keyAlarmStateChanges(stage: Stage, alarmNames?: readonly string[]): events.EventPattern {
  return {
    source: ['aws.cloudwatch'],
    detailType: ['CloudWatch Alarm State Change'],
    detail: {
      alarmName: alarmNames ? [...alarmNames] : [{ prefix: securityNames.keyAlarmPrefix(stage) }],
      state: { value: ['ALARM'] },
    },
  };
}

/** Lowest GuardDuty severity routed to the incident topic: medium (4.0 to 6.9) and above. */
export const GUARD_DUTY_MIN_SEVERITY = 4;

/** GuardDuty findings of medium severity or higher. */
export const GUARD_DUTY_FINDINGS: events.EventPattern = {
  source: ['aws.guardduty'],
  detailType: ['GuardDuty Finding'],
  detail: { severity: [{ numeric: ['>=', GUARD_DUTY_MIN_SEVERITY] }] },
};
