/** The writer's environment contract. */
import { parseWriterEnv, WRITER_BATCH_DEFAULTS } from '../../../platform';
import { SUBSCRIPTION } from './support';

describe('parseWriterEnv', () => {
  it('defaults to the local file store and the batch defaults', () => {
    expect(parseWriterEnv({ TS_EVENT_SUBSCRIPTION: SUBSCRIPTION })).toMatchObject({
      TS_OBJECT_STORE: 'file',
      TS_BATCH_MAX_WAIT_MS: WRITER_BATCH_DEFAULTS.maxWaitMs,
      TS_BATCH_MAX_RECORDS: WRITER_BATCH_DEFAULTS.maxRecords,
    });
  });

  it('names every bad variable', () => {
    expect(() =>
      parseWriterEnv({
        TS_OBJECT_STORE: 'gcs',
        TS_EVENT_SUBSCRIPTION: 'events-writer',
        TS_BATCH_MAX_RECORDS: '0',
      }),
    ).toThrow(
      /TS_EVENT_SUBSCRIPTION: must be a full subscription name[\s\S]*TS_BATCH_MAX_RECORDS: must be at least 1[\s\S]*TS_EVENT_BUCKET: is required when TS_OBJECT_STORE=gcs/,
    );
  });

  it('requires the subscription', () => {
    expect(() => parseWriterEnv({})).toThrow(/TS_EVENT_SUBSCRIPTION/);
  });
});
