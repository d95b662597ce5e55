/**
 * The purge job's directory port over the ingest service's directory stores (the DynamoDB table and the
 * local file share the `ItemDirectory` base and item layout, so one adapter serves both).
 *
 * What an account owns lies in partitions per kind (`DIRECTORY_PARTITIONS`): its record and campaigns in
 * `ACCOUNT#<id>`, its wrapped data keys in `DATAKEY#<id>` (sort key: the location), its conversion claims
 * in `DEDUP#<id>`, and each API key in an `APIKEY#<keyId>` partition of its own.
 *
 * The purge progress is kept on the account's own record (`ACCOUNT#<id>` / `META`) in two extra
 * attributes, `purgeProgress` and `purgeRevision`, written only by compare-and-set on the revision, the
 * status and the expiry: a concurrent run, or an operator reactivating the account, makes the write fail
 * instead of being overwritten. The sweep of a purged account keeps its progress the same way in
 * `sweepProgress`, and its result in `sweptAt`, `sweepId`, `sweepReceipt` and `sweepCounts`.
 *
 * `purgeProgress` is one JSON string, not a nested map: while a batch is in flight it lists up to 1,000
 * object versions, and a single string attribute costs DynamoDB (and the SDK) far less to store, read and
 * convert than a list of 1,000 lists, on every save of every batch.
 */
import { DIRECTORY, DIRECTORY_PARTITIONS } from '../../../platform';
import type { AccountStatus } from '../../shared/directory/directory';
import {
  itemKeys,
  type DirectoryItem,
  type ExpectedValue,
  type ItemDirectory,
} from '../../shared/directory/item-directory';
import type { AccountState, DirectoryEntry, PurgeCounts, PurgeProgress, SweepProgress } from './core/model';
import type { AccountChange, PurgeDirectory } from './core/ports';

/** Attribute of the account record that holds a purge in progress. */
export const PROGRESS_ATTRIBUTE = 'purgeProgress';
/** Attribute of the account record that holds the compare-and-set revision of the purge state. */
export const REVISION_ATTRIBUTE = 'purgeRevision';
/** Attribute of a purged account's record that holds its sweep in progress. */
export const SWEEP_PROGRESS_ATTRIBUTE = 'sweepProgress';

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

const CAMPAIGN_PREFIX = DIRECTORY.campaignSk('');
/**
 * Sort-key prefix of the wrapped data keys that the earlier layout kept in the account's partition
 * (`ACCOUNT#<id>` / `DATAKEY#<location>`). A record of that layout is still shredded first, never left to
 * the later directory step as an unknown item.
 */
const LEGACY_DATAKEY_SK_PREFIX = DIRECTORY_PARTITIONS.dataKey;

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
    } else if (change.kind === 'sweep-progress') {
      next = {
        ...current,
        [SWEEP_PROGRESS_ATTRIBUTE]: JSON.stringify(change.progress),
        [REVISION_ATTRIBUTE]: revision,
      };
    } else if (change.kind === 'swept') {
      const { [SWEEP_PROGRESS_ATTRIBUTE]: _done, ...rest } = current;
      next = {
        ...rest,
        sweptAt: change.sweptAt,
        sweepId: change.sweepId,
        sweepReceipt: change.receipt,
        sweepCounts: JSON.stringify(change.counts),
        [REVISION_ATTRIBUTE]: revision,
        pk: key.pk,
        sk: key.sk,
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

  /** The account's wrapped data keys: its `DATAKEY#<id>` partition (and any left in the earlier layout). */
  async listDataKeys(accountId: string): Promise<DirectoryEntry[]> {
    const [keys, own] = await Promise.all([
      this.dataKeyEntries(accountId),
      this.accountPartitionEntries(accountId),
    ]);
    return [...keys, ...own.filter((e) => e.kind === 'dataKey')];
  }

  /**
   * Everything the account owns but its record: its partition's campaigns (and anything else there), its
   * data keys and conversion claims, and its API keys.
   */
  async listOwnedItems(accountId: string): Promise<DirectoryEntry[]> {
    const [own, dataPath, keys] = await Promise.all([
      this.accountPartitionEntries(accountId),
      this.listDataPathItems(accountId),
      this.directory.listApiKeys(accountId),
    ]);
    return [
      ...own,
      ...dataPath,
      ...keys.map((k) => ({ ...itemKeys.apiKey(k.keyId), kind: 'apiKey' as const })),
    ];
  }

  /** The account's `DATAKEY#<id>` and `DEDUP#<id>` partitions: what the data path writes. */
  async listDataPathItems(accountId: string): Promise<DirectoryEntry[]> {
    const [keys, claims] = await Promise.all([
      this.dataKeyEntries(accountId),
      // Lapsed claims too: a table's time-to-live deletes them only eventually, and they are the account's.
      this.directory.listItems(DIRECTORY.dedupPk(accountId)),
    ]);
    return [...keys, ...claims.map((i) => ({ pk: i.pk, sk: i.sk, kind: 'conversionClaim' as const }))];
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

  private async dataKeyEntries(accountId: string): Promise<DirectoryEntry[]> {
    const items = await this.directory.listItems(DIRECTORY.dataKeyPk(accountId));
    // The sort key is the location (`DIRECTORY.dataKeySk`); the record names it too.
    return items.map((i) => ({
      pk: i.pk,
      sk: i.sk,
      kind: 'dataKey' as const,
      location: typeof i.location === 'string' ? i.location : i.sk,
    }));
  }

  private async accountPartitionEntries(accountId: string): Promise<DirectoryEntry[]> {
    const items = await this.directory.listItems(DIRECTORY.accountPk(accountId));
    return items
      .filter((i) => i.sk !== DIRECTORY.accountSk)
      .map((i): DirectoryEntry => {
        if (i.sk.startsWith(LEGACY_DATAKEY_SK_PREFIX)) {
          const location = i.sk.slice(LEGACY_DATAKEY_SK_PREFIX.length);
          return { pk: i.pk, sk: i.sk, kind: 'dataKey', location };
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
  const sweepProgress = record[SWEEP_PROGRESS_ATTRIBUTE];
  const sweptAt = str('sweptAt');
  const sweepId = str('sweepId');
  const sweepReceipt = str('sweepReceipt');
  const sweepCounts = str('sweepCounts');
  const revision = record[REVISION_ATTRIBUTE];
  return {
    accountId: String(record.accountId),
    status: record.status as AccountStatus,
    ...(str('expiredAt') !== undefined ? { expiredAt: str('expiredAt') } : {}),
    ...(str('purgedAt') !== undefined ? { purgedAt: str('purgedAt') } : {}),
    ...(purgeId && receipt ? { purge: { purgeId, receipt } } : {}),
    ...(typeof progress === 'string' ? { progress: JSON.parse(progress) as PurgeProgress } : {}),
    ...(typeof sweepProgress === 'string'
      ? { sweepProgress: JSON.parse(sweepProgress) as SweepProgress }
      : {}),
    // The sweep's finish is what matters: a record that says when it was swept is never swept again.
    ...(sweptAt !== undefined
      ? {
          swept: {
            sweptAt,
            sweepId: sweepId ?? '',
            receipt: sweepReceipt ?? '',
            counts: (sweepCounts ? JSON.parse(sweepCounts) : {}) as PurgeCounts,
          },
        }
      : {}),
    revision: typeof revision === 'number' ? revision : 0,
  };
}
