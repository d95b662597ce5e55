/**
 * AES-256-GCM sealing of small payloads: the personal fields of one hit, or one wrapped data key.
 *
 * A sealed blob describes itself, so it can be stored anywhere and opened years later:
 *
 * ```
 * version (1 byte) | IV (12 bytes, random) | ciphertext (same length as plaintext) | tag (16 bytes)
 * ```
 *
 * Random 96-bit IVs stay safe for about 2^32 messages under one key (NIST SP 800-38D); data keys are per
 * account, so that budget is per account, far above any account's hit volume between key replacements.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { takeRandomBytes } from '../../../shared/random-pool';

/** Version byte of the current blob layout; bump it when the layout or the algorithm changes. */
export const SEAL_VERSION = 1;
/** Bytes of an AES-256 key. */
export const KEY_BYTES = 32;
/** Bytes of the GCM IV. */
export const IV_BYTES = 12;
/** Bytes of the GCM authentication tag. */
export const TAG_BYTES = 16;
/** Bytes that {@link seal} adds to the plaintext. */
export const SEAL_OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

const CIPHER = 'aes-256-gcm';
const IV_OFFSET = 1;
const CT_OFFSET = IV_OFFSET + IV_BYTES;

/**
 * Raised when a blob does not open: it was tampered with, truncated, sealed under another key or with
 * other additional authenticated data, or has an unknown version. The message never contains key material.
 */
export class DecryptionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecryptionError';
  }
}

function assertKey(key: Buffer): void {
  // A key of the wrong length is a programming error, not a bad ciphertext: fail loudly and differently.
  if (key.length !== KEY_BYTES)
    throw new RangeError(`AES-256-GCM key must be ${KEY_BYTES} bytes, got ${key.length}`);
}

/**
 * Encrypts and authenticates `plaintext`, binding it to `aad`.
 * @param key 32-byte AES-256 key
 * @param plaintext bytes to protect, or a string to protect as UTF-8 (encoded by the cipher itself, with no
 *   intermediate buffer: the hot path seals a JSON string per hit)
 * @param aad additional authenticated data (not stored in the blob; {@link open} needs the same bytes)
 * @returns `version | iv | ciphertext | tag`, {@link SEAL_OVERHEAD} bytes longer than the plaintext
 */
export function seal(key: Buffer, plaintext: Buffer | string, aad: Buffer): Buffer {
  const length = typeof plaintext === 'string' ? Buffer.byteLength(plaintext, 'utf8') : plaintext.length;
  // One output allocation per call: the IV is copied into it and the ciphertext and tag after it.
  return sealInto(Buffer.allocUnsafe(SEAL_OVERHEAD + length), key, plaintext, length, aad);
}

/**
 * {@link seal}, as the base64 of the blob: the per-hit form. The blob is assembled in a scratch buffer
 * reused by every call (sealing is synchronous, so no two calls share it), which spares the buffer
 * allocations that otherwise made a seal cost a tenth more.
 */
export function sealToBase64(key: Buffer, plaintext: string, aad: Buffer): string {
  const length = Buffer.byteLength(plaintext, 'utf8');
  const size = SEAL_OVERHEAD + length;
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, scratch.length * 2));
  // The scratch buffer holds key-derived bytes only between these two lines: ciphertext and tag, which
  // are public once stored; the plaintext never enters it.
  return sealInto(scratch, key, plaintext, length, aad).toString('base64', 0, size);
}

let scratch = Buffer.allocUnsafeSlow(4096);

function sealInto(out: Buffer, key: Buffer, plaintext: Buffer | string, length: number, aad: Buffer): Buffer {
  assertKey(key);
  out[0] = SEAL_VERSION;
  // A fresh IV from the shared CSPRNG pool (see random-pool.ts for why pooled).
  takeRandomBytes(out, IV_OFFSET, IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, out.subarray(IV_OFFSET, CT_OFFSET), {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(aad);
  const ct = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  ct.copy(out, CT_OFFSET);
  // GCM is a stream mode: final() emits nothing, but it must run before the tag exists.
  cipher.final();
  cipher.getAuthTag().copy(out, CT_OFFSET + length);
  return out;
}

/**
 * Verifies and decrypts a blob made by {@link seal}.
 * @param key the 32-byte key it was sealed with
 * @param blob `version | iv | ciphertext | tag`
 * @param aad the same additional authenticated data given to {@link seal}
 * @throws DecryptionError on any tampering, truncation, unknown version, wrong key or wrong AAD
 */
export function open(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
  assertKey(key);
  if (blob.length < SEAL_OVERHEAD) {
    throw new DecryptionError(
      `sealed blob is truncated: ${blob.length} bytes, at least ${SEAL_OVERHEAD} expected`,
    );
  }
  if (blob[0] !== SEAL_VERSION) throw new DecryptionError(`sealed blob has unknown version ${blob[0]}`);
  const tagOffset = blob.length - TAG_BYTES;
  try {
    const decipher = createDecipheriv(CIPHER, key, blob.subarray(IV_OFFSET, CT_OFFSET), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(blob.subarray(tagOffset));
    const plaintext = decipher.update(blob.subarray(CT_OFFSET, tagOffset));
    // final() is what checks the tag; nothing is returned unless it passes.
    decipher.final();
    return plaintext;
  } catch (err) {
    throw new DecryptionError(
      'sealed blob failed authentication: tampered, or sealed under another key or additional data',
      { cause: err },
    );
  }
}
