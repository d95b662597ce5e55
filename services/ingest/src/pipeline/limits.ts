/**
 * Bounded in-memory rate limiting and de-duplication. Both hold at most `maxKeys` entries, so a flood of
 * distinct IPs or click ids cannot grow memory without bound; the oldest entries go first.
 */

/** Options of a {@link TokenBucketLimiter}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /**
   * Bucket size: how many requests may arrive at once.
   * @default ten seconds' worth of `ratePerSecond`
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
    this.burst = options.burst ?? options.ratePerSecond * 10;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Takes one token for the key; `false` means the key is over its rate. */
  take(key: string): boolean {
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
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
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
    const now = this.now();
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > now) return true;
    if (expires !== undefined) this.seen.delete(key);
    if (this.seen.size >= this.maxKeys) this.evict(now);
    this.seen.set(key, now + this.windowMs);
    return false;
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
