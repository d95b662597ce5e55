import {
  serializeStoredEvent,
  storedEventBytes,
  type StoredEvent,
} from '../../../services/ingest/src/pipeline/stored-event';

const base: StoredEvent = {
  v: 1,
  id: '771abbb2-45cb-403d-bc47-1fa2a331a38d',
  accountId: 'acc_demoaccount',
  campaignId: 'cmp_demo-campaign',
  type: 'impression',
  receivedAt: '2026-12-03T15:45:32.094Z',
  dt: '2026-12-03',
  location: 'americas',
  source: 'pixel',
  consent: 'full',
};

// Every optional field, with values that need escaping where a client chose them.
const optional: Partial<Record<keyof StoredEvent, unknown>> = {
  name: 'sign "up"\n\u2028<script>',
  url: 'https://shop.example/p/ü?x=1',
  referrer: 'https://ref.example/\\path',
  params: { utm_source: 'news"letter', 'utm_\u0000odd': '\ud83d\ude00' },
  ts: 1_733_241_932_094,
  orderId: 'ord-"1"',
  value: 12.5,
  currency: 'EUR',
  country: 'DE',
  pii: { alg: 'A256GCM', kid: 'dk_1', ct: 'AQ+/==' },
};

// The order of StoredEvent's fields, the order the pipeline builds them in.
const ORDER = [
  'v',
  'id',
  'accountId',
  'campaignId',
  'type',
  'name',
  'url',
  'referrer',
  'params',
  'ts',
  'orderId',
  'value',
  'currency',
  'receivedAt',
  'dt',
  'location',
  'source',
  'country',
  'consent',
  'pii',
] as const;

/** The event with its keys in that order, absent ones present as undefined (as the pipeline has them). */
function built(fields: Partial<Record<keyof StoredEvent, unknown>>): StoredEvent {
  const out: Record<string, unknown> = {};
  for (const k of ORDER) out[k] = fields[k];
  return out as unknown as StoredEvent;
}

describe('serializeStoredEvent', () => {
  it('writes the bytes JSON.stringify writes, for every combination of optional fields', () => {
    const keys = Object.keys(optional) as (keyof StoredEvent)[];
    for (let mask = 0; mask < 1 << keys.length; mask++) {
      const fields: Partial<Record<keyof StoredEvent, unknown>> = { ...base };
      for (const [i, k] of keys.entries()) if (mask & (1 << i)) fields[k] = optional[k];
      const event = built(fields);
      expect(serializeStoredEvent(event)).toBe(JSON.stringify(event) + '\n');
    }
  });

  it('follows the field order readers see, whatever order the object was built in', () => {
    // Built with `pii` and `name` last; the line has them where ORDER puts them.
    const input: StoredEvent = { ...base, pii: optional.pii as StoredEvent['pii'], name: 'n' };
    const line = serializeStoredEvent(input);
    expect(Object.keys(JSON.parse(line) as object)).toEqual(ORDER.filter((k) => k in input));
  });

  it('writes numbers as JSON does, a non-finite one as null', () => {
    for (const value of [0, -0, -3.25, 1e21, 5e-7, Number.NaN, Infinity]) {
      const event = built({ ...base, value });
      expect(serializeStoredEvent(event)).toBe(JSON.stringify(event) + '\n');
    }
  });
});

describe('storedEventBytes', () => {
  it('gives the UTF-8 bytes of the line, each record its own bytes across slab boundaries', () => {
    const events = Array.from({ length: 2_000 }, (_, i) =>
      built({ ...base, id: `id-${i}`, name: i % 3 ? 'ü'.repeat(i % 50) : 'x'.repeat(i * 10) }),
    );
    const bytes = events.map(storedEventBytes);
    bytes.forEach((b, i) => expect(b.toString('utf8')).toBe(JSON.stringify(events[i]) + '\n'));
  });
});
