/**
 * `eventStreamIndex`: which of a region's Firehose streams an account's events take.
 */
import { eventStreamIndex, LIMITS, names } from '../../../platform';

const accounts = Array.from({ length: 50_000 }, (_, i) => `acc_${i.toString(36).padStart(8, '0')}`);

describe('eventStreamIndex', () => {
  test('is stable: the same account always takes the same stream, whatever serves it', () => {
    expect(eventStreamIndex('acc_demo0001', 10)).toBe(eventStreamIndex('acc_demo0001', 10));
    // Pinned values: changing the hash would move live accounts between streams.
    expect([1, 2, 10, 50].map((n) => eventStreamIndex('acc_demo0001', n))).toEqual([0, 1, 9, 19]);
  });

  test('spreads 50,000 accounts evenly: no stream of 10 holds more than 11% of them', () => {
    const counts = new Array<number>(10).fill(0);
    for (const a of accounts) counts[eventStreamIndex(a, 10)]! += 1;
    expect(Math.max(...counts)).toBeLessThan(5_500);
    expect(Math.min(...counts)).toBeGreaterThan(4_500);
  });

  test.each([0, -1, 1.5, LIMITS.maxEventStreams + 1, Number.NaN])('refuses %p streams', (n) => {
    expect(() => eventStreamIndex('acc_demo0001', n)).toThrow(RangeError);
  });

  test('stream 0 keeps the single stream name; the others are numbered', () => {
    expect(names.eventStream('prod', 'europe')).toBe('trackstack-prod-europe-events');
    expect(names.eventStream('prod', 'europe', 0)).toBe('trackstack-prod-europe-events');
    expect(names.eventStream('prod', 'europe', 9)).toBe('trackstack-prod-europe-events-9');
  });
});
