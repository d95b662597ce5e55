/** The push envelope's validation, field by field, and the decoded record. */
import { isCalendarDay, parsePush } from '../../../services/writer/src/core/envelope';
import { pushBody } from './support';

function withMessage(patch: Record<string, unknown>): unknown {
  const body = pushBody();
  return { ...body, message: { ...body.message, ...patch } };
}

describe('parsePush', () => {
  it('decodes a valid push into a record ending with one newline', () => {
    const parsed = parsePush(pushBody({ messageId: '42', record: { eventId: 'e1' } }));
    expect(parsed).toEqual({
      ok: true,
      subscription: expect.stringContaining('/subscriptions/') as unknown,
      record: {
        messageId: '42',
        accountId: 'acc_writer0001',
        dt: '2026-12-03',
        data: Buffer.from('{"eventId":"e1"}\n'),
        publishTimeMs: Date.parse('2026-12-03T08:00:00.123Z'),
      },
    });
  });

  it('adds the newline a record lacks', () => {
    const parsed = parsePush(withMessage({ data: Buffer.from('{"a":1}').toString('base64') }));
    expect(parsed.ok && parsed.record.data.toString()).toBe('{"a":1}\n');
  });

  it.each([
    ['no body', undefined, '(body)'],
    ['no message', { subscription: 'x' }, 'message'],
    ['data that is not base64', withMessage({ data: 'not base64!' }), 'message.data'],
    ['empty data', withMessage({ data: '' }), 'message.data'],
    ['data of two lines', withMessage({ data: Buffer.from('{}\n{}\n').toString('base64') }), 'message.data'],
    ['no attributes', withMessage({ attributes: undefined }), 'message.attributes'],
    ['no accountId', withMessage({ attributes: { dt: '2026-12-03' } }), 'message.attributes.accountId'],
    [
      'an accountId of the wrong form',
      withMessage({ attributes: { accountId: '../etc', dt: '2026-12-03' } }),
      'message.attributes.accountId',
    ],
    ['no dt', withMessage({ attributes: { accountId: 'acc_writer0001' } }), 'message.attributes.dt'],
    [
      'a dt that is no calendar day',
      withMessage({ attributes: { accountId: 'acc_writer0001', dt: '2026-02-30' } }),
      'message.attributes.dt',
    ],
    ['no messageId', withMessage({ messageId: undefined }), 'message.messageId'],
    ['no subscription', { message: pushBody().message }, 'subscription'],
  ])('refuses %s, naming the field', (_label, body, field) => {
    const parsed = parsePush(body);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.field).toBe(field);
  });

  it('ignores a publish time it cannot read rather than refusing the message', () => {
    const parsed = parsePush(withMessage({ publishTime: 'yesterday' }));
    expect(parsed.ok && parsed.record.publishTimeMs).toBeUndefined();
  });
});

describe('isCalendarDay', () => {
  it.each([
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['2026-13-01', false],
    ['2026-1-01', false],
    ['2026-12-31', true],
  ])('%s → %s', (value, expected) => {
    expect(isCalendarDay(value)).toBe(expected);
  });
});
