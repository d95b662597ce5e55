/**
 * Wraps and unwraps per-account data keys with a regional master key (AWS KMS, Cloud KMS, or a local
 * key file). The account id is bound as encryption context, so a wrapped key moved to another account
 * does not unwrap.
 */

/** A freshly generated data key. */
export interface GeneratedDataKey {
  /** 32 bytes of AES-256 key material; never stored, never logged. */
  readonly plaintext: Buffer;
  /** The key wrapped by the master key, safe to store. */
  readonly wrapped: Buffer;
}

/** A master key that wraps data keys. */
export interface KeyProvider {
  /** Short name for logs and metrics, e.g. `kms`. */
  readonly name: string;
  /** Generates a new AES-256 data key bound to the account. */
  generateDataKey(accountId: string): Promise<GeneratedDataKey>;
  /** Unwraps a data key; rejects if it was wrapped for another account or tampered with. */
  decryptDataKey(wrapped: Buffer, accountId: string): Promise<Buffer>;
  /** Resolves when the master key is usable (readiness). */
  check(): Promise<void>;
}
