/**
 * The capacity model's arithmetic on cases worked by hand, the binding-quota detection (one case where
 * each of KMS, Firehose partitions and Lambda concurrency binds) and monotonicity.
 */
import { AWS_PRICES_USD, LIMITS, REGIONAL_QUOTAS, SECONDS_PER_MONTH } from '../../../platform';
import { bindingQuota, checkQuotas } from '../../../tooling/capacity/bounds';
import {
  busiestStream,
  DEFAULT_ASSUMPTIONS,
  distinctSeen,
  monthlyCost,
  regionFigures,
  streamsNeeded,
  type Assumptions,
  type StageSettings,
} from '../../../tooling/capacity/model';

const STAGE: StageSettings = { streams: 1, partitionQuota: 500, memoryMb: 1024, reservedConcurrency: 200 };
/** No instance is ever replaced: the steady-state terms alone. */
const NO_CHURN: Assumptions = { ...DEFAULT_ASSUMPTIONS, instanceLifetimeMinutes: Infinity };

describe('distinctSeen', () => {
  test.each([
    [1, 5, 1],
    [1000, 0, 0],
    [0, 10, 0],
  ])('%d accounts, %d draws: %d', (accounts, draws, expected) => {
    expect(distinctSeen(accounts, draws)).toBe(expected);
  });

  test('a few draws over many accounts meet about as many accounts; many draws meet them all', () => {
    expect(distinctSeen(1_000_000, 10)).toBeCloseTo(10, 3);
    expect(distinctSeen(100, 100_000)).toBeCloseTo(100, 9);
    // 1 − (1 − 1/2)^2 = 3/4 of 2 accounts.
    expect(distinctSeen(2, 2)).toBeCloseTo(1.5, 12);
  });
});

describe('regionFigures', () => {
  test('KMS before = instances × accounts / 300 when every instance meets every account', () => {
    // 10 accounts, 10 instances each serving 1,000 requests/s: each meets all 10 within the cache period.
    const f = regionFigures(
      'americas',
      { accounts: 10, hitsPerSecond: 10_000, instances: 10 },
      STAGE,
      NO_CHURN,
    );
    expect(f.kms.accountsSeenPerInstance).toBeCloseTo(10, 9);
    expect(f.kms.beforePerSecond).toBeCloseTo((10 * 10) / LIMITS.dataKeyCacheSeconds, 9);
  });

  test('cold starts add every account a fresh instance meets in its first minute', () => {
    const churn = { ...NO_CHURN, instanceLifetimeMinutes: 15 };
    const f = regionFigures('americas', { accounts: 10, hitsPerSecond: 10_000, instances: 10 }, STAGE, churn);
    const coldStarts = 10 / (15 * 60);
    expect(f.lambda.coldStartsPerSecond).toBeCloseTo(coldStarts, 12);
    expect(f.kms.beforePerSecond).toBeCloseTo(100 / 300 + coldStarts * 10, 9);
  });

  test('KMS after = cold starts + (instances + accounts) per rotation', () => {
    const f = regionFigures(
      'europe',
      { accounts: 50_000, hitsPerSecond: 10_000, instances: 100 },
      STAGE,
      NO_CHURN,
    );
    expect(LIMITS.branchKeyRotationSeconds).toBe(86_400);
    expect(f.kms.afterPerSecond).toBeCloseTo((100 + 50_000) / 86_400, 12);
  });

  test('Lambda: concurrency = requests/s × duration; instances default to it, rounded up', () => {
    const f = regionFigures('apac', { accounts: 1000, hitsPerSecond: 1234 }, STAGE, {
      ...DEFAULT_ASSUMPTIONS,
      durationMs: 10,
      eventsPerRequest: 2,
    });
    expect(f.lambda.requestsPerSecond).toBe(617);
    expect(f.lambda.concurrency).toBeCloseTo(6.17, 12);
    expect(f.lambda.instances).toBe(7);
    expect(f.lambda.concurrencyLimit).toBe(200);
    expect(f.kms.quotaPerSecond).toBe(REGIONAL_QUOTAS.apac.kmsSymmetricRequestsPerSecond);
  });

  test('Firehose: one pixel per request is one record; a /collect batch of 20 packs 8 events of 600 bytes per record', () => {
    const pixels = regionFigures('americas', { accounts: 1000, hitsPerSecond: 1000 }, STAGE);
    expect(pixels.firehose.eventsPerRecord).toBe(1);
    expect(pixels.firehose.recordsPerSecond).toBe(1000);
    expect(pixels.firehose.requestsPerSecond).toBeCloseTo(1000, 9);

    const batches = regionFigures('americas', { accounts: 1000, hitsPerSecond: 1000 }, STAGE, {
      ...DEFAULT_ASSUMPTIONS,
      eventsPerRequest: 20,
    });
    // floor(5120 / 600) = 8 events per record; 20 events of one account per request.
    expect(batches.firehose.eventsPerRecord).toBe(8);
    expect(batches.firehose.recordsPerSecond).toBe(125);
    expect(batches.firehose.requestsPerSecond).toBeCloseTo(50, 9);
    expect(batches.firehose.bytesPerSecond).toBe(600_000);
  });

  test('partitions: accounts × partitions per account; the busiest stream and the streams needed', () => {
    const f = regionFigures(
      'americas',
      { accounts: 50_000, hitsPerSecond: 1000 },
      { ...STAGE, streams: 10 },
      {
        ...DEFAULT_ASSUMPTIONS,
        partitionsPerAccount: 2,
      },
    );
    expect(f.firehose.activePartitions).toBe(100_000);
    // mean 10,000 + 3 × sqrt(10,000 × 0.9) = 10,284.6
    expect(f.firehose.busiestStreamPartitions).toBeCloseTo(10_000 + 3 * Math.sqrt(9000), 6);
    expect(busiestStream(1000, 1)).toBe(1000);
    expect(streamsNeeded(500, 500)).toBe(1);
    expect(streamsNeeded(501, 500)).toBe(2);
    expect(streamsNeeded(50_000, 5000)).toBe(11);
    expect(streamsNeeded(50_000, 500)).toBeGreaterThan(LIMITS.maxEventStreams);
  });

  test('objects delivered: one per account and buffer interval, more when a buffer passes 64 MiB', () => {
    for (const partitionsPerAccount of [1, 2]) {
      const f = regionFigures('americas', { accounts: 1000, hitsPerSecond: 1000 }, STAGE, {
        ...DEFAULT_ASSUMPTIONS,
        partitionsPerAccount,
      });
      expect(f.firehose.objectsPerSecond).toBeCloseTo(1000 / 300, 9);
    }
    // One account at 10,000 × 600 bytes/s fills 1.8 GB per 300 s: 27 objects of at most 64 MiB.
    const busy = regionFigures('americas', { accounts: 1, hitsPerSecond: 10_000 }, STAGE);
    expect(busy.firehose.objectsPerSecond).toBeCloseTo(27 / 300, 9);
  });

  test('streams needed also covers the per-stream PUT call quota (1,000/s in ap-southeast-1)', () => {
    const f = regionFigures('apac', { accounts: 100, hitsPerSecond: 10_000 }, STAGE);
    expect(f.firehose.streamsForPartitions).toBe(1);
    expect(f.firehose.streamsForThroughput).toBe(10);
    expect(f.firehose.streamsNeeded).toBe(10);
  });
});

describe('monthlyCost', () => {
  test('per million requests it agrees with the README: $0.20 of requests and 10 ms × 0.5 GB of compute', () => {
    const perSecond = 1e6 / SECONDS_PER_MONTH;
    const c = monthlyCost({
      requestsPerSecond: perSecond,
      memoryMb: 512,
      durationMs: 10,
      billedBytesPerSecond: perSecond * LIMITS.firehoseBillingIncrementBytes,
      bytesPerSecond: 0,
      objectsPerSecond: 0,
      kmsBefore: 0,
      kmsAfter: 0,
      readUnitsPerSecond: 0,
    });
    expect(c.lambda).toBeCloseTo(0.2 + 5000 * AWS_PRICES_USD.lambdaArmPerGbSecond, 9);
    // 1M records of 5 KiB = 4.77 GiB at $0.029.
    expect(c.firehoseIngestion).toBeCloseTo(((1e6 * 5120) / 1024 ** 3) * 0.029, 9);
    expect(c.kmsBefore).toBe(AWS_PRICES_USD.kmsPerKeyMonth);
  });
});

describe('binding quota', () => {
  test('Firehose partitions bind at 250 accounts on one stream (500 partitions, two days each after midnight)', () => {
    const checks = checkQuotas('americas', { accounts: 1000, hitsPerSecond: 100 }, STAGE, 'before');
    const binding = bindingQuota(checks);
    expect(binding.quota).toBe('Firehose active partitions per stream');
    expect(binding.dimension).toBe('accounts');
    expect(binding.loadAtLimit).toBeCloseTo(250, 3);
    expect(binding.headroom).toBeCloseTo(0.25, 3);
    const restOfDay = { ...DEFAULT_ASSUMPTIONS, partitionsPerAccount: 1 };
    expect(
      bindingQuota(
        checkQuotas('americas', { accounts: 1000, hitsPerSecond: 100 }, STAGE, 'before', restOfDay),
      ).loadAtLimit,
    ).toBeCloseTo(500, 3);
  });

  test('Lambda concurrency binds at reserved concurrency / duration', () => {
    const stage = { ...STAGE, streams: 10, reservedConcurrency: 10 };
    const binding = bindingQuota(
      checkQuotas('americas', { accounts: 100, hitsPerSecond: 500 }, stage, 'after'),
    );
    expect(binding.quota).toBe('Lambda concurrency');
    // 10 concurrent executions of 10 ms each = 1,000 requests/s.
    expect(binding.loadAtLimit).toBeCloseTo(1000, 3);
  });

  test('KMS binds in ap-southeast-1 with many instances and short-lived ones; the branch key lifts it', () => {
    const stage = { ...STAGE, streams: 50, partitionQuota: 5000, reservedConcurrency: 1000 };
    const load = { accounts: 50_000, hitsPerSecond: 15_000, instances: 500 };
    const churn = { ...DEFAULT_ASSUMPTIONS, instanceLifetimeMinutes: 2 };
    const before = checkQuotas('apac', load, stage, 'before', churn);
    expect(bindingQuota(before).quota).toBe('KMS symmetric requests/s (before)');
    expect(bindingQuota(before).utilization).toBeGreaterThan(1);
    const after = checkQuotas('apac', load, stage, 'after', churn);
    expect(bindingQuota(after).quota).not.toMatch(/KMS/);
    const kmsAfter = after.find((c) => c.quota.startsWith('KMS'));
    expect(kmsAfter?.utilization).toBeLessThan(0.001);
  });
});

describe('monotonicity', () => {
  const accountSteps = [1, 10, 100, 1000, 5000, 10_000, 50_000, 200_000];
  test.each([
    [1000, undefined],
    [10_000, undefined],
    [10_000, 1000],
  ])('more accounts never mean fewer KMS calls or reads (%d hits/s, %s instances)', (hits, instances) => {
    let previous = { before: 0, after: 0, reads: 0, partitions: 0 };
    for (const accounts of accountSteps) {
      const f = regionFigures(
        'apac',
        { accounts, hitsPerSecond: hits, ...(instances && { instances }) },
        STAGE,
      );
      const now = {
        before: f.kms.beforePerSecond,
        after: f.kms.afterPerSecond,
        reads: f.directory.readsPerSecond,
        partitions: f.firehose.busiestStreamPartitions,
      };
      for (const key of Object.keys(now) as (keyof typeof now)[])
        expect(now[key]).toBeGreaterThanOrEqual(previous[key]);
      previous = now;
    }
  });

  test('more hits never mean fewer KMS calls, records or instances', () => {
    let previous = { before: 0, records: 0, instances: 0 };
    for (const hits of [1, 10, 100, 1000, 10_000, 100_000]) {
      const f = regionFigures('europe', { accounts: 10_000, hitsPerSecond: hits }, STAGE);
      const now = {
        before: f.kms.beforePerSecond,
        records: f.firehose.recordsPerSecond,
        instances: f.lambda.instances,
      };
      for (const key of Object.keys(now) as (keyof typeof now)[])
        expect(now[key]).toBeGreaterThanOrEqual(previous[key]);
      previous = now;
    }
  });
});
