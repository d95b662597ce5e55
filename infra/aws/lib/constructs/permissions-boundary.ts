/**
 * The permissions boundary of every role a regional stack creates.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { functionBaseStatements, neverEscalate } from '../private/boundary-statements';
import { Construct } from 'constructs';
import {
  CAMPAIGN_CONFIG,
  EVENT_OBJECTS,
  LIMITS,
  type Location,
  names,
  RECEIPTS,
  REGIONS,
  type Stage,
} from '../../../../platform';
import {
  acknowledgeBoundaryCeiling,
  acknowledgeWildcardResource,
} from '../../../../policies/aws/acknowledgements';
import { awsNames } from '../naming';
import { FIREHOSE_S3_DELIVERY_ACTIONS } from './event-stream';

/** Properties of {@link PermissionsBoundary}. */
export interface PermissionsBoundaryProps {
  /** The stage: resource names in the boundary are the stage's. */
  readonly stage: Stage;
  /** The location: resource names in the boundary are the location's. */
  readonly location: Location;
  /**
   * Every location of the stage: the purge job of each location deletes from all their event buckets.
   * @default - this location only
   */
  readonly locations?: readonly Location[];
  /**
   * The location's event streams (the stage's `eventStreams`): the ingest function may write into each.
   * @default 1
   */
  readonly eventStreams?: number;
  /**
   * The location whose stack holds the purge receipts bucket (the directory home).
   * @default - this location
   */
  readonly receiptsLocation?: Location;
  /**
   * The CDN's config bucket, when a role of the stack (the directory home's purge job) deletes purged
   * accounts' configs from it.
   * @default - none: no role of the stack may touch the config bucket
   */
  readonly configBucketName?: string;
  /**
   * The security stack's region: when it is another region, the stack's event forwarding role may put
   * events on that region's default bus (the per-key alarms and GuardDuty findings).
   * @default - no role of the stack may put events anywhere
   */
  readonly securityRegion?: string;
}

/**
 * A customer-managed policy that caps what any role of the stack can do, whatever its own policies say:
 * only the actions the platform's services use, only on this stage's and location's resources in this
 * account and region, S3 buckets included, each named (the purge job also reaches the `account=` prefixes
 * of the stage's other event buckets, the receipts bucket and its key in the directory home's region, and,
 * in the directory home, the `config/` objects of the CDN's config bucket);
 * and, should the allow list ever grow, never IAM, Organizations, key destruction, the weakening of the
 * event store or of Object Lock.
 * Apply it with `iam.PermissionsBoundary.of(stack).apply(policy)`.
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
    const locations = props.locations ?? [location];
    const receiptsLocation = props.receiptsLocation ?? location;
    const streamCount = props.eventStreams ?? 1;
    if (!Number.isInteger(streamCount) || streamCount < 1 || streamCount > LIMITS.maxEventStreams) {
      throw new Error(
        `[${this.node.path}] eventStreams must be a whole number from 1 to ${LIMITS.maxEventStreams}, ` +
          `got ${streamCount}`,
      );
    }
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
    const keys = arn('kms', 'key', '*');
    // The purge job's stores, by the names every location agrees on.
    const s3Arn = (resource: string) => `arn:${stack.partition}:s3:::${resource}`;
    const eventBuckets = locations.map((l) => names.eventBucket(stage, l, stack.account));
    const eventObjects = eventBuckets.map((b) => s3Arn(`${b}/${EVENT_OBJECTS.accountKey}*`));
    const receiptsBucket = names.purgeReceiptsBucket(stage, stack.account);
    const receiptObjects = s3Arn(`${receiptsBucket}/${RECEIPTS.prefix}*`);
    // The bucket that Firehose's delivery role writes: this location's, by the name every location agrees on.
    const eventBucket = s3Arn(names.eventBucket(stage, location, stack.account));
    const eventBucketObjects = `${eventBucket}/*`;
    const receiptsKeys =
      receiptsLocation === location
        ? undefined
        : stack.formatArn({
            service: 'kms',
            region: REGIONS[receiptsLocation].aws,
            resource: 'key',
            resourceName: '*',
          });
    // Stream 0 by name; the numbered streams (`…-events-<i>`) by their common prefix, because fifty ARNs
    // would take most of the 6,144 characters a managed policy may hold.
    const eventStream = names.eventStream(stage, location);
    const streams = [arn('firehose', 'deliverystream', eventStream)];
    const numberedStreams =
      streamCount > 1 ? arn('firehose', 'deliverystream', `${eventStream}-*`) : undefined;
    if (numberedStreams) streams.push(numberedStreams);
    const configBucket = props.configBucketName ? s3Arn(props.configBucketName) : undefined;
    const configObjects = configBucket ? `${configBucket}/${CAMPAIGN_CONFIG.root}*` : undefined;

    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Permissions boundary of every role of ${names.prefix(stage)} in ${location}`,
      statements: [
        ...functionBaseStatements(logs),
        new iam.PolicyStatement({
          sid: 'UseEventStream',
          actions: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'],
          resources: streams,
        }),
        // Bucket names are global: the account condition also refuses a same-named bucket of someone else.
        new iam.PolicyStatement({
          sid: 'DeliverIntoEventBucket',
          actions: [...FIREHOSE_S3_DELIVERY_ACTIONS],
          resources: [eventBucket, eventBucketObjects],
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
          actions: [
            'dynamodb:BatchWriteItem',
            'dynamodb:DeleteItem',
            'dynamodb:DescribeTable',
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:Query',
            'dynamodb:Scan',
          ],
          resources: [arn('dynamodb', 'table', names.directoryTable(stage))],
        }),
        new iam.PolicyStatement({
          sid: 'ListEventObjectVersions',
          actions: ['s3:ListBucketVersions'],
          resources: eventBuckets.map(s3Arn),
        }),
        new iam.PolicyStatement({
          sid: 'DeleteEventObjectVersionsOfAccounts',
          actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
          resources: eventObjects,
        }),
        new iam.PolicyStatement({
          sid: 'WriteLockedReceipts',
          actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectRetention'],
          resources: [receiptObjects],
        }),
        new iam.PolicyStatement({
          sid: 'CheckReceiptsObjectLock',
          actions: ['s3:GetBucketObjectLockConfiguration'],
          resources: [s3Arn(receiptsBucket)],
        }),
        ...(receiptsKeys
          ? [
              new iam.PolicyStatement({
                sid: 'UseReceiptsKey',
                actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
                resources: [receiptsKeys],
                conditions: {
                  'ForAnyValue:StringEquals': {
                    'kms:ResourceAliases': `alias/${names.keyAlias(stage, receiptsLocation)}`,
                  },
                },
              }),
            ]
          : []),
        ...(configBucket && configObjects
          ? [
              new iam.PolicyStatement({
                sid: 'ListPublishedConfigs',
                actions: ['s3:ListBucket', 's3:ListBucketVersions'],
                resources: [configBucket],
              }),
              new iam.PolicyStatement({
                sid: 'DeletePublishedConfigs',
                actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
                resources: [configObjects],
              }),
            ]
          : []),
        ...(props.securityRegion && props.securityRegion !== stack.region
          ? [
              new iam.PolicyStatement({
                sid: 'ForwardSecurityEvents',
                actions: ['events:PutEvents'],
                resources: [
                  stack.formatArn({
                    service: 'events',
                    region: props.securityRegion,
                    resource: 'event-bus',
                    resourceName: 'default',
                  }),
                ],
              }),
            ]
          : []),
        new iam.PolicyStatement({
          sid: 'SendToDeadLetterQueue',
          actions: ['sqs:SendMessage'],
          resources: [
            stack.formatArn({ service: 'sqs', resource: awsNames.purgeDeadLetterQueue(stage, location) }),
          ],
        }),
        // Denials come last and are redundant with the allow list today; they keep holding if it grows.
        neverEscalate(),
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
            's3:BypassGovernanceRetention',
            's3:DeleteBucket',
            's3:DeleteBucketPolicy',
            's3:PutBucketObjectLockConfiguration',
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
    if (numberedStreams) {
      acknowledgeWildcardResource(
        this.policy,
        numberedStreams,
        'This is the permissions boundary, which grants nothing by itself and only caps what the stack’s ' +
          'roles may be granted; it names the numbered event streams of this stage and location by their ' +
          'common prefix, because listing up to fifty stream ARNs would not fit in a managed policy.',
      );
    }
    acknowledgeBoundaryCeiling(this.policy, {
      logs,
      eventBucketObjects,
      keys,
      eventObjects,
      receiptObjects,
      receiptsKeys,
      configObjects,
    });
  }
}
