/**
 * Exponential backoff, the one schedule every retry loop of the services uses: the delay before retry
 * `n` (1 for the first retry) is `baseMs · 2^(n-1)`, capped at `maxMs`, optionally jittered so that
 * clients that failed together do not retry together.
 */

/** How a backoff is jittered. */
export type Jitter =
  /** The whole capped delay: predictable, for loops that already run alone. */
  | 'none'
  /** Uniform in [0, delay]: spreads retries most (AWS "full jitter"). */
  | 'full'
  /** Uniform in [delay/2, delay]: spreads retries but never comes back at once. */
  | 'equal';

/** A backoff schedule. */
export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds (before jitter). */
  readonly baseMs: number;
  /**
   * Longest delay, in milliseconds.
   * @default Infinity
   */
  readonly maxMs?: number;
  /** @default 'none' */
  readonly jitter?: Jitter;
  /**
   * Source of randomness in [0, 1).
   * @default Math.random
   */
  readonly random?: () => number;
}

/** The delay before retry `retry` (1-based), in milliseconds. */
export function backoffMs(retry: number, options: BackoffOptions): number {
  // The exponent is bounded so that a long outage cannot overflow to Infinity before the cap applies.
  const exponent = Math.min(Math.max(retry - 1, 0), 30);
  const delay = Math.min(options.maxMs ?? Infinity, options.baseMs * 2 ** exponent);
  const random = options.random ?? Math.random;
  switch (options.jitter ?? 'none') {
    case 'full':
      return random() * delay;
    case 'equal':
      return delay / 2 + (random() * delay) / 2;
    default:
      return delay;
  }
}

/** Resolves after `ms` milliseconds, without keeping the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
