/**
 * API keys have the form `tsk_<keyid>_<secret>`. The key id is public and indexes the directory; only a
 * SHA-256 hash of the whole key is stored, so a leaked directory does not leak usable keys. The secret is
 * 40 base62 characters (about 238 bits), which is why a fast hash suffices here where a password would
 * need a slow one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ID_PATTERNS } from '../../platform';

/** The two halves of a parsed key. */
export interface ParsedApiKey {
  readonly keyId: string;
  readonly secret: string;
}

/** Splits a key string, or returns `undefined` when it is not of the form `tsk_<keyid>_<secret>`. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  const m = ID_PATTERNS.apiKey.exec(key);
  if (!m || !m[1] || !m[2]) return undefined;
  return { keyId: m[1], secret: m[2] };
}

/** Hex SHA-256 of the whole key string: what the directory stores. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Compares a presented key with a stored hash in constant time. */
export function apiKeyMatches(key: string, secretHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), 'hex');
  const b = Buffer.from(secretHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE36 = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random string over an alphabet, without modulo bias. */
export function randomString(length: number, alphabet: string): string {
  let out = '';
  // Rejection sampling: bytes ≥ the largest multiple of the alphabet size are skipped.
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new API key: the full key (shown to the customer once) and what the directory stores. */
export interface NewApiKey {
  /** The whole key; never stored. */
  readonly key: string;
  readonly keyId: string;
  readonly secretHash: string;
}

/** Generates a new API key. */
export function generateApiKey(): NewApiKey {
  const keyId = randomString(16, BASE36);
  const key = `tsk_${keyId}_${randomString(40, BASE62)}`;
  return { key, keyId, secretHash: hashApiKey(key) };
}
