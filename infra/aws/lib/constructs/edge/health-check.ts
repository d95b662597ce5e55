/**
 * The edge health check: every minute, probes each location through the CDN and keeps the edge store's
 * `down` key up to date, so the routing function sends hits around a failed region.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { functionBaseStatements, neverEscalate } from '../../private/boundary-statements';
import { Construct } from 'constructs';
import { type Location, names, type Stage } from '../../../../../platform';
import {
  edgeHealthEnvSchema,
  type EdgeHealthEnvInput,
} from '../../../../../platform/contracts/edge-health-env';
import { acknowledgeOwnLogStreams, acknowledgeXRayWrite } from '../../../../../policies/aws/acknowledgements';
import { TrackstackFunction } from '../trackstack-function';

/** What the function may do with the edge store: read it, and write the `down` key. */
export const KEY_VALUE_STORE_ACTIONS = [
  'cloudfront-keyvaluestore:DeleteKey',
  'cloudfront-keyvaluestore:DescribeKeyValueStore',
  'cloudfront-keyvaluestore:GetKey',
  'cloudfront-keyvaluestore:ListKeys',
  'cloudfront-keyvaluestore:PutKey',
  'cloudfront-keyvaluestore:UpdateKeys',
] as const;

/** Defaults of the probe settings: the same as the environment contract's. */
const PROBE_DEFAULTS = { probes: 3, intervalMs: 10_000, timeoutMs: 3_000 } as const;

/** Time a run needs beyond its probes: a cold start, reading the store and writing the `down` key. */
const RUN_OVERHEAD = Duration.seconds(15);

/** Properties of {@link EdgeHealthCheck}. */
export interface EdgeHealthCheckProps {
  /** The stage. */
  readonly stage: Stage;
  /** The locations the stage deploys: each is probed through the CDN. */
  readonly locations: readonly Location[];
  /** Base URL of the CDN (`https://<distribution domain>`), where `edgeHealthPath(location)` is probed. */
  readonly edgeUrl: string;
  /** The edge store that the routing function reads. */
  readonly keyValueStore: cloudfront.IKeyValueStore;
  /** The edge stack's key: encrypts the function's log group. */
  readonly encryptionKey: kms.IKey;
  /** Days the function's logs are kept. */
  readonly logRetentionDays: number;
  /**
   * Name of the function's log group.
   * @default `/<prefix>/edge/health` (e.g. `/trackstack-dev/edge/health`)
   */
  readonly logGroupName?: string;
  /**
   * Probes of each location per run; a location changes state only when all of them agree.
   * @default 3
   */
  readonly probes?: number;
  /**
   * Time between two probes of one location in a run.
   * @default Duration.seconds(10)
   */
  readonly probeInterval?: Duration;
  /**
   * Time a probe may take before it counts as failed.
   * @default Duration.seconds(3)
   */
  readonly probeTimeout?: Duration;
  /**
   * Where the check's alarms (failing runs, no runs) notify.
   * @default - no alarms
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The permissions boundary of the function's role.
   * @default - a boundary of its own: its log group, traces and the edge store, nothing else
   */
  readonly permissionsBoundary?: iam.IManagedPolicy;
}

/**
 * A `TrackstackFunction` (`edge-health`) started every minute by an EventBridge rule, one run at a time
 * (reserved concurrency 1). A run probes every location (concurrently) `probes` times, `probeInterval`
 * apart, and writes the locations that failed every probe to the store's `down` key; so a failed region is
 * routed around within about two minutes (the next run, plus its probes) and, once every probe passes
 * again, routed to again the same way. The timeout covers `probes` intervals and timeouts plus a margin.
 *
 * A failed run is not retried and has no dead-letter queue: the next minute's run replaces it (an overlapping
 * one is throttled and dropped after a minute). The role may only describe, read and write the edge store,
 * and carries a permissions boundary.
 */
export class EdgeHealthCheck extends Construct {
  /** The health check function. */
  public readonly function: TrackstackFunction<typeof edgeHealthEnvSchema>;
  /** The every-minute EventBridge rule. */
  public readonly schedule: events.Rule;
  /** The permissions boundary of the function's role. */
  public readonly permissionsBoundary: iam.IManagedPolicy;
  /** The alarms, when a topic was given: failing runs, and no runs at all. */
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: EdgeHealthCheckProps) {
    super(scope, id);
    const probes = props.probes ?? PROBE_DEFAULTS.probes;
    const interval = props.probeInterval ?? Duration.millis(PROBE_DEFAULTS.intervalMs);
    const probeTimeout = props.probeTimeout ?? Duration.millis(PROBE_DEFAULTS.timeoutMs);
    const logGroupName = props.logGroupName ?? `/${names.prefix(props.stage)}/edge/health`;
    if (props.locations.length === 0) throw new Error(`[${this.node.path}] locations must not be empty`);

    const environment: EdgeHealthEnvInput = {
      TS_STAGE: props.stage,
      TS_LOCATIONS: props.locations.join(','),
      TS_EDGE_URL: props.edgeUrl,
      TS_EDGE_STORE: 'kvs',
      TS_KVS_ARN: props.keyValueStore.keyValueStoreArn,
      TS_PROBES: String(probes),
      TS_PROBE_INTERVAL_MS: String(interval.toMilliseconds()),
      TS_PROBE_TIMEOUT_MS: String(probeTimeout.toMilliseconds()),
      TS_LOG_LEVEL: 'info',
    };
    const timeout = Duration.millis(
      probes * (interval.toMilliseconds() + probeTimeout.toMilliseconds()) + RUN_OVERHEAD.toMilliseconds(),
    );
    this.function = new TrackstackFunction(this, 'Function', {
      service: 'edge-health',
      description: `Trackstack edge health check (${props.stage})`,
      environmentSchema: edgeHealthEnvSchema,
      environment,
      memorySize: 256,
      // One run at a time: two would race on the `down` key.
      reservedConcurrentExecutions: 1,
      timeout,
      encryptionKey: props.encryptionKey,
      logGroupName,
      logRetentionDays: props.logRetentionDays,
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
      withoutDeadLetterQueue: 'superseded-by-next-run',
    });
    this.grantEdgeStore(props.keyValueStore);

    this.permissionsBoundary =
      props.permissionsBoundary ?? this.ownBoundary(logGroupName, props.keyValueStore);
    iam.PermissionsBoundary.of(this.function).apply(this.permissionsBoundary);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Probes every location through the CDN and updates the edge store (${props.stage})`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
    });
    this.schedule.addTarget(
      new targets.LambdaFunction(this.function.function, {
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    );

    this.alarms = props.alarmTopic ? this.addAlarms(props.alarmTopic) : [];
  }

  private grantEdgeStore(store: cloudfront.IKeyValueStore): void {
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadAndWriteEdgeStore',
        actions: [...KEY_VALUE_STORE_ACTIONS],
        resources: [store.keyValueStoreArn],
      }),
    );
  }

  /** Only what the function does: its own logs, its traces, the edge store; never IAM or anything else. */
  private ownBoundary(logGroupName: string, store: cloudfront.IKeyValueStore): iam.ManagedPolicy {
    const logs = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${logGroupName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const policy = new iam.ManagedPolicy(this, 'PermissionsBoundary', {
      description: `Permissions boundary of the edge health check (${logGroupName})`,
      statements: [
        ...functionBaseStatements(logs),
        new iam.PolicyStatement({
          sid: 'UseEdgeStore',
          actions: [...KEY_VALUE_STORE_ACTIONS],
          resources: [store.keyValueStoreArn],
        }),
        neverEscalate(),
      ],
    });
    acknowledgeXRayWrite(policy);
    acknowledgeOwnLogStreams(policy, logs);
    return policy;
  }

  private addAlarms(topic: sns.ITopic): cloudwatch.Alarm[] {
    const fn = this.function.function;
    const failing = new cloudwatch.Alarm(this, 'FailingRuns', {
      alarmDescription:
        'The edge health check failed in 3 of the last 5 minutes: the edge store may no longer reflect ' +
        'which regions are down.',
      metric: fn.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const silent = new cloudwatch.Alarm(this, 'NoRuns', {
      alarmDescription:
        'The edge health check did not run for 5 minutes: a failed region would not be routed around.',
      metric: fn.metricInvocations({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const action = new cloudwatchActions.SnsAction(topic);
    for (const alarm of [failing, silent]) alarm.addAlarmAction(action);
    return [failing, silent];
  }
}
