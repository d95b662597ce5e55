/**
 * The purge job's directory port over the ingest service's directory stores (the DynamoDB table and the
 * local file share the `ItemDirectory` base and item layout, so one adapter serves both).
 *
 * The purge progress is kept on the account's own record (`ACCOUNT#<id>` / `META`) in two extra
 * attributes, `purgeProgress` and `purgeRevision`, written only by compare-and-set on the revision, the
 * status and the expiry: a concurrent run, or an operator reactivating the account, makes the write fail
 * instead of being overwritten.
 *
 * `purgeProgress` is one JSON string, not a nested map: while a batch is in flight it lists up to 1,000
 * object versions, and a single string attribute costs DynamoDB (and the SDK) far less to store, read and
 * convert than a list of 1,000 lists, on every save of every batch.
 */
import { DIRECTORY } from '../../../infra/platform';
import type { AccountStatus } from '../../ingest/src/directory/directory';
import {
  itemKeys,
  type DirectoryItem,
  type ExpectedValue,
  type ItemDirectory,
} from '../../ingest/src/directory/item-directory';
import type { AccountState, DirectoryEntry, PurgeProgress } from './core/model';
import type { AccountChange, PurgeDirectory } from './core/ports';

/** Attribute of the account record that holds a purge in progress. */
export const PROGRESS_ATTRIBUTE = 'purgeProgress';
/** Attribute of the account record that holds the compare-and-set revision of the purge state. */
export const REVISION_ATTRIBUTE = 'purgeRevision';

/**
 * Fields a purged account's record keeps: enough to say who it was (a pseudonymous id), when it expired
 * and was purged, and where the receipt is. Everything else (contact e-mail above all) is dropped.
 */
const PURGED_FIELDS = ['accountId', 'createdAt', 'expiredAt'] as const;

/** Options of {@link ItemDirectoryPurgeStore}. */
export interface ItemDirectoryPurgeStoreProps {
  /** The directory store: `LocalDirectory` or `DynamoDirectory`. */
  readonly directory: ItemDirectory;
  /**
   * Name of the store in receipts and messages.
   * @default the store's name, e.g. `dynamodb`
   */
  readonly description?: string;
}

const DATAKEY_PREFIX = DIRECTORY.dataKeySk('');
const CAMPAIGN_PREFIX = DIRECTORY.campaignSk('');

/** {@link PurgeDirectory} over an `ItemDirectory`. */
export class ItemDirectoryPurgeStore implements PurgeDirectory {
  /** Name of the store, for receipts. */
  readonly description: string;
  private readonly directory: ItemDirectory;

  constructor(props: ItemDirectoryPurgeStoreProps) {
    this.directory = props.directory;
    this.description = props.description ?? props.directory.name;
  }

  /** Every account, with its purge state. */
  async listAccounts(): Promise<AccountState[]> {
    // listAccounts returns whole records: the purge attributes come along.
    const records = await this.directory.listAccounts();
    return records.map((r) => toState(r as unknown as Record<string, unknown>));
  }

  /** One account, read strongly consistently. */
  async getAccount(accountId: string): Promise<AccountState | undefined> {
    const item = await this.directory.readItem(itemKeys.account(accountId));
    return item ? toState(item) : undefined;
  }

  /** Compare-and-set on revision, status and expiry. */
  async saveAccount(previous: AccountState, change: AccountChange): Promise<AccountState | undefined> {
    const key = itemKeys.account(previous.accountId);
    const current = await this.directory.readItem(key);
    if (!current || !sameState(toState(current), previous)) return undefined;
    const revision = previous.revision + 1;
    let next: DirectoryItem;
    if (change.kind === 'progress') {
      next = {
        ...current,
        [PROGRESS_ATTRIBUTE]: JSON.stringify(change.progress),
        [REVISION_ATTRIBUTE]: revision,
      };
    } else {
      const kept: Record<string, unknown> = {};
      for (const f of PURGED_FIELDS) if (current[f] !== undefined) kept[f] = current[f];
      next = {
        ...kept,
        status: 'purged' satisfies AccountStatus,
        purgedAt: change.purgedAt,
        purgeId: change.purgeId,
        purgeReceipt: change.receipt,
        [REVISION_ATTRIBUTE]: revision,
        pk: key.pk,
        sk: key.sk,
      };
    }
    const expected: Record<string, ExpectedValue> = {
      [REVISION_ATTRIBUTE]: previous.revision === 0 ? null : previous.revision,
      status: previous.status,
      expiredAt: previous.expiredAt ?? null,
    };
    return (await this.directory.putItemIf(next, expected)) ? toState(next) : undefined;
  }

  /** The account's wrapped data keys (`DATAKEY#<location>` items of its partition). */
  async listDataKeys(accountId: string): Promise<DirectoryEntry[]> {
    return (await this.partitionEntries(accountId)).filter((e) => e.kind === 'dataKey');
  }

  /** Everything the account owns but its record: its partition's items and its API keys. */
  async listOwnedItems(accountId: string): Promise<DirectoryEntry[]> {
    const [own, keys] = await Promise.all([
      this.partitionEntries(accountId),
      this.directory.listApiKeys(accountId),
    ]);
    return [...own, ...keys.map((k) => ({ ...itemKeys.apiKey(k.keyId), kind: 'apiKey' as const }))];
  }

  /** Deletes items (missing ones are ignored). */
  async deleteItems(items: readonly DirectoryEntry[]): Promise<void> {
    await this.directory.deleteItems(items.map(({ pk, sk }) => ({ pk, sk })));
  }

  /** Those of `items` that still exist (one strongly consistent query per partition). */
  async existingItems(items: readonly DirectoryEntry[]): Promise<DirectoryEntry[]> {
    const present = new Set<string>();
    for (const pk of new Set(items.map((i) => i.pk))) {
      for (const item of await this.directory.listItems(pk)) present.add(`${item.pk}\u0000${item.sk}`);
    }
    return items.filter((i) => present.has(`${i.pk}\u0000${i.sk}`));
  }

  private async partitionEntries(accountId: string): Promise<DirectoryEntry[]> {
    const items = await this.directory.listItems(DIRECTORY.accountPk(accountId));
    return items
      .filter((i) => i.sk !== DIRECTORY.accountSk)
      .map((i): DirectoryEntry => {
        if (i.sk.startsWith(DATAKEY_PREFIX)) {
          return { pk: i.pk, sk: i.sk, kind: 'dataKey', location: i.sk.slice(DATAKEY_PREFIX.length) };
        }
        if (i.sk.startsWith(CAMPAIGN_PREFIX)) {
          return { pk: i.pk, sk: i.sk, kind: 'campaign', campaignId: i.sk.slice(CAMPAIGN_PREFIX.length) };
        }
        return { pk: i.pk, sk: i.sk, kind: 'other' };
      });
  }
}

function sameState(a: AccountState, b: AccountState): boolean {
  return a.revision === b.revision && a.status === b.status && a.expiredAt === b.expiredAt;
}

function toState(record: Readonly<Record<string, unknown>>): AccountState {
  const str = (name: string): string | undefined =>
    typeof record[name] === 'string' ? (record[name] as string) : undefined;
  const purgeId = str('purgeId');
  const receipt = str('purgeReceipt');
  const progress = record[PROGRESS_ATTRIBUTE];
  const revision = record[REVISION_ATTRIBUTE];
  return {
    accountId: String(record.accountId),
    status: record.status as AccountStatus,
    ...(str('expiredAt') !== undefined ? { expiredAt: str('expiredAt') } : {}),
    ...(str('purgedAt') !== undefined ? { purgedAt: str('purgedAt') } : {}),
    ...(purgeId && receipt ? { purge: { purgeId, receipt } } : {}),
    ...(typeof progress === 'string' ? { progress: JSON.parse(progress) as PurgeProgress } : {}),
    revision: typeof revision === 'number' ? revision : 0,
  };
}
