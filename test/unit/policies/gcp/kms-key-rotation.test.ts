import { durationSeconds, kmsKeyRotation } from '../../../../policies/gcp/rules/kms-key-rotation';
import { validateResource } from '../../../../policies/gcp/evaluate';
import { cryptoKey } from './support/fixtures';

describe('gcp-kms-key-symmetric-rotated-90-days', () => {
  const messages = async (props: Record<string, unknown>) =>
    (await validateResource(kmsKeyRotation, cryptoKey(props))).map((v) => v.message);

  test('Compliance', async () => {
    expect(await messages({})).toEqual([]);
    // 30 days, with the fractional form the provider accepts.
    expect(await messages({ rotationPeriod: '2592000.5s' })).toEqual([]);
    // Purpose and algorithm omitted: the provider's defaults are ENCRYPT_DECRYPT / GOOGLE_SYMMETRIC_ENCRYPTION.
    expect(await messages({ purpose: undefined, versionTemplate: undefined })).toEqual([]);
  });

  test('Noncompliance 1: no rotation period', async () => {
    expect(await messages({ rotationPeriod: undefined })).toEqual([
      expect.stringMatching(/CryptoKey 'data' is never rotated.*"7776000s"/),
    ]);
  });

  test('Noncompliance 2: rotation longer than 90 days', async () => {
    expect(await messages({ rotationPeriod: '7776001s' })).toEqual([
      expect.stringMatching(/7776001s, more than 90 days/),
    ]);
    expect(await messages({ rotationPeriod: '31536000s' })).toHaveLength(1);
  });

  test('Noncompliance 3: a malformed rotation period', async () => {
    for (const rotationPeriod of ['90d', '7776000', 'P90D']) {
      expect(await messages({ rotationPeriod })).toEqual([expect.stringMatching(/malformed rotationPeriod/)]);
    }
  });

  test('Noncompliance 4: a purpose other than ENCRYPT_DECRYPT', async () => {
    expect(await messages({ purpose: 'ASYMMETRIC_SIGN', versionTemplate: undefined })).toEqual([
      expect.stringMatching(/purpose "ASYMMETRIC_SIGN"/),
    ]);
  });

  test('Noncompliance 5: a non-AES-256 algorithm', async () => {
    expect(await messages({ versionTemplate: { algorithm: 'AES_128_GCM' } })).toEqual([
      expect.stringMatching(/algorithm "AES_128_GCM".*GOOGLE_SYMMETRIC_ENCRYPTION/),
    ]);
  });

  test('durationSeconds reads the provider format only', () => {
    expect(durationSeconds('7776000s')).toBe(7_776_000);
    expect(durationSeconds('86400.000000001s')).toBe(86_400);
    expect(durationSeconds('1e6s')).toBeUndefined();
    expect(durationSeconds(7776000)).toBeUndefined();
  });
});
