/**
 * The purge world on a real moto_server: a versioned event bucket in each of the three regions (created
 * with a client of that region), an Object Lock receipts bucket, the DynamoDB directory table, a KMS key
 * per region wrapping the data keys, and accounts in every standing with versions and delete markers.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCATIONS, REGIONS, type Location } from '../../platform';
import type { DataKeyService } from '../../services/ingest/src/crypto/data-keys';
import { KmsKeyProvider } from '../../services/ingest/src/crypto/kms-key-provider';
import { DynamoDirectory, directoryTableDefinition } from '../../services/shared/directory/dynamo-directory';
import { receiptsBucketDefinition } from '../../services/purge/src/aws/s3-receipt-store';
import { parsePurgeEnv, eventBucketVariable, type PurgeEnv } from '../../platform/contracts/purge-env';
import {
  createPurgeRuntime,
  type PurgeRuntime,
  type PurgeRuntimeOptions,
} from '../../services/purge/src/runtime';
import {
  NOW,
  createVersionedBucket,
  seedAccountObjects,
  seedDirectory,
  worldAccounts,
  type SeededObjects,
  type WorldAccount,
} from './purge-world';
import { motoClientConfig } from '../../tooling/moto';

/** A seeded world on moto. */
export interface AwsWorld {
  readonly table: string;
  readonly buckets: Readonly<Record<Location, string>>;
  readonly receiptsBucket: string;
  /** One S3 client per location, in its region. */
  readonly s3: Readonly<Record<Location, S3Client>>;
  /** S3 client of the receipts bucket's region (us-east-1). */
  readonly receiptsS3: S3Client;
  readonly directory: DynamoDirectory;
  readonly accounts: Record<string, WorldAccount>;
  /** The KMS key of each location that wraps its data keys. */
  readonly kmsKeyIds: Readonly<Record<Location, string>>;
  /** Data key services of the seeding, one per location (KMS in that region). */
  readonly keys: Record<string, DataKeyService>;
  /** What was seeded, per account and location. */
  readonly objects: Readonly<Record<string, Readonly<Record<Location, SeededObjects>>>>;
  /** The purge environment of this world. */
  env(extra?: Record<string, string>): PurgeEnv;
  /** The purge runtime over this world, its clients pointed at moto, its clock at `now`. */
  runtime(options?: PurgeRuntimeOptions): Promise<PurgeRuntime>;
}

/** Client settings for moto without a region (the runtime sets each client's own). */
export function motoSettings(endpoint: string): Record<string, unknown> {
  const { region: _region, ...rest } = motoClientConfig(endpoint);
  return rest;
}

/**
 * Creates and seeds a world with unique names (several test files share one moto).
 * @param options.pick which accounts of {@link worldAccounts} to seed (all by default)
 * @param options.extra accounts seeded besides those, like them
 */
export async function awsWorld(
  endpoint: string,
  options: {
    now?: Date;
    pick?: (a: WorldAccount) => boolean;
    extra?: readonly WorldAccount[];
    bucketSetup?: (location: Location) => 'versioned' | 'object-lock';
  } = {},
): Promise<AwsWorld> {
  const now = options.now ?? NOW;
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const table = `purge-dir-${suffix}`;
  const receiptsBucket = `purge-receipts-${suffix}`;
  const buckets = Object.fromEntries(LOCATIONS.map((l) => [l, `purge-${l}-${suffix}`])) as Record<
    Location,
    string
  >;
  const s3 = Object.fromEntries(
    LOCATIONS.map((l) => [l, new S3Client(motoClientConfig(endpoint, REGIONS[l].aws))]),
  ) as Record<Location, S3Client>;
  const receiptsS3 = new S3Client(motoClientConfig(endpoint, 'us-east-1'));
  // The directory is a global table; moto keeps one table per region, so it lives where the job looks
  // (TS_LOCATION americas, and the CLI's primary location): us-east-1.
  const ddb = new DynamoDBClient(motoClientConfig(endpoint, 'us-east-1'));

  await ddb.send(new CreateTableCommand(directoryTableDefinition(table)));
  await receiptsS3.send(new CreateBucketCommand(receiptsBucketDefinition(receiptsBucket, 'us-east-1')));
  for (const l of LOCATIONS) {
    const region = REGIONS[l].aws;
    if (options.bucketSetup?.(l) === 'object-lock') {
      await s3[l].send(new CreateBucketCommand(receiptsBucketDefinition(buckets[l], region)));
    } else {
      await createVersionedBucket(s3[l], buckets[l], region);
    }
  }
  const providers: Record<string, KmsKeyProvider> = {};
  const kmsKeyIds = {} as Record<Location, string>;
  for (const l of LOCATIONS) {
    const kms = new KMSClient(motoClientConfig(endpoint, REGIONS[l].aws));
    const keyId = (await kms.send(new CreateKeyCommand({ Description: `purge test ${l}` }))).KeyMetadata!
      .KeyId!;
    providers[l] = new KmsKeyProvider({ client: kms, keyId });
    kmsKeyIds[l] = keyId;
  }
  const directory = new DynamoDirectory({ client: ddb, tableName: table });
  const accounts: Record<string, WorldAccount> = {
    ...worldAccounts(now),
    ...Object.fromEntries((options.extra ?? []).map((a) => [a.id, a])),
  };
  const extraIds = new Set((options.extra ?? []).map((a) => a.id));
  const chosen = Object.values(accounts).filter(
    (a) => extraIds.has(a.id) || (options.pick ?? (() => true))(a),
  );
  const keys = await seedDirectory(directory, chosen, providers);
  const objects: Record<string, Record<Location, SeededObjects>> = {};
  for (const a of chosen) {
    if (a.status === 'purged') continue;
    const perLocation = {} as Record<Location, SeededObjects>;
    for (const l of LOCATIONS) perLocation[l] = await seedAccountObjects(s3[l], buckets[l], a.id, keys[l]!);
    objects[a.id] = perLocation;
  }
  const env = (extra: Record<string, string> = {}) =>
    parsePurgeEnv({
      TS_STAGE: 'dev',
      TS_LOCATION: 'americas',
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: table,
      TS_OBJECT_STORE: 's3',
      ...Object.fromEntries(LOCATIONS.map((l) => [eventBucketVariable(l), buckets[l]])),
      TS_RECEIPT_STORE: 's3',
      TS_RECEIPTS_BUCKET: receiptsBucket,
      TS_RECEIPTS_REGION: 'us-east-1',
      ...extra,
    });
  return {
    table,
    buckets,
    receiptsBucket,
    s3,
    receiptsS3,
    directory,
    accounts,
    kmsKeyIds,
    keys,
    objects,
    env,
    runtime: (runtimeOptions = {}) =>
      createPurgeRuntime(env(), {
        awsClientConfig: motoSettings(endpoint),
        ...runtimeOptions,
        job: { now: () => now, sleep: async () => undefined, ...runtimeOptions.job },
      }),
  };
}
