import { DedupWindow, TokenBucketLimiter } from '../../../services/ingest/src/pipeline/limits';

describe('TokenBucketLimiter', () => {
  test('allows the burst, then refills at the rate', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ ratePerSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3, 4].map(() => limiter.take('ip'))).toEqual([true, true, true, false]);
    now += 500; // one token at 2/s
    expect(limiter.take('ip')).toBe(true);
    expect(limiter.take('ip')).toBe(false);
    expect(limiter.take('other')).toBe(true);
  });

  test('memory stays bounded under a flood of distinct keys', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, maxKeys: 1000 });
    for (let i = 0; i < 50_000; i++) limiter.take(`ip-${i}`);
    expect(limiter.size).toBeLessThanOrEqual(1000);
  });
});

describe('DedupWindow', () => {
  test('a repeat within the window is a duplicate; after it, not', () => {
    let now = 0;
    const dedup = new DedupWindow({ windowMs: 1000, now: () => now });
    expect(dedup.isDuplicate('k')).toBe(false);
    expect(dedup.isDuplicate('k')).toBe(true);
    now = 1001;
    expect(dedup.isDuplicate('k')).toBe(false);
  });

  test('a forgotten key is new again', () => {
    const dedup = new DedupWindow({ windowMs: 1000 });
    dedup.isDuplicate('k');
    dedup.forget('k');
    expect(dedup.isDuplicate('k')).toBe(false);
  });

  test('memory stays bounded', () => {
    const dedup = new DedupWindow({ windowMs: 60_000, maxKeys: 500 });
    for (let i = 0; i < 20_000; i++) dedup.isDuplicate(`k${i}`);
    expect(dedup.size).toBeLessThanOrEqual(500);
  });
});
