import {
  parseCollectBody,
  parsePostback,
  parseQueryEvent,
} from '../../../services/ingest/src/pipeline/validation';

const NOW = Date.UTC(2026, 10, 23, 12);
const q = (s: string) => new URLSearchParams(s);

describe('pixel query validation', () => {
  test('a well-formed hit passes, with short names mapped and numbers parsed', () => {
    const r = parseQueryEvent(
      q(`a=acc_12345678&c=cmp_spring&e=click&v=12.5&cur=EUR&ts=${NOW - 1000}&_=cachebust`),
      NOW,
    );
    expect(r).toEqual({
      ok: true,
      value: {
        accountId: 'acc_12345678',
        campaignId: 'cmp_spring',
        type: 'click',
        value: 12.5,
        currency: 'EUR',
        ts: NOW - 1000,
      },
    });
  });

  test('parameters named like object-prototype members are ignored as unknown, not read as fields', () => {
    const r = parseQueryEvent(
      q('a=acc_12345678&c=cmp_spring&toString=x&__proto__=y&constructor=z&hasOwnProperty=w'),
      NOW,
    );
    expect(r.ok).toBe(true);
    expect(r.ok && r.value.accountId).toBe('acc_12345678');
  });

  test('type defaults to pageview', () => {
    const r = parseQueryEvent(q('a=acc_12345678&c=cmp_spring'), NOW);
    expect(r.ok && r.value.type).toBe('pageview');
  });

  test.each([
    ['c=cmp_spring', 'accountId'],
    ['a=ACC_1&c=cmp_spring', 'accountId'],
    ['a=acc_12345678&c=campaign', 'campaignId'],
    ['a=acc_12345678&c=cmp_spring&e=purchase', 'type'],
    ['a=acc_12345678&c=cmp_spring&v=ten', 'value'],
    ['a=acc_12345678&c=cmp_spring&v=-1', 'value'],
    ['a=acc_12345678&c=cmp_spring&cur=eur', 'currency'],
    ['a=acc_12345678&c=cmp_spring&u=javascript:alert(1)', 'url'],
    ['a=acc_12345678&c=cmp_spring&cid=' + 'x'.repeat(129), 'clickId'],
    ['a=acc_12345678&c=cmp_spring&cid=a%20b', 'clickId'],
    ['a=acc_12345678&a=acc_87654321&c=cmp_spring', 'accountId'],
    [`a=acc_12345678&c=cmp_spring&ts=${NOW + 3_600_000}`, 'ts'],
    [`a=acc_12345678&c=cmp_spring&ts=${NOW - 30 * 86_400_000}`, 'ts'],
    ['a=acc_12345678&c=cmp_spring&ts=1.5', 'ts'],
  ])('%s is malformed in %s', (query, field) => {
    const r = parseQueryEvent(q(query), NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.field).toBe(field);
  });
});

describe('collect body validation', () => {
  const ev = { type: 'click', url: 'https://shop.example/p/1' };

  test('a batch inherits account and campaign', () => {
    const r = parseCollectBody(
      { accountId: 'acc_12345678', campaignId: 'cmp_spring', events: [ev, ev] },
      NOW,
    );
    expect(r.ok && r.value).toHaveLength(2);
    expect(r.ok && r.value[1]?.accountId).toBe('acc_12345678');
  });

  test('a single event is a batch of one', () => {
    const r = parseCollectBody({ accountId: 'acc_12345678', campaignId: 'cmp_spring', ...ev }, NOW);
    expect(r.ok && r.value).toHaveLength(1);
  });

  test('a bad event names its index and field, and nothing is taken', () => {
    const r = parseCollectBody(
      { accountId: 'acc_12345678', campaignId: 'cmp_spring', events: [ev, { ...ev, currency: 'euro' }] },
      NOW,
    );
    expect(r).toEqual({ ok: false, issues: [expect.objectContaining({ field: 'events.1.currency' })] });
  });

  test('unknown fields are refused by name', () => {
    const r = parseCollectBody({ accountId: 'acc_12345678', campaignId: 'cmp_spring', email: 'a@b.c' }, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.message).toMatch(/email/);
  });

  test('more than 50 events is refused', () => {
    const r = parseCollectBody(
      { accountId: 'acc_12345678', campaignId: 'cmp_spring', events: Array(51).fill(ev) },
      NOW,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.field).toBe('events');
  });

  test.each([null, 'text', 42, [ev]])('%p is not an object', (body) => {
    const r = parseCollectBody(body, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.field).toBe('(body)');
  });
});

describe('postback validation', () => {
  test('click id is required and type defaults to conversion', () => {
    expect(parsePostback({ campaignId: 'cmp_spring' }, NOW)).toEqual({
      ok: false,
      issues: [expect.objectContaining({ field: 'clickId' })],
    });
    const ok = parsePostback({ campaignId: 'cmp_spring', clickId: 'abc', value: 10, currency: 'USD' }, NOW);
    expect(ok.ok && ok.value.type).toBe('conversion');
  });

  test('the account cannot be chosen by the caller', () => {
    const r = parsePostback({ campaignId: 'cmp_spring', clickId: 'abc', accountId: 'acc_12345678' }, NOW);
    expect(r.ok).toBe(false);
  });
});

test('an own __proto__ key in a batch event is refused like any unknown field', () => {
  const body = JSON.parse(
    '{"accountId":"acc_12345678","campaignId":"cmp_spring","events":[{"type":"click","__proto__":{"x":1}}]}',
  );
  const r = parseCollectBody(body, NOW);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.issues[0]?.field).toBe('events.0');
});

test('a missing field is called missing, a wrong type a wrong type', () => {
  const missing = parseQueryEvent(q('a=acc_12345678'), NOW);
  // In a query string, the message names the parameter that carries the field.
  expect(missing).toEqual({
    ok: false,
    issues: [{ field: 'campaignId', message: 'is required (query parameter c)' }],
  });
  const wrong = parseCollectBody({ accountId: 5, campaignId: 'cmp_spring' }, NOW);
  expect(wrong).toEqual({ ok: false, issues: [{ field: 'accountId', message: 'must be a string' }] });
});
