/**
 * CloudKmsKeyProvider against a stand-in of the Cloud KMS client: Cloud KMS has no emulator here (the Google
 * Cloud SDK ships none), so `StandInKms` below implements only the three methods the provider calls,
 * with Cloud KMS's documented behaviour: AES-256-GCM under a key of its own with the request's AAD, CRC32C
 * checks of the request and checksums in the answer, INVALID_ARGUMENT (gRPC code 3) for a ciphertext that
 * does not decrypt, and every call recorded. What this cannot prove is listed in the README: IAM, the real
 * wire format, quotas, and Cloud KMS's exact error codes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionError } from '../../../services/ingest/src/crypto/aes-gcm';
import {
  CloudKmsIntegrityError,
  CloudKmsKeyProvider,
  crc32c,
  type CloudKmsClient,
} from '../../../services/ingest/src/crypto/cloud-kms-key-provider';
import { Metrics } from '../../../services/ingest/src/metrics';

const KEY = 'projects/trackstack-test/locations/europe-west1/keyRings/ring/cryptoKeys/data';
const ACC = 'acc_alpha0001';
const OTHER = 'acc_bravo0002';

/** A gRPC-style error, as google-gax rejects with. */
const grpcError = (code: number, message: string) => Object.assign(new Error(message), { code });

type Int64 = { value?: unknown } | null | undefined;
const num = (v: Int64) => (v?.value === undefined ? undefined : Number(v.value));

/** Cloud KMS as far as the provider uses it. */
class StandInKms {
  readonly calls: { method: string; name: string }[] = [];
  state: 'ENABLED' | 'DISABLED' = 'ENABLED';
  /** Set to corrupt what the next answer carries, as a bad network path would. */
  corruptNextAnswer = false;
  private readonly master = randomBytes(32);

  encrypt(req: {
    name: string;
    plaintext: Buffer;
    additionalAuthenticatedData: Buffer;
    plaintextCrc32c?: Int64;
    additionalAuthenticatedDataCrc32c?: Int64;
  }) {
    this.calls.push({ method: 'encrypt', name: req.name });
    if (this.state !== 'ENABLED') return Promise.reject(grpcError(9, 'key version is not enabled'));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.master, iv);
    cipher.setAAD(req.additionalAuthenticatedData);
    const ciphertext = Buffer.concat([iv, cipher.update(req.plaintext), cipher.final(), cipher.getAuthTag()]);
    const answer = Buffer.from(ciphertext);
    if (this.corruptNextAnswer) {
      this.corruptNextAnswer = false;
      answer[20]! ^= 1;
    }
    return Promise.resolve([
      {
        name: `${req.name}/cryptoKeyVersions/1`,
        ciphertext: answer,
        ciphertextCrc32c: { value: String(crc32c(ciphertext)) },
        verifiedPlaintextCrc32c: num(req.plaintextCrc32c) === crc32c(req.plaintext),
        verifiedAdditionalAuthenticatedDataCrc32c:
          num(req.additionalAuthenticatedDataCrc32c) === crc32c(req.additionalAuthenticatedData),
      },
    ]);
  }

  decrypt(req: {
    name: string;
    ciphertext: Buffer;
    additionalAuthenticatedData: Buffer;
    ciphertextCrc32c?: Int64;
  }) {
    this.calls.push({ method: 'decrypt', name: req.name });
    if (num(req.ciphertextCrc32c) !== crc32c(req.ciphertext))
      return Promise.reject(grpcError(3, 'ciphertext checksum mismatch'));
    try {
      const iv = req.ciphertext.subarray(0, 12);
      const tag = req.ciphertext.subarray(req.ciphertext.length - 16);
      const decipher = createDecipheriv('aes-256-gcm', this.master, iv);
      decipher.setAAD(req.additionalAuthenticatedData);
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([
        decipher.update(req.ciphertext.subarray(12, req.ciphertext.length - 16)),
        decipher.final(),
      ]);
      return Promise.resolve([{ plaintext, plaintextCrc32c: { value: crc32c(plaintext) } }]);
    } catch {
      return Promise.reject(grpcError(3, 'Decryption failed: the ciphertext is invalid.'));
    }
  }

  getCryptoKey(req: { name: string }) {
    this.calls.push({ method: 'getCryptoKey', name: req.name });
    return Promise.resolve([
      { name: req.name, primary: { name: `${req.name}/cryptoKeyVersions/1`, state: this.state } },
    ]);
  }
}

function provider(kms = new StandInKms(), metrics = new Metrics()) {
  return {
    kms,
    metrics,
    keys: new CloudKmsKeyProvider({ client: kms as unknown as CloudKmsClient, keyName: KEY, metrics }),
  };
}

test('crc32c is the Castagnoli checksum Cloud KMS uses', () => {
  // The check value of CRC-32C (RFC 3720, appendix B.4).
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  expect(crc32c(Buffer.alloc(0))).toBe(0);
});

test('a generated data key round-trips for its account, always through the named key', async () => {
  const { kms, keys } = provider();
  const generated = await keys.generateDataKey(ACC);
  expect(generated.plaintext).toHaveLength(32);
  expect(generated.wrapped.includes(generated.plaintext)).toBe(false);
  expect(await keys.decryptDataKey(generated.wrapped, ACC)).toEqual(generated.plaintext);
  // Two keys for the same account differ: the bytes are random, not derived.
  expect((await keys.generateDataKey(ACC)).plaintext).not.toEqual(generated.plaintext);
  expect(kms.calls.every((c) => c.name === KEY)).toBe(true);
});

test('a key wrapped for one account is refused for another with DecryptionError', async () => {
  const { keys } = provider();
  const { wrapped } = await keys.generateDataKey(ACC);
  const refused = keys.decryptDataKey(wrapped, OTHER);
  await expect(refused).rejects.toBeInstanceOf(DecryptionError);
  await expect(refused).rejects.toThrow(/refused to unwrap the data key of account acc_bravo0002/);
});

test('a tampered wrapped key is refused with DecryptionError, its cause kept', async () => {
  const { keys } = provider();
  const { wrapped } = await keys.generateDataKey(ACC);
  const tampered = Buffer.from(wrapped);
  tampered[tampered.length - 1]! ^= 0x80;
  const err = await keys.decryptDataKey(tampered, ACC).then(
    () => new Error('resolved'),
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(DecryptionError);
  expect((err.cause as { code?: number }).code).toBe(3);
});

test('an outage is not a decryption failure: it is wrapped with its cause, for a retry', async () => {
  const kms = new StandInKms();
  kms.decrypt = () => Promise.reject(grpcError(14, 'unavailable'));
  const { keys } = provider(kms);
  const err = await keys.decryptDataKey(Buffer.alloc(40), ACC).then(
    () => new Error('resolved'),
    (e: unknown) => e as Error,
  );
  expect(err).not.toBeInstanceOf(DecryptionError);
  expect(err.message).toMatch(/Cloud KMS Decrypt of the data key of account acc_alpha0001 failed/);
  expect((err.cause as Error).message).toBe('unavailable');
});

test('a wrapped key corrupted on its way back is caught by its CRC32C, not stored', async () => {
  const { kms, keys } = provider();
  kms.corruptNextAnswer = true;
  await expect(keys.generateDataKey(ACC)).rejects.toBeInstanceOf(CloudKmsIntegrityError);
});

test('Encrypt and Decrypt calls are counted, failed ones included', async () => {
  const { keys, metrics } = provider();
  const { wrapped } = await keys.generateDataKey(ACC);
  await keys.decryptDataKey(wrapped, ACC);
  await keys.decryptDataKey(wrapped, OTHER).catch(() => undefined);
  expect(metrics.keyProviderCalls.get('Encrypt')).toBe(1);
  expect(metrics.keyProviderCalls.get('Decrypt')).toBe(2);
});

test('check() passes on an enabled primary version and fails on a disabled one', async () => {
  const { kms, keys, metrics } = provider();
  await expect(keys.check()).resolves.toBeUndefined();
  kms.state = 'DISABLED';
  await expect(keys.check()).rejects.toThrow(/is not usable: primary version state DISABLED/);
  expect(metrics.keyProviderCalls.get('GetCryptoKey')).toBe(2);
});

test('the key must be named by its full resource name', () => {
  expect(
    () => new CloudKmsKeyProvider({ client: new StandInKms() as unknown as CloudKmsClient, keyName: 'data' }),
  ).toThrow(/keyName must be projects\/<p>\/locations/);
});
