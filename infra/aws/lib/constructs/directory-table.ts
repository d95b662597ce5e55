/**
 * The directory: a DynamoDB global table holding accounts, API keys, campaigns, wrapped data keys and
 * conversion claims.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DIRECTORY, RETENTION } from '../../../../platform';

/** Properties of {@link DirectoryTable}. */
export interface DirectoryTableProps {
  /** The table's name, the same in every region: `names.directoryTable(stage)`. */
  readonly tableName: string;
  /** The key of the region the table is created in. */
  readonly encryptionKey: kms.IKey;
  /**
   * Replica regions and the ARN of the key that encrypts each replica, usually an alias ARN of the key
   * in that region: a cross-region reference to the key itself is not possible in CloudFormation.
   * @default - no replicas
   */
  readonly replicaKeyArns?: Readonly<Record<string, string>>;
  /**
   * Days of point-in-time recovery, on the table and every replica (the stage's `directoryRecoveryDays`),
   * at most `RETENTION.maxDirectoryRecoveryDays`. A restore could bring back wrapped data keys that a purge
   * deleted, so a purge is irreversible only once this period has passed after it.
   * @default RETENTION.directoryRecoveryDays
   */
  readonly recoveryPeriodInDays?: number;
}

/**
 * The directory table, created in one region with a replica in each other region of the stage, every
 * replica encrypted with its own region's key; on-demand capacity, point-in-time recovery for a bounded
 * period, a time-to-live on `DIRECTORY.ttlAttribute` (conversion claims expire by it), deletion
 * protection, and kept when it leaves the stack.
 *
 * Deploy order: the stacks of the replica regions (which create their keys and aliases) before this one.
 */
export class DirectoryTable extends Construct {
  /** The global table. */
  public readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: DirectoryTableProps) {
    super(scope, id);
    const replicaKeyArns = { ...(props.replicaKeyArns ?? {}) };
    const region = Stack.of(this).region;
    if (region in replicaKeyArns) {
      throw new Error(`[${this.node.path}] replicaKeyArns: ${region} is the table's own region`);
    }

    const recoveryPeriodInDays = props.recoveryPeriodInDays ?? RETENTION.directoryRecoveryDays;
    const maxDays = RETENTION.maxDirectoryRecoveryDays;
    if (
      !Number.isInteger(recoveryPeriodInDays) ||
      recoveryPeriodInDays < 1 ||
      recoveryPeriodInDays > maxDays
    ) {
      throw new Error(
        `[${this.node.path}] recoveryPeriodInDays: must be a whole number of days from 1 to ${maxDays}, so that ` +
          `a purge is irreversible by day ${RETENTION.purgeDeadlineDays} after expiry; got ${recoveryPeriodInDays}`,
      );
    }
    // Every replica keeps the same period: a restore in any region could bring back a shredded data key.
    const pointInTimeRecoverySpecification: dynamodb.PointInTimeRecoverySpecification = {
      pointInTimeRecoveryEnabled: true,
      recoveryPeriodInDays,
    };
    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: DIRECTORY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: DIRECTORY.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(props.encryptionKey, replicaKeyArns),
      pointInTimeRecoverySpecification,
      // Readers treat a lapsed item as absent; TTL deletes it eventually, at no write cost.
      timeToLiveAttribute: DIRECTORY.ttlAttribute,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      replicas: Object.keys(replicaKeyArns).map((replicaRegion) => ({
        region: replicaRegion,
        deletionProtection: true,
        pointInTimeRecoverySpecification,
      })),
    });
  }
}
