import {
  apiKeyMatches,
  generateApiKey,
  hashApiKey,
  parseApiKey,
} from '../../../services/ingest/src/api-keys';

describe('API keys', () => {
  test('generated keys have the tsk_<keyid>_<secret> form and parse back', () => {
    const k = generateApiKey();
    expect(k.key).toMatch(/^tsk_[a-z0-9]{16}_[A-Za-z0-9]{40}$/);
    expect(parseApiKey(k.key)).toEqual({ keyId: k.keyId, secret: k.key.slice(21) });
    expect(k.secretHash).toBe(hashApiKey(k.key));
    expect(k.secretHash).not.toContain(k.key.slice(21));
  });

  test('only the right key matches its hash', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(apiKeyMatches(a.key, a.secretHash)).toBe(true);
    expect(apiKeyMatches(b.key, a.secretHash)).toBe(false);
    expect(apiKeyMatches(a.key, 'abcd')).toBe(false);
  });

  test.each([
    '',
    'tsk_short_x',
    'tsk_ABCDEFGHIJKLMNOP_' + 'a'.repeat(40),
    'key_abcdefghijklmnop_' + 'a'.repeat(40),
  ])('%p is malformed', (key) => expect(parseApiKey(key)).toBeUndefined());
});
