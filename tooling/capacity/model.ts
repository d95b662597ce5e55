/**
 * The capacity model of one region's event path: pure arithmetic from a load (accounts, hits per second,
 * function instances) and the stage's settings to the figures each quota is checked against and the cost
 * per month. Every quota and price comes from `platform/quotas.ts`; every assumption is an input with a
 * documented default ({@link DEFAULT_ASSUMPTIONS}), so `npm run capacity` can say what it assumed.
 */
import {
  AWS_PRICES_USD,
  AWS_QUOTAS,
  LIMITS,
  REGIONAL_QUOTAS,
  SECONDS_PER_MONTH,
  type Location,
} from '../../platform';

/** What the model assumes unless told otherwise; each is a flag of `npm run capacity`. */
export interface Assumptions {
  /** Events per ingest request: 1 for pixel hits, up to `LIMITS.maxEventsPerBatch` for `/collect`. */
  readonly eventsPerRequest: number;
  /** Bytes of one stored event (a JSON line). */
  readonly eventBytes: number;
  /** Billed duration of one invocation, in ms: the README's cost table assumes 10 ms. */
  readonly durationMs: number;
  /**
   * How long one instance gathers requests into one sink batch, in ms. On Lambda an instance serves one
   * request at a time and each request waits for its events to be in the stream, so a batch is one
   * request: the default is the invocation's duration.
   */
  readonly batchMs?: number;
  /**
   * Partitions (account and day) an active account holds within one buffer interval. The day is the day
   * received, so in the interval after midnight UTC an account's two days are both active: the default, 2,
   * sizes for that peak; 1 is the rest of the day.
   */
  readonly partitionsPerAccount: number;
  /** Mean life of a function instance, in minutes: scale-in and scale-out replace instances this often. */
  readonly instanceLifetimeMinutes: number;
  /** Seconds a branch-key version lives before rotation (the KMS reduction). */
  readonly branchKeyRotationSeconds: number;
  /** Firehose's buffering interval, in seconds (`EventStream`'s default). */
  readonly bufferSeconds: number;
  /** Directory look-ups per account per status-cache period: its API key and its account record. */
  readonly statusReadsPerAccount: number;
}

/** The defaults of {@link Assumptions}. */
export const DEFAULT_ASSUMPTIONS: Assumptions = {
  eventsPerRequest: 1,
  eventBytes: 600,
  durationMs: 10,
  partitionsPerAccount: 2,
  instanceLifetimeMinutes: 15,
  branchKeyRotationSeconds: LIMITS.branchKeyRotationSeconds,
  bufferSeconds: 300,
  statusReadsPerAccount: 2,
};

/** The stage's settings that the figures depend on (from `cdk.json` or flags). */
export interface StageSettings {
  /** Firehose streams per region (`eventStreams`). */
  readonly streams: number;
  /** Active-partition quota per stream (`firehoseActivePartitionQuota`). */
  readonly partitionQuota: number;
  /** Memory of the ingest function, in MiB. */
  readonly memoryMb: number;
  /** Reserved concurrency of the ingest function per region. */
  readonly reservedConcurrency: number;
}

/** One load to evaluate. */
export interface Load {
  /** Accounts that send hits to the region within one buffer interval. */
  readonly accounts: number;
  /** Events per second reaching the region. */
  readonly hitsPerSecond: number;
  /** Function instances; default: the mean concurrency, rounded up. */
  readonly instances?: number;
}

/** Everything the model computes for one region and load. */
export interface RegionFigures {
  readonly location: Location;
  readonly load: Load;
  readonly lambda: {
    readonly requestsPerSecond: number;
    /** Mean concurrent executions: requests per second × duration. */
    readonly concurrency: number;
    /** The lower of the reserved concurrency and the account's quota. */
    readonly concurrencyLimit: number;
    readonly instances: number;
    readonly coldStartsPerSecond: number;
  };
  readonly kms: {
    /** Per-account data keys unwrapped per instance and cache period (today). */
    readonly beforePerSecond: number;
    /** A KMS-wrapped branch key per location, account keys sealed under it (the reduction). */
    readonly afterPerSecond: number;
    readonly quotaPerSecond: number;
    /** Distinct accounts one instance meets within a data-key cache period. */
    readonly accountsSeenPerInstance: number;
  };
  readonly directory: {
    readonly readsPerSecond: number;
    readonly readUnitsPerSecond: number;
    readonly readUnitQuota: number;
  };
  readonly firehose: {
    /** Events packed into one record (same account, same sink batch, within 5 KiB). */
    readonly eventsPerRecord: number;
    readonly recordsPerSecond: number;
    readonly bytesPerSecond: number;
    /** PutRecordBatch calls per second over all streams. */
    readonly requestsPerSecond: number;
    readonly streams: number;
    readonly activePartitions: number;
    /** Active partitions of the busiest stream (the hash spreads accounts unevenly). */
    readonly busiestStreamPartitions: number;
    readonly partitionQuota: number;
    /** Fewest streams whose busiest one stays within the partition quota. */
    readonly streamsForPartitions: number;
    /** Fewest streams that share the PUT calls, records and bytes within each stream's throughput quota. */
    readonly streamsForThroughput: number;
    /** The larger of the two. */
    readonly streamsNeeded: number;
    /** Objects delivered to S3 per second, at the day's average of one partition per account. */
    readonly objectsPerSecond: number;
  };
  readonly costPerMonth: CostPerMonth;
}

/** Cost per month in US dollars, by term. */
export interface CostPerMonth {
  readonly lambda: number;
  readonly firehoseIngestion: number;
  readonly firehosePartitioning: number;
  readonly s3Puts: number;
  readonly kmsBefore: number;
  readonly kmsAfter: number;
  readonly dynamoDb: number;
  /** Everything, with the KMS reduction. */
  readonly totalAfter: number;
  /** Everything, without it. */
  readonly totalBefore: number;
}

/**
 * Distinct accounts met in `draws` requests spread evenly and at random over `accounts` accounts:
 * `accounts × (1 − (1 − 1/accounts)^draws)`. Even spreading is the worst case for caches and partitions.
 */
export function distinctSeen(accounts: number, draws: number): number {
  if (accounts <= 0 || draws <= 0) return 0;
  if (accounts === 1) return 1;
  return accounts * -Math.expm1(draws * Math.log1p(-1 / accounts));
}

/**
 * Active partitions of the busiest of `streams` streams when `partitions` are hashed over them: the mean
 * plus three standard deviations of the binomial spread, at most all of them.
 */
export function busiestStream(partitions: number, streams: number): number {
  const mean = partitions / streams;
  if (streams <= 1) return partitions;
  return Math.min(partitions, mean + 3 * Math.sqrt(mean * (1 - 1 / streams)));
}

/** Fewest streams whose busiest one holds at most `quota` of `partitions` (Infinity past 10,000). */
export function streamsNeeded(partitions: number, quota: number): number {
  for (let n = 1; n <= 10_000; n++) if (busiestStream(partitions, n) <= quota) return n;
  return Infinity;
}

/** The figures of one region for one load, with the stage's settings and the assumptions. */
export function regionFigures(
  location: Location,
  load: Load,
  stage: StageSettings,
  assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
): RegionFigures {
  const a = assumptions;
  const quotas = REGIONAL_QUOTAS[location];
  const { accounts, hitsPerSecond } = load;

  const requestsPerSecond = hitsPerSecond / a.eventsPerRequest;
  const concurrency = (requestsPerSecond * a.durationMs) / 1000;
  const instances = load.instances ?? Math.max(1, Math.ceil(concurrency));
  const coldStartsPerSecond = instances / (a.instanceLifetimeMinutes * 60);
  const perInstance = requestsPerSecond / instances;

  // Today: each instance unwraps each account's data key once per cache period; a fresh instance
  // unwraps every account it meets in its first minute on top (an upper bound: it overlaps the steady term).
  const cachePeriod = LIMITS.dataKeyCacheSeconds;
  const seenPerCachePeriod = distinctSeen(accounts, perInstance * cachePeriod);
  const seenPerMinute = distinctSeen(accounts, perInstance * 60);
  const kmsBefore = (instances * seenPerCachePeriod) / cachePeriod + coldStartsPerSecond * seenPerMinute;
  // The reduction: one unwrap of the branch key per fresh instance and per instance and rotation, and at
  // most one KMS call per account and rotation, region-wide: an account whose copy is sealed under a
  // retired branch key has its data key unwrapped once and sealed again.
  const kmsAfter = coldStartsPerSecond + (instances + accounts) / a.branchKeyRotationSeconds;

  const statusPeriod = LIMITS.keyStatusCacheSeconds;
  const seenPerStatusPeriod = distinctSeen(accounts, perInstance * statusPeriod);
  const directoryReads =
    (instances * seenPerStatusPeriod * a.statusReadsPerAccount) / statusPeriod +
    (instances * seenPerCachePeriod) / cachePeriod +
    coldStartsPerSecond;

  const batchMs = a.batchMs ?? a.durationMs;
  const requestsPerBatch = Math.max(1, (perInstance * batchMs) / 1000);
  const accountsPerBatch = Math.max(1, distinctSeen(accounts, requestsPerBatch));
  const eventsPerAccountInBatch = (requestsPerBatch * a.eventsPerRequest) / accountsPerBatch;
  const increment = LIMITS.firehoseBillingIncrementBytes;
  const fitPerRecord = Math.max(1, Math.floor(increment / a.eventBytes));
  const eventsPerRecord = Math.max(1, Math.min(eventsPerAccountInBatch, fitPerRecord));
  const recordsPerSecond = hitsPerSecond / eventsPerRecord;
  const bytesPerSecond = hitsPerSecond * a.eventBytes;
  const recordsPerBatch = (requestsPerBatch * a.eventsPerRequest) / eventsPerRecord;
  // A batch holds one call per stream it touches, and more when it passes PutRecordBatch's record limit.
  const callsPerBatch = Math.max(
    distinctSeen(stage.streams, accountsPerBatch),
    Math.ceil(recordsPerBatch / LIMITS.firehoseMaxRecords),
  );
  const firehoseRequests = (requestsPerSecond / requestsPerBatch) * callsPerBatch;
  const activePartitions = accounts * a.partitionsPerAccount;
  // Objects (and so cost) follow the day's average, one partition per account and buffer interval; the
  // midnight peak of two only sizes the partition quota.
  const bytesPerAccountPerBuffer = (bytesPerSecond * a.bufferSeconds) / accounts;
  const objectsPerBuffer =
    accounts === 0 ? 0 : accounts * Math.max(1, Math.ceil(bytesPerAccountPerBuffer / (64 * 1024 * 1024)));
  const objectsPerSecond = objectsPerBuffer / a.bufferSeconds;

  const throughput = quotas.firehoseStream;
  const streamsForThroughput = Math.max(
    1,
    Math.ceil(firehoseRequests / throughput.requestsPerSecond),
    Math.ceil(recordsPerSecond / throughput.recordsPerSecond),
    Math.ceil(bytesPerSecond / throughput.bytesPerSecond),
  );
  const streamsForPartitions = streamsNeeded(activePartitions, stage.partitionQuota);

  const costPerMonth = monthlyCost({
    requestsPerSecond,
    memoryMb: stage.memoryMb,
    durationMs: a.durationMs,
    billedBytesPerSecond:
      recordsPerSecond * increment * Math.ceil((eventsPerRecord * a.eventBytes) / increment),
    bytesPerSecond,
    objectsPerSecond,
    kmsBefore,
    kmsAfter,
    readUnitsPerSecond: directoryReads * AWS_QUOTAS.dynamoDbEventuallyConsistentReadUnits,
  });

  return {
    location,
    load,
    lambda: {
      requestsPerSecond,
      concurrency,
      concurrencyLimit: Math.min(stage.reservedConcurrency, AWS_QUOTAS.lambdaAccountConcurrency),
      instances,
      coldStartsPerSecond,
    },
    kms: {
      beforePerSecond: kmsBefore,
      afterPerSecond: kmsAfter,
      quotaPerSecond: quotas.kmsSymmetricRequestsPerSecond,
      accountsSeenPerInstance: seenPerCachePeriod,
    },
    directory: {
      readsPerSecond: directoryReads,
      readUnitsPerSecond: directoryReads * AWS_QUOTAS.dynamoDbEventuallyConsistentReadUnits,
      readUnitQuota: AWS_QUOTAS.dynamoDbTableReadUnitsPerSecond,
    },
    firehose: {
      eventsPerRecord,
      recordsPerSecond,
      bytesPerSecond,
      requestsPerSecond: firehoseRequests,
      streams: stage.streams,
      activePartitions,
      busiestStreamPartitions: busiestStream(activePartitions, stage.streams),
      partitionQuota: stage.partitionQuota,
      streamsForPartitions,
      streamsForThroughput,
      streamsNeeded: Math.max(streamsForPartitions, streamsForThroughput),
      objectsPerSecond,
    },
    costPerMonth,
  };
}

interface CostInputs {
  readonly requestsPerSecond: number;
  readonly memoryMb: number;
  readonly durationMs: number;
  readonly billedBytesPerSecond: number;
  readonly bytesPerSecond: number;
  readonly objectsPerSecond: number;
  readonly kmsBefore: number;
  readonly kmsAfter: number;
  readonly readUnitsPerSecond: number;
}

const GB = 1024 ** 3;

/** Cost per month of a steady load, at us-east-1 list prices. */
export function monthlyCost(c: CostInputs): CostPerMonth {
  const p = AWS_PRICES_USD;
  const month = SECONDS_PER_MONTH;
  const requests = c.requestsPerSecond * month;
  const lambda =
    requests * p.lambdaPerRequest +
    requests * (c.durationMs / 1000) * (c.memoryMb / 1024) * p.lambdaArmPerGbSecond;
  const firehoseIngestion = ((c.billedBytesPerSecond * month) / GB) * p.firehoseIngestionPerGb;
  const objects = c.objectsPerSecond * month;
  const firehosePartitioning =
    ((c.bytesPerSecond * month) / GB) * p.firehosePartitioningPerGb +
    objects * p.firehosePartitioningPerObject;
  const s3Puts = objects * p.s3PerPut;
  // One key per region; the branch key is a directory item, not a KMS key.
  const kmsBefore = c.kmsBefore * month * p.kmsPerRequest + p.kmsPerKeyMonth;
  const kmsAfter = c.kmsAfter * month * p.kmsPerRequest + p.kmsPerKeyMonth;
  const dynamoDb = c.readUnitsPerSecond * month * p.dynamoDbPerReadUnit;
  const common = lambda + firehoseIngestion + firehosePartitioning + s3Puts + dynamoDb;
  return {
    lambda,
    firehoseIngestion,
    firehosePartitioning,
    s3Puts,
    kmsBefore,
    kmsAfter,
    dynamoDb,
    totalBefore: common + kmsBefore,
    totalAfter: common + kmsAfter,
  };
}
