/**
 * The incident store on AWS: the table `names.incidentTable(stage)` (KMS-encrypted, point-in-time recovery,
 * defined by the CDK stack), one item per incident (`INCIDENTS`: `pk` = `INCIDENT#<id>`, `sk` = `META`)
 * with its timeline inside it. Creates and updates are conditional writes, so two operators (or an
 * operator and the containment function) never overwrite each other's steps.
 */
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { INCIDENTS } from '../../../../platform';
import { parseIncident, type Incident } from '../core/model';
import { byNewestDetection } from '../core/order';
import type { IncidentStore } from '../core/ports';

/** Options of {@link DynamoIncidentStore}. */
export interface DynamoIncidentStoreProps {
  /** A DynamoDB client in the table's region (plain or document). */
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  /** The table, `names.incidentTable(stage)`. */
  readonly tableName: string;
}

/** The CreateTable input of the incident table, for tests (the CDK stack defines the real one). */
export function incidentTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: INCIDENTS.partitionKey, AttributeType: 'S' },
      { AttributeName: INCIDENTS.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: INCIDENTS.partitionKey, KeyType: 'HASH' },
      { AttributeName: INCIDENTS.sortKey, KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** {@link IncidentStore} over DynamoDB. */
export class DynamoIncidentStore implements IncidentStore {
  readonly description: string;
  readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;

  constructor(props: DynamoIncidentStoreProps) {
    this.tableName = props.tableName;
    this.description = `dynamodb:${props.tableName}`;
    this.doc =
      props.client instanceof DynamoDBDocumentClient
        ? props.client
        : DynamoDBDocumentClient.from(props.client, { marshallOptions: { removeUndefinedValues: true } });
  }

  create(incident: Incident): Promise<boolean> {
    return this.conditionalPut(incident, 'attribute_not_exists(#pk)', { '#pk': INCIDENTS.partitionKey });
  }

  async get(id: string): Promise<Incident | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: {
          [INCIDENTS.partitionKey]: INCIDENTS.incidentPk(id),
          [INCIDENTS.sortKey]: INCIDENTS.incidentSk,
        },
        ConsistentRead: true,
      }),
    );
    return out.Item ? parseIncident(out.Item, `${this.description} ${id}`) : undefined;
  }

  /** Every incident (a scan: the table holds incidents only, a few a year). */
  async list(): Promise<Incident[]> {
    const out: Incident[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? [])
        if (item[INCIDENTS.sortKey] === INCIDENTS.incidentSk)
          out.push(parseIncident(item, `${this.description} ${String(item[INCIDENTS.partitionKey])}`));
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort(byNewestDetection);
  }

  update(incident: Incident, expectedVersion: number): Promise<boolean> {
    return this.conditionalPut(
      incident,
      '#version = :expected',
      { '#version': 'version' },
      {
        ':expected': expectedVersion,
      },
    );
  }

  private async conditionalPut(
    incident: Incident,
    condition: string,
    names: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...incident,
            // The keys go last so that no record attribute can move the item.
            [INCIDENTS.partitionKey]: INCIDENTS.incidentPk(incident.id),
            [INCIDENTS.sortKey]: INCIDENTS.incidentSk,
          },
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (err) {
      // Matched by name: a second copy of the SDK in a bundle would defeat instanceof.
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw new Error(`incident store ${this.tableName}: ${(err as Error).message}`, { cause: err });
    }
  }
}
