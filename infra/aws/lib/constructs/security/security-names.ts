/**
 * Names shared by the security stack and the regional stacks' detection: each side finds the other's
 * resources by name, so neither references the other and no cycle runs between regions.
 */
import { type Location, names, PRODUCT, type Stage } from '../../../../../platform';

/** The per-key signals of the ingest logs, each a Contributor Insights rule and an alarm per location. */
export const KEY_SIGNALS = ['requests', 'ips', 'countries', 'failures'] as const;
/** One per-key signal. */
export type KeySignal = (typeof KEY_SIGNALS)[number];

/**
 * The signals whose alarm may revoke a key automatically. Authentication failures are left out: they name
 * the key id an attacker is guessing secrets for, and revoking it would let anyone who knows a key id
 * (it is public) switch a customer's key off.
 */
export const CONTAINABLE_SIGNALS: readonly KeySignal[] = ['requests', 'ips', 'countries'];

/** Names of the security resources, per stage (and location where they are regional). */
export const securityNames = {
  /** The security stack's id and CloudFormation stack name, e.g. `Trackstack-dev-security`. */
  stack: (stage: Stage): string => `Trackstack-${stage}-security`,
  /** The trail, e.g. `trackstack-dev-audit`. */
  trail: (stage: Stage): string => `${names.prefix(stage)}-audit`,
  /** The trail's CloudWatch Logs group, e.g. `/trackstack-dev/security/cloudtrail`. */
  trailLogGroup: (stage: Stage): string => `/${names.prefix(stage)}/security/cloudtrail`,
  /** The containment function's log group, e.g. `/trackstack-dev/security/incident-contain`. */
  containLogGroup: (stage: Stage): string => `/${names.prefix(stage)}/security/incident-contain`,
  /** The containment function's dead-letter queue, e.g. `trackstack-dev-incident-contain-dlq`. */
  containDeadLetterQueue: (stage: Stage): string => `${names.prefix(stage)}-incident-contain-dlq`,
  /** The security key's alias without `alias/`, e.g. `trackstack/dev/security`. */
  keyAlias: (stage: Stage): string => `${PRODUCT}/${stage}/security`,
  /** The Contributor Insights rule of one signal in one location, e.g. `trackstack-dev-europe-key-requests`. */
  insightRule: (stage: Stage, location: Location, signal: KeySignal): string =>
    `${names.prefix(stage)}-${location}-key-${signal}`,
  /** The alarm on one signal in one location, e.g. `trackstack-dev-key-requests-europe`. */
  keyAlarm: (stage: Stage, location: Location, signal: KeySignal): string =>
    `${securityNames.keyAlarmPrefix(stage)}${signal}-${location}`,
  /** What every per-key alarm's name starts with: the security stack's rules match on it. */
  keyAlarmPrefix: (stage: Stage): string => `${names.prefix(stage)}-key-`,
};
