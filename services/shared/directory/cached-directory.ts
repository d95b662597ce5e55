/**
 * The hot-path view of the directory: account, API key and campaign lookups are answered from memory for
 * a short, bounded time, so a hit costs no directory read while a status change still reaches every
 * instance promptly.
 *
 * The promise this module keeps: a cached status is trusted for at most
 * `LIMITS.keyStatusCacheSeconds` (60 s), counted from the moment the directory was read, and the cache
 * refuses any longer setting. So once an API key is revoked or an account expires in the directory, every
 * instance in every region refuses it within 60 s (plus the table's replication lag), with no call between
 * instances.
 */
import { LIMITS } from '../../../platform';
import type {
  AccountRecord,
  ApiKeyRecord,
  BranchKeyRecord,
  CampaignRecord,
  ConversionClaim,
  Directory,
  WrappedDataKeyRecord,
} from './directory';

/** Options of {@link StatusCache}. */
export interface StatusCacheOptions {
  /** Seconds a found record is trusted; at most `LIMITS.keyStatusCacheSeconds` (60). */
  readonly ttlSeconds?: number;
  /** Seconds a "not found" is trusted; at most `ttlSeconds`. Defaults to 5 s or `ttlSeconds` if lower. */
  readonly negativeTtlSeconds?: number;
  /** Entries kept at most; the oldest is dropped first. */
  readonly maxEntries?: number;
  /** Clock in milliseconds, injectable for tests. */
  readonly now?: () => number;
}

/** Default bound on entries of one {@link StatusCache}. */
export const DEFAULT_STATUS_CACHE_ENTRIES = 10_000;
/**
 * Default lifetime of a cached "not found": short, so a key or campaign created a moment ago works
 * quickly, yet long enough that a flood of unknown ids is not a flood of directory reads.
 */
export const DEFAULT_NEGATIVE_TTL_SECONDS = 5;

/** A cached answer: `value` is `undefined` when the answer was "not found". */
export interface CachedAnswer<V> {
  readonly value: V | undefined;
}

interface Entry<V> extends CachedAnswer<V> {
  readonly expiresAt: number;
}

/**
 * Synchronous reads of what a cache already holds, so that a hot path with everything cached makes no
 * promise and takes no microtask turn. `undefined` means "not cached": ask the asynchronous method.
 */
export interface CachedLookups {
  /** The account as cached, or `undefined` when `getAccount` must be asked. */
  peekAccount(accountId: string): CachedAnswer<AccountRecord> | undefined;
  /** The campaign as cached, or `undefined` when `getCampaign` must be asked. */
  peekCampaign(accountId: string, campaignId: string): CachedAnswer<CampaignRecord> | undefined;
}

/**
 * A bounded time-to-live cache with single-flight loading: concurrent misses for one key share one load.
 * Caches "not found" too, for a shorter time. Errors are never cached.
 */
export class StatusCache<V> {
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Promise<V | undefined>>();

  /** @throws RangeError when a TTL exceeds 60 s (`LIMITS.keyStatusCacheSeconds`) or a bound is invalid */
  constructor(options: StatusCacheOptions = {}) {
    const ttl = options.ttlSeconds ?? LIMITS.keyStatusCacheSeconds;
    if (!Number.isFinite(ttl) || ttl < 0 || ttl > LIMITS.keyStatusCacheSeconds) {
      throw new RangeError(
        `status cache TTL must be between 0 and ${LIMITS.keyStatusCacheSeconds} s (a revoked key must be ` +
          `refused within ${LIMITS.keyStatusCacheSeconds} s), got ${ttl}`,
      );
    }
    const negativeTtl = options.negativeTtlSeconds ?? Math.min(ttl, DEFAULT_NEGATIVE_TTL_SECONDS);
    if (!Number.isFinite(negativeTtl) || negativeTtl < 0 || negativeTtl > ttl) {
      throw new RangeError(
        `status cache negative TTL must be between 0 and the TTL (${ttl} s), got ${negativeTtl}`,
      );
    }
    const maxEntries = options.maxEntries ?? DEFAULT_STATUS_CACHE_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`status cache maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.ttlMs = ttl * 1000;
    this.negativeTtlMs = negativeTtl * 1000;
    this.maxEntries = maxEntries;
    this.now = options.now ?? Date.now;
  }

  /** Entries currently held (expired ones included until touched or pushed out). */
  get size(): number {
    return this.entries.size;
  }

  /** The fresh cached answer for `key`, or `undefined` when {@link get} must load it. */
  peek(key: string): CachedAnswer<V> | undefined {
    const entry = this.entries.get(key);
    return entry && this.now() < entry.expiresAt ? entry : undefined;
  }

  /**
   * The cached value of `key`, or the result of `load` when there is none or it has expired.
   * @param load reads the source of truth; resolves `undefined` for "not found"
   */
  get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const entry = this.entries.get(key);
    if (entry) {
      if (this.now() < entry.expiresAt) return Promise.resolve(entry.value);
      this.entries.delete(key);
    }
    const pending = this.inflight.get(key);
    if (pending) return pending;
    // The age of a value counts from when its read began, not when it returned: the bound is on data age.
    const startedAt = this.now();
    const flight = load();
    this.inflight.set(key, flight);
    // Registered before any caller can await the flight, so the entry exists by the time callers resume.
    flight.then(
      (value) => {
        // An invalidation during the load removed this flight: its result may predate the write.
        if (this.inflight.get(key) !== flight) return;
        this.inflight.delete(key);
        this.store(key, value, startedAt + (value === undefined ? this.negativeTtlMs : this.ttlMs));
      },
      () => {
        if (this.inflight.get(key) === flight) this.inflight.delete(key);
      },
    );
    return flight;
  }

  /** Forgets `key`, including a load in progress, so the next {@link get} reads the source. */
  invalidate(key: string): void {
    this.entries.delete(key);
    this.inflight.delete(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
    this.inflight.clear();
  }

  private store(key: string, value: V | undefined, expiresAt: number): void {
    if (expiresAt <= this.now()) return;
    this.entries.delete(key);
    // Every entry lives at most one TTL, so the oldest inserted is the nearest to expiry: dropping it
    // first is as good as LRU here and costs nothing on a hit.
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt });
  }
}

/** Options of {@link CachedDirectory}. */
export interface CachedDirectoryProps extends StatusCacheOptions {
  /** The directory to read through to. */
  readonly directory: Directory;
}

/**
 * Wraps any {@link Directory} with {@link StatusCache}s for accounts, API keys and campaigns. Data keys
 * pass through (the data key service caches unwrapped keys itself). Writes pass through and then drop
 * the local entry, so this instance sees its own writes at once; other instances see them within the TTL.
 */
export class CachedDirectory implements Directory, CachedLookups {
  /** The wrapped directory's name. */
  readonly name: string;
  /** The wrapped directory. */
  readonly directory: Directory;
  private readonly accounts: StatusCache<AccountRecord>;
  private readonly apiKeys: StatusCache<ApiKeyRecord>;
  private readonly campaigns: StatusCache<CampaignRecord>;

  /**
   * @param props the directory to wrap and cache options, or just the directory (default options)
   * @throws RangeError when a TTL exceeds 60 s or a bound is invalid
   */
  constructor(props: CachedDirectoryProps | Directory) {
    if ('getAccount' in props) props = { directory: props };
    this.directory = props.directory;
    this.name = props.directory.name;
    this.accounts = new StatusCache(props);
    // A key id that does not exist is remembered as long as one that does: how long an answer stays fast
    // must not tell a prober whether the id exists.
    const keyTtl = props.ttlSeconds ?? LIMITS.keyStatusCacheSeconds;
    this.apiKeys = new StatusCache({ ...props, negativeTtlSeconds: keyTtl });
    this.campaigns = new StatusCache(props);
  }

  /** Reads an account, from cache when fresh. */
  getAccount(accountId: string): Promise<AccountRecord | undefined> {
    return this.accounts.get(accountId, () => this.directory.getAccount(accountId));
  }

  /** Writes an account and drops its cached entry. */
  async putAccount(account: AccountRecord): Promise<void> {
    await this.directory.putAccount(account);
    this.accounts.invalidate(account.accountId);
  }

  /** Reads an API key, from cache when fresh: a revoked key is refused here within the TTL. */
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    return this.apiKeys.get(keyId, () => this.directory.getApiKey(keyId));
  }

  /** Writes an API key and drops its cached entry. */
  async putApiKey(key: ApiKeyRecord): Promise<void> {
    await this.directory.putApiKey(key);
    this.apiKeys.invalidate(key.keyId);
  }

  /** @inheritdoc */
  peekAccount(accountId: string): CachedAnswer<AccountRecord> | undefined {
    return this.accounts.peek(accountId);
  }

  /** @inheritdoc */
  peekCampaign(accountId: string, campaignId: string): CachedAnswer<CampaignRecord> | undefined {
    return this.campaigns.peek(campaignKey(accountId, campaignId));
  }

  /** Reads a campaign, from cache when fresh. */
  getCampaign(accountId: string, campaignId: string): Promise<CampaignRecord | undefined> {
    return this.campaigns.get(campaignKey(accountId, campaignId), () =>
      this.directory.getCampaign(accountId, campaignId),
    );
  }

  /** Writes a campaign and drops its cached entry. */
  async putCampaign(campaign: CampaignRecord): Promise<void> {
    await this.directory.putCampaign(campaign);
    this.campaigns.invalidate(campaignKey(campaign.accountId, campaign.campaignId));
  }

  /** Reads a wrapped data key (not cached). */
  getDataKey(accountId: string, location: string): Promise<WrappedDataKeyRecord | undefined> {
    return this.directory.getDataKey(accountId, location);
  }

  /** Stores a wrapped data key unless one exists (not cached). */
  putDataKeyIfAbsent(record: WrappedDataKeyRecord): Promise<WrappedDataKeyRecord> {
    return this.directory.putDataKeyIfAbsent(record);
  }

  /** Writes a data key's branch-sealed copy (not cached). */
  putDataKeyBranchCopy(
    record: WrappedDataKeyRecord,
    previousBranchKeyId: string | undefined,
  ): Promise<boolean> {
    return this.directory.putDataKeyBranchCopy(record, previousBranchKeyId);
  }

  /** Reads a branch key (not cached here: the data key service keeps the unwrapped key). */
  getBranchKey(location: string, version: number, nowMs: number): Promise<BranchKeyRecord | undefined> {
    return this.directory.getBranchKey(location, version, nowMs);
  }

  /** Stores a branch key unless one exists (not cached). */
  putBranchKeyIfAbsent(record: BranchKeyRecord): Promise<BranchKeyRecord> {
    return this.directory.putBranchKeyIfAbsent(record);
  }

  /** Takes a conversion claim (never cached: it must be atomic across instances). */
  claimConversion(claim: ConversionClaim, nowMs: number): Promise<boolean> {
    return this.directory.claimConversion(claim, nowMs);
  }

  /** Whether a live conversion claim exists (never cached). */
  hasConversionClaim(accountId: string, key: string, nowMs: number): Promise<boolean> {
    return this.directory.hasConversionClaim(accountId, key, nowMs);
  }

  /** Drops a conversion claim. */
  releaseConversion(accountId: string, key: string): Promise<void> {
    return this.directory.releaseConversion(accountId, key);
  }

  /** Checks the wrapped directory. */
  check(): Promise<void> {
    return this.directory.check();
  }

  /** Drops every cached entry of an account (its record and campaigns), e.g. after an out-of-band change. */
  invalidateAccount(accountId: string): void {
    this.accounts.invalidate(accountId);
    // Campaign entries are keyed by account first; a purge or expiry is rare enough to clear them all.
    this.campaigns.clear();
  }

  /** Drops the cached entry of an API key, e.g. when this process itself revoked it. */
  invalidateApiKey(keyId: string): void {
    this.apiKeys.invalidate(keyId);
  }
}

function campaignKey(accountId: string, campaignId: string): string {
  return `${accountId}/${campaignId}`;
}
