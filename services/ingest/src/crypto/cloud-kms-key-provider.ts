/**
 * The regional Cloud KMS key as the master key. Cloud KMS has no GenerateDataKey: the data key is 32 random
 * bytes drawn here and wrapped by Cloud KMS Encrypt, with the account id as additional authenticated data,
 * so a wrapped key copied to another account's record does not unwrap (as the encryption context does on
 * AWS). Both directions carry CRC32C checksums, which Cloud KMS verifies and returns, so a bit flipped on
 * the way in either direction is caught instead of wrapping or returning a corrupt key.
 *
 * Only types come from `@google-cloud/kms`: the runtime imports the client lazily, as it does the AWS ones.
 */
import { randomBytes } from 'node:crypto';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { Metrics } from '../metrics';
import { DecryptionError, KEY_BYTES } from './aes-gcm';
import type { GeneratedDataKey, KeyProvider } from './key-provider';

/** The client methods the provider calls (a test passes a stand-in of these). */
export type CloudKmsClient = Pick<KeyManagementServiceClient, 'encrypt' | 'decrypt' | 'getCryptoKey'>;

/** Options of {@link CloudKmsKeyProvider}. */
export interface CloudKmsKeyProviderProps {
  /** A Cloud KMS client; the caller owns it. */
  readonly client: CloudKmsClient;
  /** The key's full resource name, `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`. */
  readonly keyName: string;
  /** Counts Cloud KMS calls by operation (`Encrypt`, `Decrypt`, `GetCryptoKey`). */
  readonly metrics?: Metrics;
}

/** Thrown when a checksum Cloud KMS returns does not match the bytes: corrupted in transit. */
export class CloudKmsIntegrityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CloudKmsIntegrityError';
  }
}

// gRPC status codes with which Cloud KMS says "this ciphertext will never decrypt with this key and AAD"
// (wrong AAD, altered or foreign ciphertext, a destroyed version), as opposed to UNAVAILABLE or
// RESOURCE_EXHAUSTED, which a retry may cure.
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;
const UNWRAP_FAILURES = new Set([INVALID_ARGUMENT, FAILED_PRECONDITION]);

// CRC32C (Castagnoli), the checksum Cloud KMS uses. node:zlib offers only CRC32 (IEEE), which is a
// different polynomial, and a table of 256 numbers is cheaper than a dependency.
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C of `data`, as Cloud KMS computes it. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The number in a protobuf Int64Value (number, string or Long), or undefined when absent. */
function int64(value: { value?: unknown } | null | undefined): number | undefined {
  const v = value?.value;
  return v === null || v === undefined ? undefined : Number(String(v));
}

const bytes = (value: Uint8Array | string | null | undefined): Buffer | undefined =>
  value === null || value === undefined
    ? undefined
    : typeof value === 'string'
      ? Buffer.from(value, 'base64')
      : Buffer.from(value);

/** Wraps data keys with Cloud KMS. */
export class CloudKmsKeyProvider implements KeyProvider {
  /** Provider name for logs and metrics. */
  readonly name = 'cloudkms';
  private readonly client: CloudKmsClient;
  private readonly keyName: string;
  private readonly metrics: Metrics | undefined;

  constructor(props: CloudKmsKeyProviderProps) {
    if (!/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/.test(props.keyName))
      throw new Error(
        `CloudKmsKeyProvider: keyName must be projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>, not ${props.keyName}`,
      );
    this.client = props.client;
    this.keyName = props.keyName;
    this.metrics = props.metrics;
  }

  /** Draws 32 random bytes and wraps them with Cloud KMS Encrypt, bound to the account. */
  async generateDataKey(accountId: string): Promise<GeneratedDataKey> {
    const plaintext = randomBytes(KEY_BYTES);
    const aad = Buffer.from(accountId, 'utf8');
    // Counted before the call: Cloud KMS quotas and bills count attempts, failed ones included.
    this.metrics?.keyProviderCall('Encrypt');
    let out;
    try {
      [out] = await this.client.encrypt({
        name: this.keyName,
        plaintext,
        additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(plaintext) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      });
    } catch (err) {
      throw new Error(`Cloud KMS Encrypt of a data key for account ${accountId} failed`, { cause: err });
    }
    const wrapped = bytes(out.ciphertext);
    if (!wrapped || wrapped.length === 0)
      throw new Error(`Cloud KMS Encrypt for account ${accountId} returned no ciphertext`);
    if (!out.verifiedPlaintextCrc32c || !out.verifiedAdditionalAuthenticatedDataCrc32c)
      throw new CloudKmsIntegrityError(
        `Cloud KMS did not verify the checksums of the data key of account ${accountId}: corrupted on the way`,
      );
    if (int64(out.ciphertextCrc32c) !== crc32c(wrapped))
      throw new CloudKmsIntegrityError(
        `the wrapped data key of account ${accountId} does not match its checksum: corrupted on the way`,
      );
    return { plaintext, wrapped };
  }

  /**
   * Unwraps with Cloud KMS Decrypt and the account's AAD.
   * @throws DecryptionError when Cloud KMS refuses the blob (other account, other key, altered)
   */
  async decryptDataKey(wrapped: Buffer, accountId: string): Promise<Buffer> {
    this.metrics?.keyProviderCall('Decrypt');
    const aad = Buffer.from(accountId, 'utf8');
    let out;
    try {
      // The key is named by the request, never by the blob: Cloud KMS picks the version from the blob.
      [out] = await this.client.decrypt({
        name: this.keyName,
        ciphertext: wrapped,
        additionalAuthenticatedData: aad,
        ciphertextCrc32c: { value: crc32c(wrapped) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number' && UNWRAP_FAILURES.has(code))
        throw new DecryptionError(`Cloud KMS refused to unwrap the data key of account ${accountId}`, {
          cause: err,
        });
      throw new Error(`Cloud KMS Decrypt of the data key of account ${accountId} failed`, { cause: err });
    }
    const plaintext = bytes(out.plaintext);
    if (!plaintext || plaintext.length !== KEY_BYTES)
      throw new DecryptionError(`Cloud KMS unwrapped no 32-byte data key for account ${accountId}`);
    if (int64(out.plaintextCrc32c) !== crc32c(plaintext))
      throw new CloudKmsIntegrityError(
        `the unwrapped data key of account ${accountId} does not match its checksum: corrupted on the way`,
      );
    return plaintext;
  }

  /** Resolves when the key exists and its primary version is enabled (GetCryptoKey). */
  async check(): Promise<void> {
    this.metrics?.keyProviderCall('GetCryptoKey');
    const [key] = await this.client.getCryptoKey({ name: this.keyName });
    const state = key.primary?.state;
    if (state !== 'ENABLED' && state !== 1)
      throw new Error(
        `Cloud KMS key ${this.keyName} is not usable: primary version ${key.primary ? `state ${String(state)}` : 'missing'}`,
      );
  }
}
