/**
 * The AWS quotas and list prices that the capacity model (`npm run capacity`) reasons with, each written
 * once with where it comes from and when it was read. Quotas are the defaults of a fresh account (all of
 * them can be raised on request); prices are us-east-1 list prices. Plain data: change a figure here and
 * the model, its table and its tests follow.
 */
import type { Location } from './definition';

/** Firehose Direct PUT throughput of one stream (PutRecord and PutRecordBatch combined). */
export interface FirehoseStreamThroughput {
  /** Records per second. */
  readonly recordsPerSecond: number;
  /** PutRecord or PutRecordBatch calls per second. */
  readonly requestsPerSecond: number;
  /** Bytes per second (the quota is in MiB/s). */
  readonly bytesPerSecond: number;
}

/** The quotas that differ from one region to another. */
export interface RegionalQuotas {
  /**
   * KMS "Cryptographic operations (symmetric) request rate": Decrypt, Encrypt, GenerateDataKey and the
   * rest share it, per account and region, requests per second.
   */
  readonly kmsSymmetricRequestsPerSecond: number;
  /** Firehose Direct PUT throughput per stream. */
  readonly firehoseStream: FirehoseStreamThroughput;
}

const MIB = 1024 * 1024;

// Firehose Direct PUT throughput: "Amazon Data Firehose Quota" (docs.aws.amazon.com/firehose/latest/dev/
// limits.html), read 2026-12: 500,000 records/s, 2,000 requests/s and 5 MiB/s per stream in us-east-1,
// us-west-2 and eu-west-1; 100,000 records/s, 1,000 requests/s and 1 MiB/s in the other regions.
const FIREHOSE_LARGE_REGION: FirehoseStreamThroughput = {
  recordsPerSecond: 500_000,
  requestsPerSecond: 2_000,
  bytesPerSecond: 5 * MIB,
};
const FIREHOSE_OTHER_REGION: FirehoseStreamThroughput = {
  recordsPerSecond: 100_000,
  requestsPerSecond: 1_000,
  bytesPerSecond: 1 * MIB,
};

/**
 * Per-location quotas, for the AWS region of each location (`REGIONS` in definition.ts). KMS: "Request
 * quotas" of the AWS KMS Developer Guide (docs.aws.amazon.com/kms/latest/developerguide/
 * requests-per-second.html), read 2026-12: 100,000 requests/s shared in us-east-1, us-west-2 and eu-west-1;
 * 20,000 in us-east-2, ap-southeast-1, ap-southeast-2, ap-northeast-1, eu-central-1 and eu-west-2; 10,000
 * elsewhere.
 */
export const REGIONAL_QUOTAS: Readonly<Record<Location, RegionalQuotas>> = {
  americas: { kmsSymmetricRequestsPerSecond: 100_000, firehoseStream: FIREHOSE_LARGE_REGION },
  europe: { kmsSymmetricRequestsPerSecond: 100_000, firehoseStream: FIREHOSE_LARGE_REGION },
  apac: { kmsSymmetricRequestsPerSecond: 20_000, firehoseStream: FIREHOSE_OTHER_REGION },
};

/** Quotas that are the same in every region. */
export const AWS_QUOTAS = {
  /**
   * Lambda concurrent executions per account and region, the default of "Lambda quotas"
   * (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) as of 2026-12. Every function of the
   * account shares it.
   */
  lambdaAccountConcurrency: 1_000,
  /**
   * DynamoDB on-demand read request units per second per table (and per replica): "Quotas in Amazon
   * DynamoDB" and "DynamoDB maximum throughput for on-demand tables" (docs.aws.amazon.com/amazondynamodb/
   * latest/developerguide/ServiceQuotas.html), read 2026-12.
   */
  dynamoDbTableReadUnitsPerSecond: 40_000,
  /**
   * Read request units of one eventually consistent GetItem of up to 4 KB (a strongly consistent one costs
   * 1): the same DynamoDB guide, "Read consumption for on-demand mode", read 2026-12.
   */
  dynamoDbEventuallyConsistentReadUnits: 0.5,
} as const;

/**
 * us-east-1 list prices in US dollars. Lambda's and Firehose's are those of the README's cost table; KMS's,
 * S3's and DynamoDB's on-demand prices (since the November 2024 cut) are the services' pricing pages
 * (aws.amazon.com/<service>/pricing) as of 2026-12. Other regions' prices differ: the model prices every
 * region at these, and says so.
 */
export const AWS_PRICES_USD = {
  /** Lambda: per request ($0.20 per million). */
  lambdaPerRequest: 0.2 / 1e6,
  /** Lambda on Arm (Graviton, as the functions run): per GB-second, first 7.5 billion GB-s a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  /**
   * Firehose Direct PUT ingestion: per GB ingested, first 500 TB a month; each record is rounded up to
   * `LIMITS.firehoseBillingIncrementBytes` (5 KB).
   */
  firehoseIngestionPerGb: 0.029,
  /** Firehose dynamic partitioning: per GB processed. */
  firehosePartitioningPerGb: 0.02,
  /** Firehose dynamic partitioning: per object delivered to S3 ($0.005 per 1,000). */
  firehosePartitioningPerObject: 0.005 / 1000,
  /**
   * Firehose dynamic partitioning: per JQ processing hour. Billed by the JQ engine's processing time,
   * which only the bill shows, so the model lists the price but does not estimate the hours.
   */
  firehoseJqPerHour: 0.07,
  /** S3 Standard: per PUT (Firehose writes one object per delivery; $0.005 per 1,000). */
  s3PerPut: 0.005 / 1000,
  /** KMS: per request ($0.03 per 10,000). */
  kmsPerRequest: 0.03 / 10_000,
  /** KMS: per customer managed key and month. */
  kmsPerKeyMonth: 1,
  /** DynamoDB on-demand: per read request unit ($0.125 per million). */
  dynamoDbPerReadUnit: 0.125 / 1e6,
  /** DynamoDB on-demand: per write request unit ($0.625 per million). */
  dynamoDbPerWriteUnit: 0.625 / 1e6,
} as const;

/** Seconds in the month that the prices are quoted for (730 hours, as AWS's calculator counts). */
export const SECONDS_PER_MONTH = 730 * 3600;
