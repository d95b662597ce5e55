/**
 * The directory on AWS: the DynamoDB global table `names.directoryTable(stage)`, replicated to every
 * location, with the item layout of `DIRECTORY` in `platform/` shared with the local file store.
 */
import {
  DescribeTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { backoffMs, sleep } from '../backoff';
import { DIRECTORY } from '../../../platform';
import type {
  AccountRecord,
  ApiKeyRecord,
  CampaignRecord,
  ConversionClaim,
  WrappedDataKeyRecord,
} from './directory';
import {
  ItemDirectory,
  claimItem,
  fromItem,
  itemKeys,
  toItem,
  type DirectoryItem,
  type DirectoryItemKey,
  type ExpectedValue,
} from './item-directory';

/** Options of {@link DynamoDirectory}. */
export interface DynamoDirectoryProps {
  /**
   * A DynamoDB client in the serving region, plain or document. A plain client is wrapped in a document
   * client; a document client is used as given.
   */
  readonly client: DynamoDBDocumentClient | DynamoDBClient;
  /** The directory table, `names.directoryTable(stage)`. */
  readonly tableName: string;
}

/** BatchWriteItem accepts at most this many requests per call. */
const BATCH_WRITE_MAX = 25;
/** Attempts to drain the unprocessed items of one BatchWriteItem chunk before giving up. */
const BATCH_WRITE_ATTEMPTS = 8;

/**
 * The CreateTable input of the directory table (for tests and local tooling; the CDK stack defines the
 * production table, a global table with the same keys).
 */
export function directoryTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: DIRECTORY.partitionKey, AttributeType: 'S' },
      { AttributeName: DIRECTORY.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: DIRECTORY.partitionKey, KeyType: 'HASH' },
      { AttributeName: DIRECTORY.sortKey, KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** The DynamoDB-backed directory. */
export class DynamoDirectory extends ItemDirectory {
  /** Store name, as in `TS_DIRECTORY`. */
  readonly name = 'dynamodb';
  /** The table this directory reads and writes. */
  readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;

  constructor(props: DynamoDirectoryProps) {
    super();
    this.tableName = props.tableName;
    this.doc =
      props.client instanceof DynamoDBDocumentClient
        ? props.client
        : DynamoDBDocumentClient.from(props.client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /**
   * Stores a wrapped data key unless (account, location) has one, with a conditional write; when another
   * instance got there first, resolves with that instance's record.
   */
  async putDataKeyIfAbsent(record: WrappedDataKeyRecord): Promise<WrappedDataKeyRecord> {
    const key = itemKeys.dataKey(record.accountId, record.location);
    // Two rounds cover a winner that was deleted (crypto-shred) between our failed write and our read.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: toItem(key, record),
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': DIRECTORY.partitionKey },
          }),
        );
        return record;
      } catch (err) {
        // Matched by name: a second copy of the SDK in a bundle would defeat instanceof.
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      }
      const winner = await this.getItem(key, true);
      if (winner) return fromItem<WrappedDataKeyRecord>(winner);
    }
    throw new Error(
      `data key of account ${record.accountId} in ${record.location} kept changing while it was being stored`,
    );
  }

  /**
   * Takes a conversion claim with a conditional write: it succeeds when no claim exists or the one stored
   * has lapsed (the table's time-to-live deletes lapsed items only eventually, so the condition checks the
   * expiry itself).
   */
  async claimConversion(claim: ConversionClaim, nowMs: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: claimItem(claim),
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :now',
          ExpressionAttributeNames: { '#pk': DIRECTORY.partitionKey, '#ttl': DIRECTORY.ttlAttribute },
          ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /** Drops a conversion claim; a missing one is fine. */
  async releaseConversion(accountId: string, key: string): Promise<void> {
    const { pk, sk } = itemKeys.conversionClaim(accountId, key);
    await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { [DIRECTORY.partitionKey]: pk, [DIRECTORY.sortKey]: sk },
      }),
    );
  }

  /** Resolves when the table exists and is active (DescribeTable). */
  async check(): Promise<void> {
    // The document client shares the plain client's configuration and middleware, so it can send plain
    // commands; only its static types are narrower.
    const out = await (this.doc as unknown as DynamoDBClient).send(
      new DescribeTableCommand({ TableName: this.tableName }),
    );
    const status = out.Table?.TableStatus;
    if (status !== 'ACTIVE' && status !== 'UPDATING') {
      throw new Error(`directory table ${this.tableName} is not usable: status ${status ?? 'unknown'}`);
    }
  }

  /** Every item of one partition, e.g. `ACCOUNT#<id>`, sorted by sort key. */
  async listItems(pk: string): Promise<DirectoryItem[]> {
    return this.pages((start) =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': DIRECTORY.partitionKey },
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      ),
    );
  }

  /**
   * Deletes items by key with BatchWriteItem (25 per call), retrying unprocessed items with backoff.
   * Resolves with how many keys were requested; missing items are ignored.
   */
  async deleteItems(keys: readonly DirectoryItemKey[]): Promise<number> {
    // BatchWriteItem rejects two requests for one key in a call.
    const unique = [...new Map(keys.map((k) => [`${k.pk}\u0000${k.sk}`, k])).values()];
    for (let i = 0; i < unique.length; i += BATCH_WRITE_MAX) {
      let requests = unique.slice(i, i + BATCH_WRITE_MAX).map((k) => ({
        DeleteRequest: { Key: { [DIRECTORY.partitionKey]: k.pk, [DIRECTORY.sortKey]: k.sk } },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt >= BATCH_WRITE_ATTEMPTS) {
          throw new Error(`directory table ${this.tableName}: ${requests.length} deletes still unprocessed`);
        }
        if (attempt > 0) await sleep(backoffMs(attempt, { baseMs: 100, maxMs: 2000 }));
        const out = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
    return keys.length;
  }

  /** Replaces an item if the stored one matches `expected`, with a conditional PutItem. */
  async putItemIf(item: DirectoryItem, expected: Readonly<Record<string, ExpectedValue>>): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const conditions = Object.entries(expected).map(([name, value], i) => {
      names[`#c${i}`] = name;
      if (value === null) return `attribute_not_exists(#c${i})`;
      values[`:c${i}`] = value;
      return `#c${i} = :c${i}`;
    });
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(conditions.length > 0
            ? { ConditionExpression: conditions.join(' AND '), ExpressionAttributeNames: names }
            : {}),
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /** Every account record (a filtered scan: for maintenance jobs, never the hot path). */
  async listAccounts(): Promise<AccountRecord[]> {
    const items = await this.scan({
      FilterExpression: 'begins_with(#pk, :prefix) AND #sk = :meta',
      ExpressionAttributeNames: { '#pk': DIRECTORY.partitionKey, '#sk': DIRECTORY.sortKey },
      ExpressionAttributeValues: { ':prefix': DIRECTORY.accountPk(''), ':meta': DIRECTORY.accountSk },
    });
    return items
      .map((i) => fromItem<AccountRecord>(i))
      .sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /** Every API key record of one account (a filtered scan: for maintenance jobs, never the hot path). */
  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    const items = await this.scan({
      FilterExpression: 'begins_with(#pk, :prefix) AND #account = :account',
      ExpressionAttributeNames: { '#pk': DIRECTORY.partitionKey, '#account': 'accountId' },
      ExpressionAttributeValues: { ':prefix': DIRECTORY.apiKeyPk(''), ':account': accountId },
    });
    return items.map((i) => fromItem<ApiKeyRecord>(i)).sort((a, b) => a.keyId.localeCompare(b.keyId));
  }

  /** The campaigns of that id in every account (a filtered scan: for tools, never the hot path). */
  async findCampaigns(campaignId: string): Promise<CampaignRecord[]> {
    const items = await this.scan({
      FilterExpression: 'begins_with(#pk, :prefix) AND #sk = :sk',
      ExpressionAttributeNames: { '#pk': DIRECTORY.partitionKey, '#sk': DIRECTORY.sortKey },
      ExpressionAttributeValues: {
        ':prefix': DIRECTORY.accountPk(''),
        ':sk': DIRECTORY.campaignSk(campaignId),
      },
    });
    return items
      .map((i) => fromItem<CampaignRecord>(i))
      .sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  private scan(input: Omit<ScanCommandInput, 'TableName'>): Promise<DirectoryItem[]> {
    return this.pages((start) =>
      this.doc.send(
        new ScanCommand({
          ...input,
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      ),
    );
  }

  /** Follows `LastEvaluatedKey` through every page of a Query or Scan. */
  private async pages(
    page: (start: Record<string, unknown> | undefined) => Promise<{
      Items?: Record<string, unknown>[];
      LastEvaluatedKey?: Record<string, unknown>;
    }>,
  ): Promise<DirectoryItem[]> {
    const items: DirectoryItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await page(start);
      for (const item of out.Items ?? []) items.push(item as DirectoryItem);
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  protected async getItem(key: DirectoryItemKey, consistent = false): Promise<DirectoryItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [DIRECTORY.partitionKey]: key.pk, [DIRECTORY.sortKey]: key.sk },
        ConsistentRead: consistent,
      }),
    );
    return out.Item as DirectoryItem | undefined;
  }

  protected async putItem(item: DirectoryItem): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }
}
