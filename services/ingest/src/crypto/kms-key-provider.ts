/**
 * The regional AWS KMS key as the master key. Data keys are generated and unwrapped by KMS
 * with `{ accountId }` as encryption context, so CloudTrail records which account each call served and
 * the key policy can condition on it; a wrapped key copied to another account's record does not unwrap.
 */
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import type { Metrics } from '../metrics';
import { DecryptionError, KEY_BYTES } from './aes-gcm';
import type { GeneratedDataKey, KeyProvider } from './key-provider';

/** Options of {@link KmsKeyProvider}. */
export interface KmsKeyProviderProps {
  /** A KMS client in the key's region. */
  readonly client: KMSClient;
  /** Key id, key ARN, alias name (`alias/...`) or alias ARN of the regional key. */
  readonly keyId: string;
  /** Counts KMS calls by operation (`GenerateDataKey`, `Decrypt`, `DescribeKey`). */
  readonly metrics?: Metrics;
}

// Errors that mean "this blob will never unwrap here", as opposed to throttling or network trouble that a
// retry may cure; they become DecryptionError so callers treat KMS and the local provider alike.
const UNWRAP_FAILURES = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** Wraps data keys with AWS KMS. */
export class KmsKeyProvider implements KeyProvider {
  /** Provider name for logs and metrics. */
  readonly name = 'kms';
  private readonly client: KMSClient;
  private readonly keyId: string;
  private readonly metrics: Metrics | undefined;

  constructor(props: KmsKeyProviderProps) {
    this.client = props.client;
    this.keyId = props.keyId;
    this.metrics = props.metrics;
  }

  /** Calls KMS GenerateDataKey (AES_256) bound to the account. */
  async generateDataKey(accountId: string): Promise<GeneratedDataKey> {
    // Counted before the call: KMS quotas and bills count attempts, failed ones included.
    this.metrics?.keyProviderCall('GenerateDataKey');
    const out = await this.client.send(
      new GenerateDataKeyCommand({
        KeyId: this.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: { accountId },
      }),
    );
    if (!out.Plaintext || !out.CiphertextBlob || out.Plaintext.length !== KEY_BYTES) {
      throw new Error(`KMS GenerateDataKey for account ${accountId} returned no usable key`);
    }
    return { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob) };
  }

  /**
   * Calls KMS Decrypt with the key id and the account's encryption context.
   * @throws DecryptionError when KMS refuses the blob (other account, other key, altered)
   */
  async decryptDataKey(wrapped: Buffer, accountId: string): Promise<Buffer> {
    this.metrics?.keyProviderCall('Decrypt');
    let plaintext: Uint8Array | undefined;
    try {
      // Naming the key stops KMS from using whichever key the blob claims, should the blob be forged.
      const out = await this.client.send(
        new DecryptCommand({ CiphertextBlob: wrapped, KeyId: this.keyId, EncryptionContext: { accountId } }),
      );
      plaintext = out.Plaintext;
    } catch (err) {
      if (UNWRAP_FAILURES.has((err as Error).name)) {
        throw new DecryptionError(`KMS refused to unwrap the data key of account ${accountId}`, {
          cause: err,
        });
      }
      throw err;
    }
    if (!plaintext || plaintext.length !== KEY_BYTES) {
      throw new DecryptionError(`KMS unwrapped no 32-byte data key for account ${accountId}`);
    }
    return Buffer.from(plaintext);
  }

  /** Resolves when the key exists and is enabled (DescribeKey). */
  async check(): Promise<void> {
    this.metrics?.keyProviderCall('DescribeKey');
    const out = await this.client.send(new DescribeKeyCommand({ KeyId: this.keyId }));
    const meta = out.KeyMetadata;
    if (!meta?.Enabled) {
      throw new Error(`KMS key ${this.keyId} is not usable: state ${meta?.KeyState ?? 'unknown'}`);
    }
  }
}
