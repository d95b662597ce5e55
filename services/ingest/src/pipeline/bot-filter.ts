/**
 * The bot filter with a memory. `isbot` runs one large regular expression over the user agent, which was a
 * few percent of the pixel path's CPU; real traffic repeats a small set of user-agent strings (a handful of
 * browser builds make most hits), so each verdict is remembered in a bounded LRU and the expression runs
 * once per distinct string.
 */
import { isbot } from 'isbot';

/** Distinct user agents remembered by default: a few hundred browser builds cover nearly all traffic. */
export const DEFAULT_BOT_CACHE_ENTRIES = 2_048;
/**
 * Longer strings are judged every time and never remembered: a client rotating long forged user agents
 * must not be able to fill the cache with kilobytes per entry.
 */
export const MAX_CACHED_USER_AGENT_CHARS = 512;

/** Options of {@link BotFilter}. */
export interface BotFilterOptions {
  /**
   * Distinct user-agent strings remembered; the least recently seen is forgotten first.
   * @default DEFAULT_BOT_CACHE_ENTRIES
   */
  readonly maxEntries?: number;
  /**
   * The verdict itself, for tests.
   * @default isbot
   */
  readonly judge?: (userAgent: string) => boolean;
}

/** Says whether a user agent is a bot, remembering the verdicts of recently seen strings. */
export class BotFilter {
  private readonly maxEntries: number;
  private readonly judge: (userAgent: string) => boolean;
  // Map order doubles as recency order (least recently seen first).
  private readonly verdicts = new Map<string, boolean>();

  constructor(options: BotFilterOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_BOT_CACHE_ENTRIES;
    if (!Number.isInteger(max) || max < 0)
      throw new RangeError(`BotFilter maxEntries must be a non-negative integer, got ${max}`);
    this.maxEntries = max;
    this.judge = options.judge ?? isbot;
  }

  /** Verdicts held now (at most `maxEntries`). */
  get size(): number {
    return this.verdicts.size;
  }

  /** Whether `userAgent` belongs to a bot; a missing user agent counts as one (browsers always send it). */
  isBot(userAgent: string | undefined): boolean {
    if (userAgent === undefined) return true;
    if (userAgent.length > MAX_CACHED_USER_AGENT_CHARS || this.maxEntries === 0) return this.judge(userAgent);
    const known = this.verdicts.get(userAgent);
    if (known !== undefined) {
      // Refreshes recency only when it matters, so the common hit costs a single look-up.
      if (this.verdicts.size >= this.maxEntries) {
        this.verdicts.delete(userAgent);
        this.verdicts.set(userAgent, known);
      }
      return known;
    }
    const verdict = this.judge(userAgent);
    if (this.verdicts.size >= this.maxEntries) {
      const oldest = this.verdicts.keys().next();
      if (!oldest.done) this.verdicts.delete(oldest.value);
    }
    this.verdicts.set(userAgent, verdict);
    return verdict;
  }
}
