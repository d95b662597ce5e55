/**
 * Which key a per-key anomaly alarm points at, from its Contributor Insights report: the busiest key for a
 * rule keyed by key alone; for a rule keyed by (key, IP) or (key, country), the key with the most distinct
 * pairs, which is not the key of the busiest single pair.
 */
import { keyOfReport } from '../../../services/incident/src/aws/insight-rule';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

test('a rule keyed by the key alone: the first (busiest) contributor', () => {
  expect(
    keyOfReport([
      { Keys: [A], ApproximateAggregateValue: 900, Datapoints: [] },
      { Keys: [B], ApproximateAggregateValue: 10, Datapoints: [] },
    ]),
  ).toBe(A);
});

test('a rule keyed by (key, IP): the key with the most distinct addresses, not the busiest pair', () => {
  expect(
    keyOfReport([
      { Keys: [A, '198.51.100.1'], ApproximateAggregateValue: 5000, Datapoints: [] },
      { Keys: [B, '203.0.113.1'], ApproximateAggregateValue: 3, Datapoints: [] },
      { Keys: [B, '203.0.113.2'], ApproximateAggregateValue: 3, Datapoints: [] },
      { Keys: [B, '203.0.113.3'], ApproximateAggregateValue: 3, Datapoints: [] },
    ]),
  ).toBe(B);
});

test('contributors that are not key ids, or no contributors, point at nothing', () => {
  expect(keyOfReport([])).toBeUndefined();
  expect(keyOfReport([{ Keys: ['-'], ApproximateAggregateValue: 10, Datapoints: [] }])).toBeUndefined();
});
