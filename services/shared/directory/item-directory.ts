/**
 * What every directory store shares: the item layout of `DIRECTORY` in `platform/layout.ts` (the DynamoDB
 * table and the local file hold the very same items), and the typed record methods built on three
 * item-level primitives that each store implements.
 */
import { DIRECTORY } from '../../../platform';
import type {
  AccountRecord,
  ApiKeyRecord,
  BranchKeyRecord,
  CampaignRecord,
  ConversionClaim,
  Directory,
  WrappedDataKeyRecord,
} from './directory';
import { InvalidRecordError, accountRecordProblems } from './directory';

/** The primary key of a directory item. */
export interface DirectoryItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** A stored directory item: its key and the record's attributes, as in the DynamoDB table. */
export type DirectoryItem = DirectoryItemKey & { readonly [attribute: string]: unknown };

/**
 * Item-level access for maintenance jobs (purge, incident), offered by every directory store so those
 * jobs need not know which store they run against.
 */
export interface DirectoryMaintenance {
  /** Every item of one partition, e.g. `ACCOUNT#<id>` (the account, its campaigns and data keys). */
  listItems(pk: string): Promise<DirectoryItem[]>;
  /** Deletes items by key; missing ones are ignored. Resolves with how many keys were requested. */
  deleteItems(keys: readonly DirectoryItemKey[]): Promise<number>;
  /** Every account record. */
  listAccounts(): Promise<AccountRecord[]>;
  /** Every API key record of one account (they live in their own `APIKEY#` partitions). */
  listApiKeys(accountId: string): Promise<ApiKeyRecord[]>;
  /** Every campaign of one account (one read of its `ACCOUNT#` partition), sorted by campaign id. */
  listCampaigns(accountId: string): Promise<CampaignRecord[]>;
  /**
   * The campaigns of that id in every account: campaign ids are unique per account only, so a tool given
   * a bare campaign id must find out whether it is ambiguous. Sorted by account id.
   */
  findCampaigns(campaignId: string): Promise<CampaignRecord[]>;
  /** Reads one item, strongly consistently, with every attribute it has. */
  readItem(key: DirectoryItemKey): Promise<DirectoryItem | undefined>;
  /**
   * Compare-and-set: creates or replaces `item` only if the stored item's attributes equal `expected`
   * (`null`: the attribute, or the whole item, is absent). Resolves `false`, changing nothing, otherwise.
   * How jobs such as the purge keep their progress on a record that other writers also touch.
   */
  putItemIf(item: DirectoryItem, expected: Readonly<Record<string, ExpectedValue>>): Promise<boolean>;
}

/** A value {@link DirectoryMaintenance.putItemIf} expects an attribute to have; `null` means absent. */
export type ExpectedValue = string | number | boolean | null;

/** Whether a stored item (or its absence) satisfies a {@link DirectoryMaintenance.putItemIf} condition. */
export function matchesExpected(
  item: DirectoryItem | undefined,
  expected: Readonly<Record<string, ExpectedValue>>,
): boolean {
  return Object.entries(expected).every(([name, value]) =>
    value === null ? item?.[name] === undefined : item?.[name] === value,
  );
}

/** Keys of the directory's item types, from the shared layout. */
export const itemKeys = {
  /** The account record. */
  account: (accountId: string): DirectoryItemKey => ({
    pk: DIRECTORY.accountPk(accountId),
    sk: DIRECTORY.accountSk,
  }),
  /** An API key record. */
  apiKey: (keyId: string): DirectoryItemKey => ({ pk: DIRECTORY.apiKeyPk(keyId), sk: DIRECTORY.apiKeySk }),
  /** A campaign of an account. */
  campaign: (accountId: string, campaignId: string): DirectoryItemKey => ({
    pk: DIRECTORY.accountPk(accountId),
    sk: DIRECTORY.campaignSk(campaignId),
  }),
  /** An account's wrapped data key for one location. */
  dataKey: (accountId: string, location: string): DirectoryItemKey => ({
    pk: DIRECTORY.dataKeyPk(accountId),
    sk: DIRECTORY.dataKeySk(location),
  }),
  /** One version of a location's branch key. */
  branchKey: (location: string, version: number): DirectoryItemKey => ({
    pk: DIRECTORY.branchKeyPk(location),
    sk: DIRECTORY.branchKeySk(version),
  }),
  /** One of an account's conversion claims. */
  conversionClaim: (accountId: string, key: string): DirectoryItemKey => ({
    pk: DIRECTORY.dedupPk(accountId),
    sk: key,
  }),
};

/** The stored item of a conversion claim: its expiry in epoch seconds, as the table's time-to-live reads it. */
export function claimItem(claim: ConversionClaim): DirectoryItem {
  return {
    ...itemKeys.conversionClaim(claim.accountId, claim.key),
    [DIRECTORY.ttlAttribute]: Math.ceil(claim.expiresAtMs / 1000),
  };
}

/** Whether an item carrying a time-to-live is still live at `nowMs` (items without one always are). */
export function isLive(item: DirectoryItem | undefined, nowMs: number): boolean {
  if (!item) return false;
  const expires = item[DIRECTORY.ttlAttribute];
  return typeof expires !== 'number' || expires * 1000 > nowMs;
}

/** Makes the stored item of a record. */
export function toItem(key: DirectoryItemKey, record: object): DirectoryItem {
  const item: Record<string, unknown> = {};
  // Optional fields left undefined are dropped here, so no store has to be configured to ignore them.
  for (const [name, value] of Object.entries(record)) if (value !== undefined) item[name] = value;
  // The key goes last so that no record attribute can move the item to another partition.
  item.pk = key.pk;
  item.sk = key.sk;
  return item as DirectoryItem;
}

/** Recovers a record from its stored item (drops `pk` and `sk`). */
export function fromItem<T>(item: DirectoryItem): T;
/** Recovers a record from its stored item, passing `undefined` through. */
export function fromItem<T>(item: DirectoryItem | undefined): T | undefined;
export function fromItem<T>(item: DirectoryItem | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, ...record } = item;
  return record as T;
}

/** A directory store: typed records over items. Subclasses provide item access and maintenance. */
export abstract class ItemDirectory implements Directory, DirectoryMaintenance {
  /** Store name, as in `TS_DIRECTORY`. */
  abstract readonly name: string;

  /** Reads one item; `consistent` asks for a strongly consistent read where the store distinguishes. */
  protected abstract getItem(key: DirectoryItemKey, consistent?: boolean): Promise<DirectoryItem | undefined>;
  /** Creates or replaces one item. */
  protected abstract putItem(item: DirectoryItem): Promise<void>;

  abstract putDataKeyIfAbsent(record: WrappedDataKeyRecord): Promise<WrappedDataKeyRecord>;
  abstract claimConversion(claim: ConversionClaim, nowMs: number): Promise<boolean>;
  abstract releaseConversion(accountId: string, key: string): Promise<void>;
  abstract check(): Promise<void>;
  abstract listItems(pk: string): Promise<DirectoryItem[]>;
  abstract deleteItems(keys: readonly DirectoryItemKey[]): Promise<number>;
  abstract listAccounts(): Promise<AccountRecord[]>;
  abstract listApiKeys(accountId: string): Promise<ApiKeyRecord[]>;
  abstract findCampaigns(campaignId: string): Promise<CampaignRecord[]>;
  abstract putItemIf(
    item: DirectoryItem,
    expected: Readonly<Record<string, ExpectedValue>>,
  ): Promise<boolean>;

  /** Every campaign of one account, sorted by campaign id. */
  async listCampaigns(accountId: string): Promise<CampaignRecord[]> {
    const prefix = DIRECTORY.campaignSk('');
    return (await this.listItems(DIRECTORY.accountPk(accountId)))
      .filter((i) => i.sk.startsWith(prefix))
      .map((i) => fromItem<CampaignRecord>(i))
      .sort((a, b) => (a.campaignId < b.campaignId ? -1 : a.campaignId > b.campaignId ? 1 : 0));
  }

  /** Reads one item, strongly consistently, with every attribute it has. */
  readItem(key: DirectoryItemKey): Promise<DirectoryItem | undefined> {
    return this.getItem(key, true);
  }

  /** Whether a live claim exists (a strongly consistent read: a claim taken a moment ago must count). */
  async hasConversionClaim(accountId: string, key: string, nowMs: number): Promise<boolean> {
    return isLive(await this.getItem(itemKeys.conversionClaim(accountId, key), true), nowMs);
  }

  /** Reads an account. */
  async getAccount(accountId: string): Promise<AccountRecord | undefined> {
    return fromItem<AccountRecord>(await this.getItem(itemKeys.account(accountId)));
  }

  /**
   * Creates or replaces an account.
   * @throws InvalidRecordError, storing nothing, for a record the purge could not judge (see
   *   {@link accountRecordProblems})
   */
  async putAccount(account: AccountRecord): Promise<void> {
    const problems = accountRecordProblems(account, Date.now());
    if (problems.length > 0)
      throw new InvalidRecordError(
        `account ${account.accountId} was not stored:\n  ${problems.join('\n  ')}`,
        problems,
      );
    await this.putItem(toItem(itemKeys.account(account.accountId), account));
  }

  /** Reads an API key by its id. */
  async getApiKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    return fromItem<ApiKeyRecord>(await this.getItem(itemKeys.apiKey(keyId)));
  }

  /** Creates or replaces an API key. */
  async putApiKey(key: ApiKeyRecord): Promise<void> {
    await this.putItem(toItem(itemKeys.apiKey(key.keyId), key));
  }

  /** Reads a campaign of an account. */
  async getCampaign(accountId: string, campaignId: string): Promise<CampaignRecord | undefined> {
    return fromItem<CampaignRecord>(await this.getItem(itemKeys.campaign(accountId, campaignId)));
  }

  /** Creates or replaces a campaign. */
  async putCampaign(campaign: CampaignRecord): Promise<void> {
    await this.putItem(toItem(itemKeys.campaign(campaign.accountId, campaign.campaignId), campaign));
  }

  /** Reads an account's wrapped data key for one location (strongly consistent). */
  async getDataKey(accountId: string, location: string): Promise<WrappedDataKeyRecord | undefined> {
    // Consistent: a stale "absent" would cost a needless GenerateDataKey and a lost conditional write.
    return fromItem<WrappedDataKeyRecord>(await this.getItem(itemKeys.dataKey(accountId, location), true));
  }

  /**
   * Writes the branch-sealed copy with a compare-and-set on the stored item's wrapped key, data key id and
   * current copy: the item is never recreated (a purge that deleted it wins), nor its key replaced.
   */
  async putDataKeyBranchCopy(
    record: WrappedDataKeyRecord,
    previousBranchKeyId: string | undefined,
  ): Promise<boolean> {
    if (!record.branchSealed || !record.branchKeyId || record.branchKeyVersion === undefined)
      throw new TypeError(`putDataKeyBranchCopy: the record of account ${record.accountId} holds no copy`);
    return this.putItemIf(toItem(itemKeys.dataKey(record.accountId, record.location), record), {
      dataKeyId: record.dataKeyId,
      wrapped: record.wrapped,
      branchKeyId: previousBranchKeyId ?? null,
    });
  }

  /** Reads one branch-key version (strongly consistent: it may have been created a moment ago). */
  async getBranchKey(location: string, version: number, nowMs: number): Promise<BranchKeyRecord | undefined> {
    const item = await this.getItem(itemKeys.branchKey(location, version), true);
    return isLive(item, nowMs) ? fromItem<BranchKeyRecord>(item) : undefined;
  }

  /** Creates a branch-key version with a compare-and-set on its absence; the first writer wins. */
  async putBranchKeyIfAbsent(record: BranchKeyRecord): Promise<BranchKeyRecord> {
    const key = itemKeys.branchKey(record.location, record.version);
    // Two rounds cover a winner that expired and was deleted between our failed write and our read.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.putItemIf(toItem(key, record), { [DIRECTORY.partitionKey]: null })) return record;
      const winner = await this.getItem(key, true);
      if (winner) return fromItem<BranchKeyRecord>(winner);
    }
    throw new Error(
      `branch key ${record.version} of ${record.location} kept changing while it was being stored`,
    );
  }
}
