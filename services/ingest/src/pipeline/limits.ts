/**
 * Bounded in-memory rate limiting and de-duplication. Both hold at most `maxKeys` entries, so a flood of
 * distinct IPs or click ids cannot grow memory without bound; the oldest entries go first.
 */
import { LIMITS } from '../../../../platform';

/** Options of a {@link TokenBucketLimiter}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /**
   * Bucket size: how many requests may arrive at once.
   * @default `LIMITS.rateBurstSeconds` (ten) seconds' worth of `ratePerSecond`
   */
  readonly burst?: number;
  /**
   * Most keys tracked at once.
   * @default 100000
   */
  readonly maxKeys?: number;
  /**
   * Clock, in milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/** A token bucket per key (client IP, API key id). */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error('ratePerSecond must be positive');
    this.rate = options.ratePerSecond / 1000;
    this.burst = options.burst ?? options.ratePerSecond * LIMITS.rateBurstSeconds;
    if (!(this.burst >= 1)) throw new Error('burst must be at least 1, or no request could ever pass');
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Takes `cost` tokens for the key (one per event, so a batch pays for each of its events); `false`, taking
   * nothing, when the key has fewer left: the request is over its rate as a whole.
   */
  take(key: string, cost = 1): boolean {
    const bucket = this.refill(key);
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }

  /**
   * Seconds until the key has one token again: 0 when it has one now. What a 429's `Retry-After` says.
   */
  retryAfterSeconds(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + (this.now() - bucket.updated) * this.rate);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.rate / 1000);
  }

  /** The key's bucket, refilled for the time since it was last touched (created full when new). */
  private refill(key: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.evictOldest();
      bucket = { tokens: this.burst, updated: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updated) * this.rate);
      bucket.updated = now;
    }
    return bucket;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private evictOldest(): void {
    // Drop a tenth at once so eviction is amortized, not paid on every new key.
    let n = Math.max(1, Math.floor(this.maxKeys / 10));
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key);
      if (--n === 0) break;
    }
  }
}

/** Options of a {@link DedupWindow}. */
export interface DedupWindowOptions {
  /** How long a key is remembered, in milliseconds. */
  readonly windowMs: number;
  /**
   * Most keys remembered at once.
   * @default 200000
   */
  readonly maxKeys?: number;
  /**
   * Clock, in milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** Remembers keys for a window: the first sighting passes, repeats within the window are duplicates. */
export class DedupWindow {
  private readonly seen = new Map<string, number>();
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: DedupWindowOptions) {
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 200_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether the key was already seen within the window; records it if not. */
  isDuplicate(key: string): boolean {
    if (this.has(key)) return true;
    this.remember(key);
    return false;
  }

  /** Whether the key was seen within the window. */
  has(key: string): boolean {
    const expires = this.seen.get(key);
    if (expires === undefined) return false;
    if (expires > this.now()) return true;
    this.seen.delete(key);
    return false;
  }

  /** Records the key for a window from now. */
  remember(key: string): void {
    const now = this.now();
    // Re-inserted at the back, so insertion order stays expiry order.
    this.seen.delete(key);
    if (this.seen.size >= this.maxKeys) this.evict(now);
    this.seen.set(key, now + this.windowMs);
  }

  /** Forgets a key, so a retry after a failed store is not taken for a duplicate. */
  forget(key: string): void {
    this.seen.delete(key);
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  private evict(now: number): void {
    // Insertion order is expiry order (one window for all), so expired keys sit at the front.
    let budget = Math.max(1, Math.floor(this.maxKeys / 10));
    for (const [key, expires] of this.seen) {
      if (expires > now && budget <= 0) break;
      this.seen.delete(key);
      budget--;
    }
  }
}
