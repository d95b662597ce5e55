/**
 * The directory on GCP: one Firestore collection holding the very items of `DIRECTORY` in `platform/`
 * (the DynamoDB table's and the local file's layout), one document per item. Firestore reads are always
 * strongly consistent, and conditional writes are `create()` (fails if the document exists) or a
 * transaction that reads before it writes.
 *
 * Only types come from `@google-cloud/firestore` here: the runtime imports the client lazily, as it does
 * the AWS clients, so a bundle that never runs on GCP never loads it.
 */
import type { DocumentReference, Firestore, Query } from '@google-cloud/firestore';
import { DIRECTORY, DIRECTORY_PARTITIONS, names } from '../../../platform';
import type {
  AccountRecord,
  ApiKeyRecord,
  CampaignRecord,
  ConversionClaim,
  WrappedDataKeyRecord,
} from './directory';
import {
  ItemDirectory,
  claimItem,
  fromItem,
  isLive,
  itemKeys,
  matchesExpected,
  toItem,
  type DirectoryItem,
  type DirectoryItemKey,
  type ExpectedValue,
} from './item-directory';

/**
 * The field a Firestore TTL policy must be set on. Firestore's TTL only honours timestamp fields, while
 * the shared layout keeps `expiresAt` in epoch seconds (what DynamoDB's TTL reads); so an item carrying
 * `expiresAt` is stored with this timestamp beside it, and readers never see it.
 */
export const FIRESTORE_TTL_FIELD = names.gcpDirectoryTtlField();

/** Properties of {@link FirestoreDirectory}. */
export interface FirestoreDirectoryProps {
  /** The client, owned by the caller (which may share it). */
  readonly client: Firestore;
  /** The collection holding the directory's documents. */
  readonly collection: string;
}

/** A write batch holds at most 500 operations. */
const BATCH_MAX = 500;
/** gRPC status of a `create()` whose document already exists. */
const ALREADY_EXISTS = 6;

/**
 * Encodes one key part for a document id: Firestore ids may not contain `/`, be `.` or `..`, or match
 * `__.*__`. URI encoding removes `/` (and `|`, the separator); `.` and `_` are escaped too, so no id can
 * be reserved. The mapping is injective, so two keys never share a document.
 */
function encodeIdPart(part: string): string {
  return encodeURIComponent(part).replace(/[._]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The document id of an item key: `<pk>|<sk>`, each part encoded by {@link encodeIdPart}. */
export function firestoreDocumentId(key: DirectoryItemKey): string {
  return `${encodeIdPart(key.pk)}|${encodeIdPart(key.sk)}`;
}

/** The Firestore-backed directory. */
export class FirestoreDirectory extends ItemDirectory {
  /** Store name, as in `TS_DIRECTORY`. */
  readonly name = 'firestore';
  /** The collection this directory reads and writes. */
  readonly collection: string;
  private readonly db: Firestore;

  constructor(props: FirestoreDirectoryProps) {
    super();
    if (!props.collection || props.collection.includes('/')) {
      throw new Error(
        `FirestoreDirectory: collection must be a single path segment, not "${props.collection}"`,
      );
    }
    this.db = props.client;
    this.collection = props.collection;
  }

  /**
   * Stores a wrapped data key unless (account, location) has one, with `create()`; when another instance
   * got there first, resolves with that instance's record.
   */
  async putDataKeyIfAbsent(record: WrappedDataKeyRecord): Promise<WrappedDataKeyRecord> {
    const key = itemKeys.dataKey(record.accountId, record.location);
    // Two rounds cover a winner that was deleted (crypto-shred) between our failed create and our read.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.doc(key).create(toStored(toItem(key, record)));
        return record;
      } catch (err) {
        if ((err as { code?: unknown }).code !== ALREADY_EXISTS) throw err;
      }
      const winner = await this.getItem(key);
      if (winner) return fromItem<WrappedDataKeyRecord>(winner);
    }
    throw new Error(
      `data key of account ${record.accountId} in ${record.location} kept changing while it was being stored`,
    );
  }

  /**
   * Takes a conversion claim in a transaction: it succeeds when no claim exists or the stored one has
   * lapsed (the TTL policy deletes lapsed documents only eventually, so the expiry itself is checked).
   */
  async claimConversion(claim: ConversionClaim, nowMs: number): Promise<boolean> {
    const item = claimItem(claim);
    const ref = this.doc(item);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (isLive(fromStored(snap.data()), nowMs)) return false;
      tx.set(ref, toStored(item));
      return true;
    });
  }

  /** Drops a conversion claim; a missing one is fine. */
  async releaseConversion(accountId: string, key: string): Promise<void> {
    await this.doc(itemKeys.conversionClaim(accountId, key)).delete();
  }

  /**
   * Resolves when the collection can be read. A Firestore collection exists as soon as a document does,
   * so a read that succeeds is what "usable" means: it proves the database, the network and the grant.
   */
  async check(): Promise<void> {
    await this.db.collection(this.collection).limit(1).select().get();
  }

  /** Every item of one partition, e.g. `ACCOUNT#<id>`, sorted by sort key. */
  async listItems(pk: string): Promise<DirectoryItem[]> {
    // Sorted here: an equality filter with orderBy on another field would need a composite index.
    return (await this.query((c) => c.where(DIRECTORY.partitionKey, '==', pk))).sort((a, b) =>
      a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0,
    );
  }

  /** Deletes items by key in write batches of 500. Resolves with how many keys were requested. */
  async deleteItems(keys: readonly DirectoryItemKey[]): Promise<number> {
    const unique = [...new Map(keys.map((k) => [firestoreDocumentId(k), k])).values()];
    for (let i = 0; i < unique.length; i += BATCH_MAX) {
      const batch = this.db.batch();
      for (const k of unique.slice(i, i + BATCH_MAX)) batch.delete(this.doc(k));
      await batch.commit();
    }
    return keys.length;
  }

  /** Replaces an item if the stored one matches `expected`, in a transaction. */
  async putItemIf(item: DirectoryItem, expected: Readonly<Record<string, ExpectedValue>>): Promise<boolean> {
    const ref = this.doc(item);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!matchesExpected(fromStored(snap.data()), expected)) return false;
      tx.set(ref, toStored(item));
      return true;
    });
  }

  /** Every account record (single-field equality on `sk`: served by Firestore's automatic index). */
  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.query((c) => c.where(DIRECTORY.sortKey, '==', DIRECTORY.accountSk)))
      .filter((i) => i.pk.startsWith(DIRECTORY_PARTITIONS.account))
      .map((i) => fromItem<AccountRecord>(i))
      .sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /** Every API key record of one account. */
  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    return (await this.query((c) => c.where('accountId', '==', accountId)))
      .filter((i) => i.pk.startsWith(DIRECTORY_PARTITIONS.apiKey))
      .map((i) => fromItem<ApiKeyRecord>(i))
      .sort((a, b) => a.keyId.localeCompare(b.keyId));
  }

  /** The campaigns of that id in every account. */
  async findCampaigns(campaignId: string): Promise<CampaignRecord[]> {
    return (await this.query((c) => c.where(DIRECTORY.sortKey, '==', DIRECTORY.campaignSk(campaignId))))
      .filter((i) => i.pk.startsWith(DIRECTORY_PARTITIONS.account))
      .map((i) => fromItem<CampaignRecord>(i))
      .sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /** Reads one item (Firestore reads are strongly consistent, so `consistent` changes nothing). */
  protected async getItem(key: DirectoryItemKey): Promise<DirectoryItem | undefined> {
    return fromStored((await this.doc(key).get()).data());
  }

  protected async putItem(item: DirectoryItem): Promise<void> {
    await this.doc(item).set(toStored(item));
  }

  private doc(key: DirectoryItemKey): DocumentReference {
    return this.db.collection(this.collection).doc(firestoreDocumentId(key));
  }

  private async query(filter: (collection: Query) => Query): Promise<DirectoryItem[]> {
    const snap = await filter(this.db.collection(this.collection)).get();
    const items: DirectoryItem[] = [];
    for (const d of snap.docs) {
      const item = fromStored(d.data());
      if (item) items.push(item);
    }
    return items;
  }
}

/** The document of an item: the item, plus the TTL timestamp when it carries an expiry. */
function toStored(item: DirectoryItem): Record<string, unknown> {
  const expires = item[DIRECTORY.ttlAttribute];
  // A Date is written as a Firestore timestamp, the only type a TTL policy acts on.
  return typeof expires === 'number'
    ? { ...item, [FIRESTORE_TTL_FIELD]: new Date(expires * 1000) }
    : { ...item };
}

/** The item of a document, without the TTL timestamp that only Firestore's TTL policy reads. */
function fromStored(data: Record<string, unknown> | undefined): DirectoryItem | undefined {
  if (!data) return undefined;
  const { [FIRESTORE_TTL_FIELD]: _ttl, ...item } = data;
  return item as DirectoryItem;
}
