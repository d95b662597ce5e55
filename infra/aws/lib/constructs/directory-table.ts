/**
 * The directory: a DynamoDB global table holding accounts, API keys, campaigns, wrapped data keys and
 * conversion claims.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DIRECTORY, DIRECTORY_PARTITIONS, RETENTION } from '../../../../platform';
import { grantOnPrincipal } from '../grants';

/** The partitions an account's items live in, as `dynamodb:LeadingKeys` patterns: everything a purge deletes. */
const ACCOUNT_OWNED_PARTITIONS = [
  DIRECTORY_PARTITIONS.account,
  DIRECTORY_PARTITIONS.apiKey,
  DIRECTORY_PARTITIONS.dataKey,
  DIRECTORY_PARTITIONS.dedup,
].map((prefix) => `${prefix}*`);

/**
 * The directory table as the services of one region use it: the global table in the directory home's
 * stack, its replica (by name) in every other stack. Every grant is on this region's replica only, named by
 * ARN: a role of one region never reaches another region's replica.
 */
export interface IDirectoryTable {
  /** The table's name (the same in every region). */
  readonly tableName: string;
  /** ARN of the table in this stack's region. */
  readonly tableArn: string;
  /**
   * Reading any item (`GetItem`, `Query`, `DescribeTable`): accounts, campaigns and API keys are looked up on
   * the ingest's hot path, so reads span the whole table.
   */
  grantReadItems(grantee: iam.IGrantable): iam.Grant;
  /**
   * What the ingest writes: conditional puts of wrapped data keys and conversion claims only (`DATAKEY#`,
   * `DEDUP#` partitions), and deletes of conversion claims only (a claim is released when its event could
   * not be stored). Never an account, a campaign or an API key.
   */
  grantWriteDataKeysAndClaims(grantee: iam.IGrantable): iam.Grant;
  /**
   * What the ingest of one location needs for its branch keys (the data-key hierarchy): `PutItem` on that
   * location's `BRANCHKEY#<location>` partition only, to create the version of a new rotation period.
   * Reading them needs nothing more than {@link grantReadItems}. The ingest never deletes one, and the purge
   * never touches them (they belong to no account).
   */
  grantCreateBranchKeys(grantee: iam.IGrantable, location: string): iam.Grant;
  /**
   * What the purge needs: `Scan` (finding accounts and API keys has no partition key to condition on);
   * `GetItem`, `Query` and `BatchWriteItem` on the partitions an account's items live in (`ACCOUNT#`,
   * `APIKEY#`, `DATAKEY#`, `DEDUP#`); `PutItem` on `ACCOUNT#` only (the record carries the purge's progress).
   */
  grantPurgeAccounts(grantee: iam.IGrantable): iam.Grant;
}

/** The grants of {@link IDirectoryTable}, for the table and for its replicas alike. */
abstract class DirectoryTableBase extends Construct implements IDirectoryTable {
  public abstract readonly tableName: string;

  public get tableArn(): string {
    // Built from the name in this stack's region, for the table and its replicas alike: a role reaches its
    // own region's replica, never the others.
    return Stack.of(this).formatArn({ service: 'dynamodb', resource: 'table', resourceName: this.tableName });
  }

  public grantReadItems(grantee: iam.IGrantable): iam.Grant {
    return grantOnPrincipal(grantee, {
      sid: 'ReadDirectory',
      actions: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'],
      resourceArns: [this.tableArn],
    });
  }

  public grantWriteDataKeysAndClaims(grantee: iam.IGrantable): iam.Grant {
    const claims = `${DIRECTORY_PARTITIONS.dedup}*`;
    return this.onPartitions(
      grantee,
      'StoreDataKeysAndConversionClaims',
      ['dynamodb:PutItem'],
      [`${DIRECTORY_PARTITIONS.dataKey}*`, claims],
    ).combine(this.onPartitions(grantee, 'ReleaseConversionClaims', ['dynamodb:DeleteItem'], [claims]));
  }

  public grantCreateBranchKeys(grantee: iam.IGrantable, location: string): iam.Grant {
    if (!location || location.includes('*') || location.includes('?')) {
      throw new Error(
        `[${this.node.path}] grantCreateBranchKeys: location must be a location name, got "${location}"`,
      );
    }
    // IAM cannot require the write's condition: the code's conditional create is what keeps a stored branch
    // key from being replaced, and a replaced one would only send instances back to KMS (its id is bound
    // into every copy it sealed, so another key opens none of them).
    return this.onPartitions(
      grantee,
      'CreateBranchKeys',
      ['dynamodb:PutItem'],
      [DIRECTORY.branchKeyPk(location)],
    );
  }

  public grantPurgeAccounts(grantee: iam.IGrantable): iam.Grant {
    return grantOnPrincipal(grantee, {
      sid: 'FindAccountsAndApiKeys',
      actions: ['dynamodb:Scan'],
      resourceArns: [this.tableArn],
    })
      .combine(
        this.onPartitions(
          grantee,
          'ReadOwnedItems',
          ['dynamodb:GetItem', 'dynamodb:Query'],
          ACCOUNT_OWNED_PARTITIONS,
        ),
      )
      .combine(
        this.onPartitions(
          grantee,
          'RecordProgressOnAccounts',
          ['dynamodb:PutItem'],
          [`${DIRECTORY_PARTITIONS.account}*`],
        ),
      )
      .combine(
        this.onPartitions(grantee, 'DeleteOwnedItems', ['dynamodb:BatchWriteItem'], ACCOUNT_OWNED_PARTITIONS),
      );
  }

  /** Actions confined to items whose partition key matches one of the patterns (`dynamodb:LeadingKeys`). */
  private onPartitions(
    grantee: iam.IGrantable,
    sid: string,
    actions: string[],
    partitions: string[],
  ): iam.Grant {
    return grantOnPrincipal(grantee, {
      sid,
      actions,
      resourceArns: [this.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions } },
    });
  }
}

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
 * period, a time-to-live on `DIRECTORY.ttlAttribute` (conversion claims and branch keys expire by it),
 * deletion protection, and kept when it leaves the stack.
 *
 * Deploy order: the stacks of the replica regions (which create their keys and aliases) before this one.
 */
export class DirectoryTable extends DirectoryTableBase {
  /**
   * This region's replica of the directory table, created by the directory home's stack: a reference by
   * name, with the same grants.
   */
  public static fromTableName(scope: Construct, id: string, tableName: string): IDirectoryTable {
    return new DirectoryReplica(scope, id, tableName);
  }

  /** The global table. */
  public readonly table: dynamodb.TableV2;
  /** The table's name (a reference to the global table). */
  public readonly tableName: string;

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
    this.tableName = this.table.tableName;
  }
}

/** A replica of the directory table in this stack's region, created by the directory home's stack. */
class DirectoryReplica extends DirectoryTableBase {
  constructor(
    scope: Construct,
    id: string,
    public readonly tableName: string,
  ) {
    super(scope, id);
  }
}
