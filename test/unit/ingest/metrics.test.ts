import { Metrics } from '../../../services/ingest/src/metrics';

describe('Metrics', () => {
  test('drains counters as CloudWatch Embedded Metric Format documents and resets them', () => {
    const m = new Metrics();
    m.hits = 7;
    m.reject('bot', 2);
    m.reject('malformed');
    m.keyProviderCall('GenerateDataKey');
    m.sinkLatency(12);
    m.spoolDepth = 3;
    const lines = m
      .drainEmf('trackstack/dev', { Location: 'europe' }, 1_700_000_000_000)
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [{ Namespace: 'trackstack/dev', Dimensions: [['Location']] }],
      },
      Location: 'europe',
      Hits: 7,
      SpoolDepth: 3,
      SinkLatencyMax: 12,
    });
    expect(lines).toContainEqual(expect.objectContaining({ Reason: 'bot', Rejects: 2, Location: 'europe' }));
    expect(lines[1]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Location', 'Reason']]);
    expect(lines).toContainEqual(
      expect.objectContaining({ Operation: 'GenerateDataKey', KeyProviderCalls: 1 }),
    );
    const again = m.drainEmf('trackstack/dev', { Location: 'europe' }).map((l) => JSON.parse(l));
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ Hits: 0, SpoolDepth: 3 });
  });
});
