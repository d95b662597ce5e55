/**
 * The containment function: the incident service's core as a Lambda, invoked by the per-key alarms (through
 * EventBridge) when the stage turns automatic containment on. It opens an incident and revokes the key.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DIRECTORY,
  type Location,
  names,
  PRIMARY_LOCATION,
  REGIONS,
  type Stage,
} from '../../../../../platform';
import { incidentEnvSchema, type IncidentEnvInput } from '../../../../../platform/contracts/incident-env';
import {
  acknowledgeContainmentBoundaryKeys,
  acknowledgeContainmentBoundaryLogs,
  acknowledgeContainmentWildcards,
} from '../../../../../policies/aws/security-acknowledgements';
import { acknowledgeXRayWrite } from '../../../../../policies/aws/acknowledgements';
import { grantOnPrincipal } from '../../grants';
import { functionBaseStatements, neverEscalate } from '../../private/boundary-statements';
import { TrackstackFunction } from '../trackstack-function';
import type { IncidentStore } from './incident-store';
import { keyAlarmStateChanges } from './security-events';
import { CONTAINABLE_SIGNALS, securityNames } from './security-names';

/** The edge store actions revoking a key needs: read the ETag, read a key, write a batch. */
export const CONTAIN_EDGE_STORE_ACTIONS = [
  'cloudfront-keyvaluestore:DescribeKeyValueStore',
  'cloudfront-keyvaluestore:GetKey',
  'cloudfront-keyvaluestore:UpdateKeys',
] as const;

/** Properties of {@link ContainmentFunction}. */
export interface ContainmentFunctionProps {
  /** The stage. */
  readonly stage: Stage;
  /** The stage's locations: one set of per-key rules and alarms each. */
  readonly locations: readonly Location[];
  /** The incident table, key and topics. */
  readonly store: IncidentStore;
  /** The edge store, where revoked key ids go (the edge stack's, same region). */
  readonly keyValueStore: cloudfront.IKeyValueStore;
  /** The key that encrypts the function's log group (the incident key). */
  readonly encryptionKey: kms.IKey;
  /** Days the function's logs are kept. */
  readonly logRetentionDays: number;
  /**
   * Whether the per-key alarms invoke the function (stage option `autoContain`). Off, the function is
   * deployed but nothing invokes it.
   */
  readonly autoContain: boolean;
}

/**
 * A `TrackstackFunction` (`incident-contain`) whose role may do exactly what containment needs:
 * - the directory (`names.directoryTable`, this region's replica): read `APIKEY#` and `ACCOUNT#` items,
 *   write `APIKEY#` items (the revocation is a conditional put of the key's record); never delete, scan,
 *   or write another kind of item;
 * - the incident table: read and write `INCIDENT#` items (get, conditional put);
 * - the edge store: describe it, read a key, write a batch (`revoked:<keyId>`);
 * - `cloudwatch:GetInsightRuleReport` on the per-key rules of every location, to name the key an alarm
 *   is about;
 * - the table keys through DynamoDB only; its logs and traces.
 * Its own permissions boundary holds the same ceiling. It never publishes a customer notice: an operator
 * reviews the incident and runs `notify`.
 *
 * With `autoContain`, an EventBridge rule sends the function the state changes into ALARM of the
 * containable alarms (requests, distinct IPs, distinct countries, in every location) as EventBridge
 * delivers them; failed invocations are retried twice and then kept in a dead-letter queue.
 */
export class ContainmentFunction extends Construct {
  /** The function. */
  public readonly function: TrackstackFunction<typeof incidentEnvSchema>;
  /** The function's permissions boundary. */
  public readonly permissionsBoundary: iam.ManagedPolicy;
  /** Where invocations go that failed every attempt. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The rule that invokes the function on the containable alarms, with `autoContain` only. */
  public readonly trigger?: events.Rule;

  constructor(scope: Construct, id: string, props: ContainmentFunctionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { stage, store } = props;
    const tableName = names.directoryTable(stage);
    const directoryArn = stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: tableName });
    const logGroupName = securityNames.containLogGroup(stage);

    // Named, so that the key policy can bind the encryption context to the queue by its ARN without the
    // key depending on the queue that depends on the key.
    const queueName = securityNames.containDeadLetterQueue(stage);
    const queueArn = stack.formatArn({ service: 'sqs', resource: queueName });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName,
      encryptionMasterKey: props.encryptionKey,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });

    const environment: IncidentEnvInput = {
      TS_STAGE: stage,
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: tableName,
      TS_INCIDENT_STORE: 'dynamodb',
      TS_INCIDENT_TABLE: store.table.tableName,
      TS_EDGE_STORE: 'kvs',
      TS_KVS_ARN: props.keyValueStore.keyValueStoreArn,
      TS_NOTIFIER: 'sns',
      TS_NOTICE_TOPIC_ARN: store.noticeTopic.topicArn,
      TS_LOG_LEVEL: 'info',
    };
    this.function = new TrackstackFunction(this, 'Function', {
      service: 'incident-contain',
      description: `Trackstack incident containment (${stage}): opens an incident and revokes the key`,
      environmentSchema: incidentEnvSchema,
      environment,
      memorySize: 256,
      // A burst of alarms on one key must not revoke it in parallel runs that race on the incident.
      reservedConcurrentExecutions: 1,
      timeout: Duration.seconds(30),
      encryptionKey: props.encryptionKey,
      logGroupName,
      logRetentionDays: props.logRetentionDays,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });
    const fn = this.function;
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ContainmentSendsDeadLettersThroughSqs',
        principals: [fn.grantPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:ViaService': `sqs.${stack.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:sqs:arn': queueArn,
          },
        },
      }),
    );

    const ruleArns = props.locations.flatMap((l) =>
      CONTAINABLE_SIGNALS.map((signal) =>
        stack.formatArn({
          service: 'cloudwatch',
          region: REGIONS[l].aws,
          resource: 'insight-rule',
          resourceName: securityNames.insightRule(stage, l, signal),
        }),
      ),
    );
    this.grantContainment(directoryArn, ruleArns, props);
    // By name: the incident key's policy names the role, so a boundary referencing the key or the table
    // (which references the key) would close a cycle.
    this.permissionsBoundary = this.ownBoundary({
      logGroupName,
      directoryArn,
      incidentTableArn: stack.formatArn({
        service: 'dynamodb',
        resource: 'table',
        resourceName: names.incidentTable(stage),
      }),
      keyValueStoreArn: props.keyValueStore.keyValueStoreArn,
      ruleArns,
      queueArn,
    });
    iam.PermissionsBoundary.of(this).apply(this.permissionsBoundary);

    this.trigger = props.autoContain ? this.addTrigger(stage, props.locations) : undefined;
  }

  /** Grants what containment does. */
  private grantContainment(directoryArn: string, ruleArns: string[], props: ContainmentFunctionProps): void {
    const stack = Stack.of(this);
    const fn = this.function;
    const { stage } = props;
    const regionalKeys = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    grantOnPrincipal(fn, {
      sid: 'ReadKeysAndAccounts',
      actions: ['dynamodb:GetItem'],
      resourceArns: [directoryArn],
      conditions: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [DIRECTORY.apiKeyPk('*'), DIRECTORY.accountPk('*')],
        },
      },
    });
    // Revoking is a conditional put of the key's record (only while it is still active).
    grantOnPrincipal(fn, {
      sid: 'RevokeKeys',
      actions: ['dynamodb:PutItem'],
      resourceArns: [directoryArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [DIRECTORY.apiKeyPk('*')] } },
    });
    // The directory in this region (the primary location's) is encrypted with its regional key, by alias.
    grantOnPrincipal(fn, {
      sid: 'DirectoryKeyThroughDynamoDb',
      actions: ['kms:Decrypt'],
      resourceArns: [regionalKeys],
      conditions: {
        StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` },
        'ForAnyValue:StringEquals': {
          'kms:ResourceAliases': `alias/${names.keyAlias(stage, PRIMARY_LOCATION)}`,
        },
      },
    });
    props.store.grantWriteIncidents(fn);
    grantOnPrincipal(fn, {
      sid: 'RevokeKeysAtEdge',
      actions: [...CONTAIN_EDGE_STORE_ACTIONS],
      resourceArns: [props.keyValueStore.keyValueStoreArn],
    });
    grantOnPrincipal(fn, {
      sid: 'NameTheKeyOfAnAlarm',
      actions: ['cloudwatch:GetInsightRuleReport'],
      resourceArns: ruleArns,
    });
    acknowledgeContainmentWildcards(fn.policy, [regionalKeys]);
  }

  /** A ceiling of what the function is granted (by name), its logs and traces, and never IAM. */
  private ownBoundary(r: {
    logGroupName: string;
    directoryArn: string;
    incidentTableArn: string;
    keyValueStoreArn: string;
    ruleArns: string[];
    queueArn: string;
  }): iam.ManagedPolicy {
    const stack = Stack.of(this);
    const logs = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${r.logGroupName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const keys = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    const policy = new iam.ManagedPolicy(this, 'PermissionsBoundary', {
      description: `Permissions boundary of the containment function (${r.logGroupName})`,
      statements: [
        ...functionBaseStatements(logs),
        new iam.PolicyStatement({
          sid: 'UseDirectoryAndIncidentItems',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [r.directoryArn, r.incidentTableArn],
        }),
        new iam.PolicyStatement({
          sid: 'UseTableAndQueueKeysThroughServices',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [keys],
          conditions: {
            StringEquals: {
              'kms:ViaService': [
                `dynamodb.${stack.region}.amazonaws.com`,
                `sqs.${stack.region}.amazonaws.com`,
              ],
            },
          },
        }),
        new iam.PolicyStatement({
          sid: 'RevokeKeysAtEdge',
          actions: [...CONTAIN_EDGE_STORE_ACTIONS],
          resources: [r.keyValueStoreArn],
        }),
        new iam.PolicyStatement({
          sid: 'NameTheKeyOfAnAlarm',
          actions: ['cloudwatch:GetInsightRuleReport'],
          resources: r.ruleArns,
        }),
        new iam.PolicyStatement({
          sid: 'SendFailedInvocationsToDeadLetterQueue',
          actions: ['sqs:SendMessage'],
          resources: [r.queueArn],
        }),
        // The hourly 72-hour clock check lists the incidents (`NotificationClock`).
        new iam.PolicyStatement({
          sid: 'ListIncidentsForTheClock',
          actions: ['dynamodb:Scan'],
          resources: [r.incidentTableArn],
        }),
        neverEscalate(),
      ],
    });
    acknowledgeXRayWrite(policy);
    acknowledgeContainmentBoundaryLogs(policy, logs);
    acknowledgeContainmentBoundaryKeys(policy, keys);
    return policy;
  }

  /**
   * One rule for every containable alarm of every location. The target gets the alarm's state change as
   * EventBridge delivers it (forwarded events keep their region): the handler reads the rule's name from
   * `detail.configuration.metrics[].expression` (`INSIGHT_RULE_METRIC('<rule>', …)`) and asks the rule's
   * report for the key, in the event's `region`.
   */
  private addTrigger(stage: Stage, locations: readonly Location[]): events.Rule {
    const alarmNames = locations.flatMap((l) =>
      CONTAINABLE_SIGNALS.map((signal) => securityNames.keyAlarm(stage, l, signal)),
    );
    const rule = new events.Rule(this, 'Trigger', {
      description: 'Automatic containment: a per-key anomaly alarm entering ALARM invokes the function',
      eventPattern: keyAlarmStateChanges(stage, alarmNames),
    });
    rule.addTarget(
      new targets.LambdaFunction(this.function.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    );
    return rule;
  }
}
