/**
 * Which quota binds first: each quota's use at a load, and the load at which it is reached. Quotas that
 * grow with traffic are solved for hits per second (the accounts held fixed); the partition quota grows
 * with accounts alone and is solved for accounts. The quota with the least headroom (its load at the limit
 * over the load evaluated) binds first.
 */
import { REGIONAL_QUOTAS, type Location } from '../../platform';
import {
  DEFAULT_ASSUMPTIONS,
  regionFigures,
  type Assumptions,
  type Load,
  type RegionFigures,
  type StageSettings,
} from './model';

/** Before or after the KMS reduction (a branch key per location). */
export type KmsDesign = 'before' | 'after';

/** One quota checked at one load. */
export interface QuotaCheck {
  /** What is limited, e.g. `KMS symmetric requests/s`. */
  readonly quota: string;
  readonly used: number;
  readonly limit: number;
  /** `used / limit`. */
  readonly utilization: number;
  /** Which load dimension reaches the limit. */
  readonly dimension: 'hitsPerSecond' | 'accounts';
  /** The load (in `dimension`) at which `used` reaches `limit`; Infinity when it never does. */
  readonly loadAtLimit: number;
  /** `loadAtLimit` over the load evaluated: below 1 means the quota is already exceeded. */
  readonly headroom: number;
}

interface QuotaDefinition {
  readonly quota: string;
  readonly dimension: QuotaCheck['dimension'];
  readonly used: (f: RegionFigures) => number;
  readonly limit: (f: RegionFigures) => number;
}

const MIB = 1024 * 1024;

function quotaDefinitions(design: KmsDesign): QuotaDefinition[] {
  const perStream = (f: RegionFigures, total: number) => total / f.firehose.streams;
  return [
    {
      quota: 'Lambda concurrency',
      dimension: 'hitsPerSecond',
      used: (f) => f.lambda.concurrency,
      limit: (f) => f.lambda.concurrencyLimit,
    },
    {
      quota: `KMS symmetric requests/s (${design})`,
      dimension: 'hitsPerSecond',
      used: (f) => (design === 'before' ? f.kms.beforePerSecond : f.kms.afterPerSecond),
      limit: (f) => f.kms.quotaPerSecond,
    },
    {
      quota: 'DynamoDB read units/s',
      dimension: 'hitsPerSecond',
      used: (f) => f.directory.readUnitsPerSecond,
      limit: (f) => f.directory.readUnitQuota,
    },
    {
      quota: 'Firehose requests/s per stream',
      dimension: 'hitsPerSecond',
      used: (f) => perStream(f, f.firehose.requestsPerSecond),
      limit: (f) => streamQuota(f).requestsPerSecond,
    },
    {
      quota: 'Firehose records/s per stream',
      dimension: 'hitsPerSecond',
      used: (f) => perStream(f, f.firehose.recordsPerSecond),
      limit: (f) => streamQuota(f).recordsPerSecond,
    },
    {
      quota: 'Firehose MiB/s per stream',
      dimension: 'hitsPerSecond',
      used: (f) => perStream(f, f.firehose.bytesPerSecond) / MIB,
      limit: (f) => streamQuota(f).bytesPerSecond / MIB,
    },
    {
      quota: 'Firehose active partitions per stream',
      dimension: 'accounts',
      used: (f) => f.firehose.busiestStreamPartitions,
      limit: (f) => f.firehose.partitionQuota,
    },
  ];
}

function streamQuota(f: RegionFigures) {
  return REGIONAL_QUOTAS[f.location].firehoseStream;
}

// Past this load the model stops looking: a quota not reached by then is reported as never reached.
const SEARCH_CEILING = 1e9;

/**
 * The load in `dimension` at which `used` reaches `limit`, by bisection (the figures grow with load).
 * @returns Infinity when the limit is not reached below {@link SEARCH_CEILING}
 */
function loadAtLimit(
  definition: QuotaDefinition,
  evaluate: (load: Load) => RegionFigures,
  load: Load,
): number {
  const at = (x: number): number => {
    const f = evaluate({ ...load, [definition.dimension]: x });
    return definition.used(f) - definition.limit(f);
  };
  if (at(SEARCH_CEILING) < 0) return Infinity;
  let low = 0;
  let high = SEARCH_CEILING;
  // 200 halvings reach double precision from 1e9 and then some; most searches stop far earlier.
  for (let i = 0; i < 200 && high - low > Math.max(1e-6, high * 1e-9); i++) {
    const mid = (low + high) / 2;
    if (at(mid) < 0) low = mid;
    else high = mid;
  }
  return high;
}

/** Every quota's use, limit and load at the limit, for one region and load. */
export function checkQuotas(
  location: Location,
  load: Load,
  stage: StageSettings,
  design: KmsDesign,
  assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
): QuotaCheck[] {
  const evaluate = (l: Load) => regionFigures(location, l, stage, assumptions);
  const figures = evaluate(load);
  return quotaDefinitions(design).map((d) => {
    const used = d.used(figures);
    const limit = d.limit(figures);
    const reachedAt = loadAtLimit(d, evaluate, load);
    return {
      quota: d.quota,
      used,
      limit,
      utilization: used / limit,
      dimension: d.dimension,
      loadAtLimit: reachedAt,
      headroom: reachedAt / load[d.dimension],
    };
  });
}

/** The quota that binds first: the least headroom (ties: the first listed). */
export function bindingQuota(checks: readonly QuotaCheck[]): QuotaCheck {
  const [first, ...rest] = checks;
  if (!first) throw new RangeError('bindingQuota: no quotas to compare');
  return rest.reduce((best, c) => (c.headroom < best.headroom ? c : best), first);
}
