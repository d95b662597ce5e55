/**
 * CSPRNG bytes for the hot path, drawn from a pool refilled 4 KiB at a time: one `randomFillSync` per few
 * hundred takers instead of one each (that call was a tenth of the pixel path's CPU when every seal made
 * it). Every byte is still fresh `randomFillSync` output handed out once: a refill replaces the whole pool,
 * and nothing is ever read from it twice.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let used = POOL_BYTES;

/**
 * Copies `length` fresh random bytes into `target` at `offset`.
 * @param length at most 4,096; a remainder too short for it is skipped, never reused
 */
export function takeRandomBytes(target: Uint8Array, offset: number, length: number): void {
  if (length > POOL_BYTES)
    throw new RangeError(`at most ${POOL_BYTES} random bytes at a time, got ${length}`);
  if (used + length > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  // A loop, not `Buffer.copy`: for the dozen bytes of an IV or an id, the native call costs more than the copy.
  for (let i = 0; i < length; i++) target[offset + i] = pool[used + i]!;
  used += length;
}
