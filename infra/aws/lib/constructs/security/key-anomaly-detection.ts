/**
 * Per-API-key detection in one location: CloudWatch Contributor Insights rules over the ingest function's
 * log group (one JSON line per key authentication, `KEY_AUTH_LOG`), alarms on the keys they rank, and the
 * routing of those alarms (and, optionally, GuardDuty findings) to the security stack's region.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as guardduty from 'aws-cdk-lib/aws-guardduty';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { KEY_AUTH_LOG, type Location, type Stage } from '../../../../../platform';
import { type KeySignal, securityNames } from './security-names';
import { GUARD_DUTY_FINDINGS, keyAlarmStateChanges } from './security-events';

/** Thresholds of the per-key alarms, each over one 5-minute period. */
export interface KeyAnomalyThresholds {
  /**
   * Most requests one key may authenticate in 5 minutes (the top contributor of the `requests` rule).
   * @default 30000: half the WAF's per-key block (`wafApiKeyRequestsPer5Min`, 60,000), so the alarm fires
   * before the WAF starts refusing the customer's own traffic
   */
  readonly requestsPerKey?: number;
  /**
   * Most distinct (key, client IP) pairs in 5 minutes across the location. Postbacks come from customers'
   * servers, a handful of addresses per key; a leaked key used from a botnet adds hundreds.
   * @default 200
   */
  readonly keyIpPairs?: number;
  /**
   * Most distinct (key, country) pairs in 5 minutes across the location.
   * @default 50
   */
  readonly keyCountryPairs?: number;
  /**
   * Most failed authentications naming one key id in 5 minutes (someone guessing its secret).
   * @default 50
   */
  readonly failuresPerKey?: number;
}

/** The defaults of {@link KeyAnomalyThresholds}. */
export const DEFAULT_KEY_THRESHOLDS: Required<KeyAnomalyThresholds> = {
  requestsPerKey: 30_000,
  keyIpPairs: 200,
  keyCountryPairs: 50,
  failuresPerKey: 50,
};

/** Properties of {@link KeyAnomalyDetection}. */
export interface KeyAnomalyDetectionProps {
  /** The stage: names the rules and alarms. */
  readonly stage: Stage;
  /** The location: names the rules and alarms. */
  readonly location: Location;
  /** The ingest function's log group (Lambda JSON log format, the service's pino lines kept as they are). */
  readonly ingestLogGroup: logs.ILogGroup;
  /** The location's alarm topic: every alarm notifies it too, so the region's on-call sees it. */
  readonly alarmTopic: sns.ITopic;
  /**
   * The security stack's region, where the incident topic and the containment function live. When it is
   * another region, the alarms' state changes (and GuardDuty findings) are forwarded to its default event
   * bus; in the same region they are on that bus already.
   */
  readonly securityRegion: string;
  /**
   * Alarm thresholds.
   * @default DEFAULT_KEY_THRESHOLDS
   */
  readonly thresholds?: KeyAnomalyThresholds;
  /**
   * Whether to create a GuardDuty detector in this region.
   * @default false
   */
  readonly guardDuty?: boolean;
}

/**
 * Four Contributor Insights rules over the ingest log group, keyed by the key id (never the key), each with
 * an alarm on `INSIGHT_RULE_METRIC`:
 * - `requests`: authenticated requests per key; alarm on the top key's count (`MaxContributorValue`);
 * - `ips`: keyed by (key id, client IP); alarm on the number of distinct pairs (`UniqueContributors`);
 * - `countries`: keyed by (key id, country); alarm on the number of distinct pairs;
 * - `failures`: failed authentications per key id; alarm on the top key id's count.
 *
 * Contributor Insights keeps the top contributors of any cardinality without a metric per key, and
 * `GetInsightRuleReport` names them: the containment function reads the report to find the key.
 */
export class KeyAnomalyDetection extends Construct {
  /** The rules, by signal. */
  public readonly rules: Readonly<Record<KeySignal, cloudwatch.CfnInsightRule>>;
  /** The alarms, by signal. */
  public readonly alarms: Readonly<Record<KeySignal, cloudwatch.Alarm>>;
  /** The rules forwarding alarm state changes (and findings) to the security region; none in that region. */
  public readonly forwarders: readonly events.Rule[];
  /** The GuardDuty detector, when asked for. */
  public readonly detector?: guardduty.CfnDetector;

  constructor(scope: Construct, id: string, props: KeyAnomalyDetectionProps) {
    super(scope, id);
    const { stage, location } = props;
    const t = { ...DEFAULT_KEY_THRESHOLDS, ...props.thresholds };
    const logGroupName = props.ingestLogGroup.logGroupName;
    const ok = { Match: `$.${KEY_AUTH_LOG.outcome}`, In: [KEY_AUTH_LOG.outcomes.ok] };
    const failed = { Match: `$.${KEY_AUTH_LOG.outcome}`, In: [KEY_AUTH_LOG.outcomes.failed] };
    const rule = (signal: KeySignal, keys: string[], filter: object) =>
      new cloudwatch.CfnInsightRule(this, `${signal}Rule`, {
        ruleName: securityNames.insightRule(stage, location, signal),
        ruleState: 'ENABLED',
        ruleBody: JSON.stringify(insightRuleBody(logGroupName, keys, filter)),
      });
    const keyId = KEY_AUTH_LOG.keyId;
    this.rules = {
      requests: rule('requests', [keyId], ok),
      ips: rule('ips', [keyId, KEY_AUTH_LOG.clientIp], ok),
      countries: rule('countries', [keyId, KEY_AUTH_LOG.country], ok),
      failures: rule('failures', [keyId], failed),
    };
    // The rules read the group by name: they must not exist before it does.
    for (const r of Object.values(this.rules)) r.node.addDependency(props.ingestLogGroup);

    const alarm = (signal: KeySignal, statistic: InsightStatistic, threshold: number, what: string) => {
      const ruleName = securityNames.insightRule(stage, location, signal);
      const a = new cloudwatch.Alarm(this, `${signal}Alarm`, {
        alarmName: securityNames.keyAlarm(stage, location, signal),
        alarmDescription: `${what} (${location}, ${stage}). GetInsightRuleReport on ${ruleName} names the key.`,
        metric: new cloudwatch.MathExpression({
          expression: `INSIGHT_RULE_METRIC('${ruleName}', '${statistic}')`,
          usingMetrics: {},
          period: Duration.minutes(5),
          label: `${signal} (${statistic})`,
        }),
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.node.addDependency(this.rules[signal]);
      a.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
      return a;
    };
    this.alarms = {
      requests: alarm(
        'requests',
        'MaxContributorValue',
        t.requestsPerKey,
        `One API key authenticated more than ${t.requestsPerKey} requests in 5 minutes`,
      ),
      ips: alarm(
        'ips',
        'UniqueContributors',
        t.keyIpPairs,
        `More than ${t.keyIpPairs} distinct (API key, client IP) pairs in 5 minutes: a key used from many addresses`,
      ),
      countries: alarm(
        'countries',
        'UniqueContributors',
        t.keyCountryPairs,
        `More than ${t.keyCountryPairs} distinct (API key, country) pairs in 5 minutes: a key used from many countries`,
      ),
      failures: alarm(
        'failures',
        'MaxContributorValue',
        t.failuresPerKey,
        `More than ${t.failuresPerKey} failed authentications naming one API key id in 5 minutes`,
      ),
    };

    if (props.guardDuty) {
      this.detector = new guardduty.CfnDetector(this, 'GuardDuty', {
        enable: true,
        findingPublishingFrequency: 'FIFTEEN_MINUTES',
      });
    }
    this.forwarders =
      Stack.of(this).region === props.securityRegion
        ? []
        : this.forwardToSecurityRegion(props.stage, props.securityRegion, props.guardDuty ?? false);
  }

  /**
   * EventBridge delivers alarm state changes and GuardDuty findings to the default bus of their own region
   * only; these rules send them on to the security region's default bus, where the security stack's rules
   * notify the incident topic and, with automatic containment, invoke the function.
   */
  private forwardToSecurityRegion(stage: Stage, region: string, guardDuty: boolean): events.Rule[] {
    const stack = Stack.of(this);
    const bus = events.EventBus.fromEventBusArn(
      this,
      'SecurityBus',
      stack.formatArn({ service: 'events', region, resource: 'event-bus', resourceName: 'default' }),
    );
    const role = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `Forwards security events of ${stack.region} to the default bus of ${region}`,
    });
    new iam.ManagedPolicy(this, 'ForwardPolicy', {
      description: `What the forwarding of ${stack.region}'s security events may do`,
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'PutEventsOnSecurityBus',
          actions: ['events:PutEvents'],
          resources: [bus.eventBusArn],
        }),
      ],
    });
    const target = new targets.EventBus(bus, { role: role.withoutPolicyUpdates() });
    const rules = [
      new events.Rule(this, 'ForwardKeyAlarms', {
        description: `Sends the per-key alarms' state changes to ${region}`,
        eventPattern: keyAlarmStateChanges(stage),
        targets: [target],
      }),
    ];
    if (guardDuty) {
      rules.push(
        new events.Rule(this, 'ForwardGuardDutyFindings', {
          description: `Sends GuardDuty findings of medium severity or higher to ${region}`,
          eventPattern: GUARD_DUTY_FINDINGS,
          targets: [target],
        }),
      );
    }
    return rules;
  }
}

/** The statistics of a Contributor Insights rule that the alarms read. */
type InsightStatistic = 'MaxContributorValue' | 'UniqueContributors';

/**
 * A Contributor Insights rule body over one log group of Lambda JSON log records. The ingest service writes
 * its pino lines to stdout, already JSON, and Lambda's JSON log format does not encode a line that is
 * already JSON a second time: each record is the service's own object, so the fields are at the top
 * (`$.keyId`, not `$.message.keyId`).
 */
export function insightRuleBody(logGroupName: string, keys: readonly string[], filter: object): object {
  return {
    Schema: { Name: 'CloudWatchLogRule', Version: 1 },
    LogGroupNames: [logGroupName],
    LogFormat: 'JSON',
    Contribution: {
      Keys: keys.map((k) => `$.${k}`),
      Filters: [{ Match: '$.msg', In: [KEY_AUTH_LOG.message] }, filter],
    },
    AggregateOn: 'Count',
  };
}
