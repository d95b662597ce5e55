/**
 * The account directory: accounts, API keys, campaigns and wrapped data keys. DynamoDB on
 * AWS, Firestore on GCP, a local file on embedded defaults; all share the item layout in
 * `platform/` (`DIRECTORY`).
 */

import { ID_PATTERNS, LIMITS, LOCATIONS, type Location, parseIsoInstant } from '../../../platform';

/** The lifecycle states of an account. */
export const ACCOUNT_STATUSES = ['active', 'expired', 'purged'] as const;
/** Lifecycle state of an account. */
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** An account record. */
export interface AccountRecord {
  readonly accountId: string;
  readonly status: AccountStatus;
  /** ISO-8601 instant the account expired; set while status is `expired`. */
  readonly expiredAt?: string;
  /** ISO-8601 instant the account's data was purged. */
  readonly purgedAt?: string;
  /** Where customer notifications go. */
  readonly contactEmail?: string;
  /**
   * The account's home location (data residency): its hits are only ever served and stored there. The edge
   * routes them home (the edge store's `home:<accountId>`), and an ingest instance elsewhere refuses them.
   */
  readonly homeLocation?: Location;
  readonly createdAt: string;
}

/** A record the directory refuses to store, because a reader could not judge it correctly. */
export class InvalidRecordError extends Error {
  constructor(
    message: string,
    /** Each problem, naming the field. */
    public readonly problems: readonly string[],
  ) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

/**
 * What is wrong with an account record, field by field; empty when it may be stored. An expired account's
 * `expiredAt` must be an instant with a time zone and not in the future: the purge counts its days from
 * it, so a later date would keep the account's data past the 90-day promise.
 * @param nowMs the writer's clock; `LIMITS.maxClockSkewSeconds` of skew is tolerated
 */
export function accountRecordProblems(account: AccountRecord, nowMs: number): string[] {
  const problems: string[] = [];
  if (!ID_PATTERNS.account.test(account.accountId))
    problems.push('accountId: must be "acc_" followed by 8-32 lowercase letters or digits');
  if (!(ACCOUNT_STATUSES as readonly string[]).includes(account.status))
    problems.push(`status: must be one of ${ACCOUNT_STATUSES.join(', ')}`);
  if (account.expiredAt !== undefined || account.status === 'expired') {
    const at = parseIsoInstant(account.expiredAt);
    if (at === undefined)
      problems.push(
        account.expiredAt === undefined
          ? 'expiredAt: is required when status is expired'
          : 'expiredAt: must be an ISO-8601 instant with a time zone, e.g. 2026-09-30T00:00:00Z',
      );
    else if (account.status === 'expired' && at > nowMs + LIMITS.maxClockSkewSeconds * 1000)
      problems.push(
        `expiredAt: must not be in the future (${account.expiredAt}): the purge counts its 45 to 90 days from it`,
      );
  }
  if (account.homeLocation !== undefined && !(LOCATIONS as readonly string[]).includes(account.homeLocation))
    problems.push(`homeLocation: must be one of ${LOCATIONS.join(', ')}`);
  return problems;
}

/** Status of an API key. */
export type ApiKeyStatus = 'active' | 'revoked';

/** An API key record: only a hash of the secret is ever stored. */
export interface ApiKeyRecord {
  readonly keyId: string;
  readonly accountId: string;
  /** Hex SHA-256 of the whole key string. */
  readonly secretHash: string;
  readonly status: ApiKeyStatus;
  readonly createdAt: string;
  readonly revokedAt?: string;
  readonly revokedReason?: string;
  /**
   * Whether the key may be presented in the URL (`?key=`), for an affiliate network that cannot send
   * headers. URLs end up in CDN, proxy and server logs, so keys are header-only unless this is set.
   * @default false
   */
  readonly allowInUrl?: boolean;
}

/** Per-campaign settings, served to the snippet as the campaign config and read by the ingest service. */
export interface CampaignRecord {
  readonly campaignId: string;
  readonly accountId: string;
  readonly name: string;
  /** Count hits without personal fields when the visitor has not consented (DNT, GPC, opt-out). */
  readonly countAnonymous: boolean;
  /**
   * Page origins whose browser hits are taken (`https://shop.example`, or `https://*.shop.example` for its
   * subdomains); empty means any. Server postbacks are not browser hits and are not checked.
   */
  readonly allowedOrigins: readonly string[];
  /**
   * Query parameters of the page URL kept in clear when the visitor consented (a trailing `*` matches a
   * prefix); the rest of the query string is stored encrypted.
   * @default DEFAULT_CAMPAIGN_URL_PARAMS (utm_*, gclid, fbclid, msclkid, …)
   */
  readonly urlParams?: readonly string[];
}

/** A data key wrapped by one location's master key. */
export interface WrappedDataKeyRecord {
  readonly accountId: string;
  readonly location: string;
  /** Base64 of the wrapped key. */
  readonly wrapped: string;
  /** Identifies the key in ciphertext envelopes; changes whenever the key is replaced. */
  readonly dataKeyId: string;
  readonly createdAt: string;
  /**
   * Base64 of the same data key sealed (AES-256-GCM) under the location's branch key `branchKeyId`, bound
   * to the account, location, branch key and data key id: instances holding that branch key open it without
   * the master key. It lives in this item so that deleting the item (the purge) shreds both copies.
   */
  readonly branchSealed?: string;
  /** Id of the branch key that sealed `branchSealed`. */
  readonly branchKeyId?: string;
  /** Version (rotation period) of that branch key, to find its item. */
  readonly branchKeyVersion?: number;
}

/**
 * A location's branch key for one rotation period: a random AES-256 key wrapped by the location's master key
 * (never stored in clear), which seals that location's data keys so that an instance unwraps one key with
 * the master key per version instead of one per account.
 */
export interface BranchKeyRecord {
  readonly location: string;
  /** The rotation period it serves: `floor(epoch seconds / LIMITS.branchKeyRotationSeconds)`. */
  readonly version: number;
  /** Random id, bound into every copy it seals: a replaced branch key never opens the old one's copies. */
  readonly branchKeyId: string;
  /** Base64 of the key wrapped by the master key. */
  readonly wrapped: string;
  readonly createdAt: string;
  /** Epoch second after which it is void: readers treat it as absent and the time-to-live deletes it. */
  readonly expiresAt: number;
}

/**
 * A conversion's claim on its de-duplication key: the first instance to store it for a key owns the key
 * until `expiresAtMs`; any other instance, or this one after a restart, sees a duplicate.
 */
export interface ConversionClaim {
  readonly accountId: string;
  /**
   * The key within the account: the trust level and a hash of (click id, event type), never the click id
   * itself, which is personal.
   */
  readonly key: string;
  /** Epoch milliseconds at which the claim lapses: the end of the de-duplication window. */
  readonly expiresAtMs: number;
}

/** Reads and writes the directory. */
export interface Directory {
  readonly name: string;
  getAccount(accountId: string): Promise<AccountRecord | undefined>;
  putAccount(account: AccountRecord): Promise<void>;
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  putApiKey(key: ApiKeyRecord): Promise<void>;
  getCampaign(accountId: string, campaignId: string): Promise<CampaignRecord | undefined>;
  putCampaign(campaign: CampaignRecord): Promise<void>;
  getDataKey(accountId: string, location: string): Promise<WrappedDataKeyRecord | undefined>;
  /**
   * Stores a wrapped data key unless one already exists for (account, location). Resolves with the record
   * that is stored afterwards: the given one, or the one another instance stored first.
   */
  putDataKeyIfAbsent(record: WrappedDataKeyRecord): Promise<WrappedDataKeyRecord>;
  /**
   * Adds or replaces the branch-sealed copy of a stored data key: only while the stored item still holds
   * the same wrapped key (so a purged or replaced key is never written back) and the copy `previousBranchKeyId`
   * (`undefined`: none). Resolves `false`, changing nothing, otherwise; a lost race is harmless.
   */
  putDataKeyBranchCopy(
    record: WrappedDataKeyRecord,
    previousBranchKeyId: string | undefined,
  ): Promise<boolean>;
  /** A location's branch key of one version (strongly consistent); an expired one is absent. */
  getBranchKey(location: string, version: number, nowMs: number): Promise<BranchKeyRecord | undefined>;
  /**
   * Stores a branch key unless one exists for (location, version), never replacing one. Resolves with the
   * record stored afterwards: the given one, or the one another instance stored first.
   */
  putBranchKeyIfAbsent(record: BranchKeyRecord): Promise<BranchKeyRecord>;
  /**
   * Takes a claim unless a live one exists for the same (account, key): resolves `true` when this caller
   * now holds it, `false` for a duplicate. Atomic across every instance and process sharing the directory.
   * @param nowMs the clock of the caller: claims whose `expiresAtMs` is not after it are void
   */
  claimConversion(claim: ConversionClaim, nowMs: number): Promise<boolean>;
  /** Whether a live claim exists for (account, key), without taking one. */
  hasConversionClaim(accountId: string, key: string, nowMs: number): Promise<boolean>;
  /** Drops a claim whose conversion could not be stored, so that the client's retry is not a duplicate. */
  releaseConversion(accountId: string, key: string): Promise<void>;
  /** Resolves when the directory is reachable (readiness). */
  check(): Promise<void>;
}
