/**
 * Stand-ins for what moto's CloudFormation skips but the data path needs: the Firehose delivery streams and
 * the DynamoDB global table, created through their service APIs from the templates' own (resolved)
 * properties, labelled as stand-ins in the report, and checked like deployed resources.
 */
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  type CreateDeliveryStreamCommandInput,
} from '@aws-sdk/client-firehose';
import { GetKeyRotationStatusCommand } from '@aws-sdk/client-kms';
import { GetBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { CheckList, attempt, type Check } from './check-list';
import { keyIdOf, regionClients, type RegionClients } from './moto-clients';
import type { DeployedStack } from './template';

/** A resource deploy-local created through its service API because moto's CloudFormation skipped it. */
export interface StandIn {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly region: string;
  readonly name: string;
}

/**
 * Creates a Firehose delivery stream from the template's properties and checks that it points at the
 * deployed bucket and key; records its checks in `checks`.
 */
export async function createStreamStandIn(
  stack: DeployedStack,
  logicalId: string,
  props: Record<string, unknown>,
  clients: RegionClients,
  checks: Check[],
): Promise<StandIn> {
  // CloudFormation's property names for a delivery stream are the API's, so the resolved properties are the
  // request; only the API's tag list is shaped differently and left out.
  const { Tags: _tags, ...input } = props;
  await clients.firehose.send(
    new CreateDeliveryStreamCommand(input as unknown as CreateDeliveryStreamCommandInput),
  );
  const name = String(props.DeliveryStreamName);
  const out = await clients.firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }));
  const d = out.DeliveryStreamDescription;
  const c = new CheckList(stack, logicalId, 'AWS::KinesisFirehose::DeliveryStream', true);
  const s3 = props.ExtendedS3DestinationConfiguration as Record<string, unknown> | undefined;
  const dest = d?.Destinations?.[0]?.ExtendedS3DestinationDescription;
  c.add('DeliveryStreamStatus', 'ACTIVE', d?.DeliveryStreamStatus);
  c.add('ExtendedS3 BucketARN', s3?.BucketARN, dest?.BucketARN);
  c.add('ExtendedS3 Prefix', s3?.Prefix, dest?.Prefix);
  const bucket = String(s3?.BucketARN ?? '').replace(/^arn:aws:s3:::/, '');
  const head = await attempt(() => clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })));
  c.add('destination bucket exists (deployed)', bucket, head ? bucket : undefined, !!head);
  const cmk = (props.DeliveryStreamEncryptionConfigurationInput as { KeyARN?: string } | undefined)?.KeyARN;
  if (cmk) {
    const keyId = await attempt(() => keyIdOf(clients.kms, cmk));
    c.add('encryption key exists (deployed)', cmk, keyId, !!keyId);
  }
  checks.push(...c.items);
  return {
    stack: stack.id,
    logicalId,
    type: 'AWS::KinesisFirehose::DeliveryStream',
    region: stack.region,
    name,
  };
}

/**
 * Creates the global table as one regional table per replica (moto has no global tables), each with the
 * replica's key, recovery period and the table's time-to-live, and checks them; records its checks in
 * `checks`.
 */
export async function createGlobalTableStandIns(
  stack: DeployedStack,
  logicalId: string,
  props: Record<string, unknown>,
  endpoint: string,
  checks: Check[],
): Promise<StandIn[]> {
  type Replica = {
    Region: string;
    SSESpecification?: { KMSMasterKeyId?: string };
    PointInTimeRecoverySpecification?: {
      PointInTimeRecoveryEnabled?: boolean;
      RecoveryPeriodInDays?: number;
    };
    DeletionProtectionEnabled?: boolean;
  };
  const replicas = (props.Replicas as Replica[] | undefined) ?? [{ Region: stack.region }];
  const sse = props.SSESpecification as { SSEEnabled?: boolean; SSEType?: string } | undefined;
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
  const tableName = String(props.TableName);
  const standIns: StandIn[] = [];
  // moto has no global tables (UpdateTable ReplicaUpdates is accepted and does nothing), so every replica
  // becomes its own regional table, encrypted as the template says for that region.
  for (const replica of replicas) {
    const clients = regionClients(endpoint, replica.Region);
    const input: CreateTableCommandInput = {
      TableName: tableName,
      AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
      KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
      BillingMode: (props.BillingMode as CreateTableCommandInput['BillingMode']) ?? 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes:
        props.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
      StreamSpecification: stream?.StreamViewType
        ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES' }
        : undefined,
      SSESpecification: sse?.SSEEnabled
        ? { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: replica.SSESpecification?.KMSMasterKeyId }
        : undefined,
      DeletionProtectionEnabled: replica.DeletionProtectionEnabled,
    };
    await clients.ddb.send(new CreateTableCommand(input));
    const pitr = replica.PointInTimeRecoverySpecification;
    if (pitr?.PointInTimeRecoveryEnabled)
      await clients.ddb.send(
        new UpdateContinuousBackupsCommand({
          TableName: tableName,
          PointInTimeRecoverySpecification: {
            PointInTimeRecoveryEnabled: true,
            RecoveryPeriodInDays: pitr.RecoveryPeriodInDays,
          },
        }),
      );
    // A global table has one time-to-live, which every replica applies.
    if (ttl?.Enabled && ttl.AttributeName)
      await clients.ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    const c = new CheckList(
      { ...stack, id: `${stack.id} replica ${replica.Region}` },
      logicalId,
      'AWS::DynamoDB::GlobalTable',
      true,
    );
    const table = (await clients.ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    c.add('TableStatus', 'ACTIVE', table?.TableStatus);
    const wantKey = replica.SSESpecification?.KMSMasterKeyId;
    if (wantKey) {
      // The template names another region's key by alias ARN: that alias must exist in that region and
      // point at the key that region's stack deployed, with rotation on.
      const keyId = await attempt(() => keyIdOf(clients.kms, wantKey));
      const rotation = keyId
        ? await attempt(() => clients.kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId })))
        : undefined;
      c.add(
        `replica key ${wantKey}`,
        'a deployed key with rotation on',
        keyId ? `key ${keyId}, rotation ${rotation?.KeyRotationEnabled}` : 'no such key or alias',
        !!keyId && rotation?.KeyRotationEnabled === true,
      );
    }
    if (pitr?.PointInTimeRecoveryEnabled) {
      const backups = await clients.ddb.send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
      const described = backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
      c.add('PointInTimeRecovery', 'ENABLED', described?.PointInTimeRecoveryStatus);
      if (pitr.RecoveryPeriodInDays !== undefined)
        c.add(
          'PointInTimeRecovery RecoveryPeriodInDays',
          pitr.RecoveryPeriodInDays,
          described?.RecoveryPeriodInDays,
        );
    }
    if (ttl?.Enabled) {
      const described = (await clients.ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName })))
        .TimeToLiveDescription;
      c.add('TimeToLiveSpecification', ttl, {
        AttributeName: described?.AttributeName,
        Enabled: described?.TimeToLiveStatus === 'ENABLED',
      });
    }
    checks.push(...c.items);
    standIns.push({
      stack: stack.id,
      logicalId,
      type: 'AWS::DynamoDB::GlobalTable',
      region: replica.Region,
      name: tableName,
    });
  }
  return standIns;
}
