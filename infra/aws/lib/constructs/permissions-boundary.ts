/**
 * The permissions boundary of every role a regional stack creates.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { names, type Location, type Stage } from '../../../platform';
import { acknowledgeBoundaryCeiling } from '../../../../policies/aws/acknowledgements';
import { awsNames } from '../naming';

/** Properties of {@link PermissionsBoundary}. */
export interface PermissionsBoundaryProps {
  /** The stage: resource names in the boundary are the stage's. */
  readonly stage: Stage;
  /** The location: resource names in the boundary are the location's. */
  readonly location: Location;
}

/**
 * A customer-managed policy that caps what any role of the stack can do, whatever its own policies say:
 * only the actions the platform's services use, only on this stage's and location's resources in this
 * account and region; and, should the allow list ever grow, never IAM, Organizations, key destruction or
 * the weakening of the event store. Apply it with `iam.PermissionsBoundary.of(stack).apply(policy)`.
 *
 * Resources are matched by name, never by reference: the key policy names the roles, the roles carry the
 * boundary, so a boundary that referenced the key or the buckets would close a dependency cycle.
 */
export class PermissionsBoundary extends Construct {
  /** The boundary policy. */
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: PermissionsBoundaryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { stage, location } = props;
    const arn = (
      service: string,
      resource: string,
      resourceName: string,
      format = ArnFormat.SLASH_RESOURCE_NAME,
    ) => stack.formatArn({ service, resource, resourceName, arnFormat: format });

    const logs = arn(
      'logs',
      'log-group',
      `${awsNames.logGroupPrefix(stage, location)}*`,
      ArnFormat.COLON_RESOURCE_NAME,
    );
    const objects = `arn:${stack.partition}:s3:::*`;
    const keys = arn('kms', 'key', '*');
    const secrets = arn(
      'secretsmanager',
      'secret',
      `${awsNames.secretPrefix(stage, location)}*`,
      ArnFormat.COLON_RESOURCE_NAME,
    );

    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Permissions boundary of every role of ${names.prefix(stage)} in ${location}`,
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logs],
        }),
        new iam.PolicyStatement({
          sid: 'WriteTraces',
          actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'UseEventStream',
          actions: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'],
          resources: [arn('firehose', 'deliverystream', names.eventStream(stage, location))],
        }),
        new iam.PolicyStatement({
          sid: 'UseEventObjectsOfThisAccount',
          actions: [
            's3:AbortMultipartUpload',
            's3:GetBucketLocation',
            's3:GetObject',
            's3:ListBucket',
            's3:ListBucketMultipartUploads',
            's3:PutObject',
          ],
          resources: [objects],
          conditions: { StringEquals: { 'aws:ResourceAccount': stack.account } },
        }),
        new iam.PolicyStatement({
          sid: 'UseRegionalKey',
          actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'],
          resources: [keys],
          conditions: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${names.keyAlias(stage, location)}` },
          },
        }),
        new iam.PolicyStatement({
          sid: 'UseDirectory',
          actions: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          resources: [arn('dynamodb', 'table', names.directoryTable(stage))],
        }),
        new iam.PolicyStatement({
          sid: 'ReadOwnSecrets',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secrets],
        }),
        // Denials come last and are redundant with the allow list today; they keep holding if it grows.
        new iam.PolicyStatement({
          sid: 'NeverEscalate',
          effect: iam.Effect.DENY,
          actions: ['account:*', 'iam:*', 'organizations:*', 'sts:AssumeRole'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'NeverDestroyOrWeakenKeysAndStores',
          effect: iam.Effect.DENY,
          actions: [
            'cloudtrail:DeleteTrail',
            'cloudtrail:StopLogging',
            'dynamodb:DeleteTable',
            'dynamodb:UpdateTable',
            'kms:CreateGrant',
            'kms:DeleteAlias',
            'kms:DisableKey',
            'kms:PutKeyPolicy',
            'kms:ScheduleKeyDeletion',
            'kms:UpdateAlias',
            'logs:DeleteLogGroup',
            's3:DeleteBucket',
            's3:DeleteBucketPolicy',
            's3:PutBucketPolicy',
            's3:PutBucketPublicAccessBlock',
            's3:PutBucketVersioning',
            's3:PutEncryptionConfiguration',
            's3:PutLifecycleConfiguration',
          ],
          resources: ['*'],
        }),
      ],
    });
    acknowledgeBoundaryCeiling(this.policy, { logs, objects, keys, secrets });
  }
}
