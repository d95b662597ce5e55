/**
 * Metric filters on the audit trail's log group (the CIS AWS Foundations Benchmark's monitoring patterns,
 * plus the platform's own: key policies, WAF and the edge store), each with an alarm on the incident topic.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** `($.eventName = "A") || ($.eventName = "B") …` */
function anyEvent(names: readonly string[]): string {
  return names.map((n) => `($.eventName = "${n}")`).join(' || ');
}

/** One watched kind of API activity: its metric, the filter pattern and what the alarm says. */
export interface TrailWatch {
  /** Metric name (namespace `<metrics namespace>/security`) and construct id. */
  readonly metricName: string;
  /** The CloudWatch Logs filter pattern over CloudTrail records. */
  readonly pattern: string;
  /** What happened, for the alarm's description. */
  readonly description: string;
}

/** What the alarms watch, by name. Each pattern is tested in `test/unit/infra/aws/security-trail.test.ts`. */
export const TRAIL_WATCHES: readonly TrailWatch[] = [
  {
    metricName: 'RootAccountUse',
    pattern:
      '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    description: 'The account root user made an API call',
  },
  {
    metricName: 'UnauthorizedApiCalls',
    pattern:
      '{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && ' +
      '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }',
    description: 'An API call was refused as unauthorized',
  },
  {
    metricName: 'IamPolicyChanges',
    pattern: `{ ${anyEvent([
      'DeleteGroupPolicy',
      'DeleteRolePolicy',
      'DeleteUserPolicy',
      'PutGroupPolicy',
      'PutRolePolicy',
      'PutUserPolicy',
      'CreatePolicy',
      'DeletePolicy',
      'CreatePolicyVersion',
      'DeletePolicyVersion',
      'SetDefaultPolicyVersion',
      'AttachRolePolicy',
      'DetachRolePolicy',
      'AttachUserPolicy',
      'DetachUserPolicy',
      'AttachGroupPolicy',
      'DetachGroupPolicy',
      'PutRolePermissionsBoundary',
      'DeleteRolePermissionsBoundary',
      'UpdateAssumeRolePolicy',
    ])} }`,
    description: 'An IAM policy, permissions boundary or trust policy changed',
  },
  {
    metricName: 'KmsKeyDisabledOrScheduledForDeletion',
    pattern: `{ ($.eventSource = "kms.amazonaws.com") && (${anyEvent(['DisableKey', 'ScheduleKeyDeletion'])}) }`,
    description: 'A KMS key was disabled or scheduled for deletion',
  },
  {
    metricName: 'KmsKeyPolicyChanges',
    pattern: `{ ($.eventSource = "kms.amazonaws.com") && (${anyEvent(['PutKeyPolicy'])}) }`,
    // CreateGrant is left out: DynamoDB and Lambda create grants on their own many times a day.
    description: 'A KMS key policy was rewritten',
  },
  {
    metricName: 'CloudTrailChanges',
    pattern: `{ ${anyEvent(['CreateTrail', 'UpdateTrail', 'DeleteTrail', 'StartLogging', 'StopLogging', 'PutEventSelectors'])} }`,
    description: 'A CloudTrail trail was created, changed, stopped or deleted',
  },
  {
    metricName: 'S3BucketPolicyChanges',
    pattern: `{ ($.eventSource = "s3.amazonaws.com") && (${anyEvent([
      'PutBucketAcl',
      'PutBucketPolicy',
      'PutBucketCors',
      'PutBucketLifecycle',
      'PutBucketReplication',
      'PutBucketPublicAccessBlock',
      'DeleteBucketPolicy',
      'DeleteBucketCors',
      'DeleteBucketLifecycle',
      'DeleteBucketReplication',
      'DeleteBucketPublicAccessBlock',
    ])}) }`,
    description: 'An S3 bucket policy, ACL, lifecycle, replication or public access block changed',
  },
  {
    metricName: 'WafChanges',
    pattern: `{ ($.eventSource = "wafv2.amazonaws.com") && (${anyEvent([
      'UpdateWebACL',
      'DeleteWebACL',
      'UpdateRuleGroup',
      'DeleteRuleGroup',
      'UpdateIPSet',
      'DeleteIPSet',
      'DisassociateWebACL',
      'DeleteLoggingConfiguration',
    ])}) }`,
    description: 'A web ACL, its rule groups, IP sets or logging changed',
  },
  {
    metricName: 'EdgeStoreChanges',
    pattern:
      `{ (($.eventSource = "edgekeyvaluestore.amazonaws.com") && (${anyEvent(['PutKey', 'DeleteKey', 'UpdateKeys'])})) || ` +
      `(($.eventSource = "cloudfront.amazonaws.com") && (${anyEvent(['UpdateKeyValueStore', 'DeleteKeyValueStore'])})) }`,
    description:
      'The edge store (CloudFront KeyValueStore) was written or changed: revoked keys, down regions, home locations',
  },
];

/** Properties of {@link TrailAlarms}. */
export interface TrailAlarmsProps {
  /** The trail's log group. */
  readonly logGroup: logs.ILogGroup;
  /** Namespace of the filters' metrics, e.g. `trackstack/dev/security`. */
  readonly metricNamespace: string;
  /** The on-call topic every alarm notifies. */
  readonly topic: sns.ITopic;
  /**
   * What to watch.
   * @default TRAIL_WATCHES
   */
  readonly watches?: readonly TrailWatch[];
}

/**
 * One metric filter and one alarm per watch: the alarm fires on the first matching record in a 5-minute
 * period (these events are rare and each one deserves a look), and notifies the incident topic.
 */
export class TrailAlarms extends Construct {
  /** The metric filters, by metric name. */
  public readonly filters: ReadonlyMap<string, logs.MetricFilter>;
  /** The alarms, by metric name. */
  public readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: TrailAlarmsProps) {
    super(scope, id);
    const filters = new Map<string, logs.MetricFilter>();
    const alarms = new Map<string, cloudwatch.Alarm>();
    const action = new cloudwatchActions.SnsAction(props.topic);
    for (const watch of props.watches ?? TRAIL_WATCHES) {
      const filter = new logs.MetricFilter(this, `${watch.metricName}Filter`, {
        logGroup: props.logGroup,
        filterPattern: logs.FilterPattern.literal(watch.pattern),
        metricNamespace: props.metricNamespace,
        metricName: watch.metricName,
        metricValue: '1',
      });
      const alarm = new cloudwatch.Alarm(this, `${watch.metricName}Alarm`, {
        alarmDescription: `${watch.description} (CloudTrail; see the trail's log group for the record).`,
        metric: filter.metric({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      filters.set(watch.metricName, filter);
      alarms.set(watch.metricName, alarm);
    }
    this.filters = filters;
    this.alarms = alarms;
  }
}
