/**
 * A CloudWatch Logs group encrypted with the regional key, with a fixed retention.
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Properties of {@link EncryptedLogGroup}. */
export interface EncryptedLogGroupProps {
  /**
   * The log group's name. Required: the key policy names the group, and naming it by a token would make
   * the key depend on the group that depends on the key.
   */
  readonly logGroupName: string;
  /** The key that encrypts the log events; its policy is extended to let CloudWatch Logs use it. */
  readonly encryptionKey: kms.IKey;
  /** Days the log events are kept: one of the periods CloudWatch Logs accepts. */
  readonly retentionDays: number;
  /**
   * What happens to the group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A log group encrypted with a customer-managed key. CloudWatch Logs may use the key for this group only:
 * the key policy statement is bound to the group's ARN through the `aws:logs:arn` encryption context.
 */
export class EncryptedLogGroup extends Construct {
  /** The log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EncryptedLogGroupProps) {
    super(scope, id);
    const retention = toRetentionDays(this, props.retentionDays);
    const stack = Stack.of(this);

    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `CloudWatchLogsEncrypt${pathBelowStack(this)}`,
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        resources: ['*'],
        conditions: {
          ArnEquals: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: props.logGroupName,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: props.logGroupName,
      encryptionKey: props.encryptionKey,
      retention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}

/** The construct's path below its stack as one identifier, e.g. `IngestFunctionLogs`: unique and readable. */
function pathBelowStack(scope: Construct): string {
  const scopes = scope.node.scopes;
  return scopes
    .slice(scopes.indexOf(Stack.of(scope)) + 1)
    .map((s) => s.node.id.replace(/[^A-Za-z0-9]/g, ''))
    .join('');
}

/**
 * Maps a number of days to the CloudWatch Logs retention enum.
 * @throws Error when CloudWatch Logs does not offer that period
 */
export function toRetentionDays(scope: Construct, days: number): logs.RetentionDays {
  const match = Object.values(logs.RetentionDays).find(
    (v): v is logs.RetentionDays => v === days && v !== logs.RetentionDays.INFINITE,
  );
  if (match === undefined) {
    throw new Error(
      `[${scope.node.path}] logRetentionDays: ${days} is not a retention period that CloudWatch Logs accepts`,
    );
  }
  return match;
}
