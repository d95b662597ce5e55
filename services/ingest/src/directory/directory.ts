/**
 * The account directory: accounts, API keys, campaigns and wrapped data keys (DESIGN §2). DynamoDB on
 * AWS, Firestore on GCP, a local file on embedded defaults; all share the item layout in
 * `infra/platform.ts` (`DIRECTORY`).
 */

/** Lifecycle state of an account. */
export type AccountStatus = 'active' | 'expired' | 'purged';

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
  readonly createdAt: string;
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
}

/** Per-campaign settings, served to the snippet as the campaign config and read by the ingest service. */
export interface CampaignRecord {
  readonly campaignId: string;
  readonly accountId: string;
  readonly name: string;
  /** Count hits without personal fields when the visitor has not consented (DNT, GPC, opt-out). */
  readonly countAnonymous: boolean;
  /** Page origins the snippet may run on; empty means any. */
  readonly allowedOrigins: readonly string[];
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
  /** Resolves when the directory is reachable (readiness). */
  check(): Promise<void>;
}
