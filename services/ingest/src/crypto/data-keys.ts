/**
 * Per-account data keys and the encryption of personal fields.
 *
 * Each account has one AES-256 data key per location, stored in the directory wrapped by that location's
 * master key. Unwrapped keys are kept in memory for a bounded time and count, and concurrent misses for
 * one account share one load, so the key provider is asked about once per account per cache period and
 * instance, not once per hit. With branch keys (the default, `branch-keys.ts`), the item also holds the key
 * sealed under the location's current branch key, so a miss costs no master-key call at all once this
 * instance holds that branch key: KMS is called once per instance and branch-key version, plus once per
 * account whose item holds no usable copy (which is then written back for every instance).
 */
import { randomBytes } from 'node:crypto';
import { LIMITS } from '../../../../platform';
import type { Directory, WrappedDataKeyRecord } from '../../../shared/directory/directory';
import { DecryptionError, open, sealToBase64 } from './aes-gcm';
import { BranchKeyRing, type BranchKey } from './branch-keys';
import type { KeyProvider } from './key-provider';

/** Personal fields sealed for storage. `ct` is base64 of an {@link seal} blob whose AAD is the account id. */
export interface EncryptedEnvelope {
  /** Algorithm: AES-256-GCM. */
  readonly alg: 'A256GCM';
  /** The `dataKeyId` of the data key that sealed it. */
  readonly kid: string;
  /** Base64 of `version | iv | ciphertext | tag`. */
  readonly ct: string;
}

/** An unwrapped data key and its id. */
export interface DataKey {
  /** 32 bytes of key material; never log or store it. */
  readonly key: Buffer;
  /** The id written into envelopes sealed with this key. */
  readonly dataKeyId: string;
}

/** Options of {@link DataKeyService}. */
export interface DataKeyServiceProps {
  /** This location's master key. */
  readonly provider: KeyProvider;
  /** Where wrapped data keys are stored. */
  readonly directory: Directory;
  /** This instance's serving location; each location keeps its own wrapped key per account. */
  readonly location: string;
  /** Longest an unwrapped key stays in memory, in seconds. */
  readonly maxAgeSeconds?: number;
  /** Most unwrapped keys held at once. */
  readonly maxEntries?: number;
  /** Clock in milliseconds, injectable for tests. */
  readonly now?: () => number;
  /**
   * Branch keys, so that misses are served without the master key; `false` keeps one master-key call per
   * account, cache period and instance (no copies are read or written).
   * @default - on, rotated every `LIMITS.branchKeyRotationSeconds`, `LIMITS.branchKeyOpenVersions` versions open
   */
  readonly branchKeys?: false | { readonly rotationSeconds?: number; readonly openVersions?: number };
}

/** Raised when an envelope names a data key this location does not hold (another location's, or shredded). */
export class UnknownDataKeyError extends DecryptionError {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownDataKeyError';
  }
}

interface CachedKey extends DataKey {
  readonly expiresAt: number;
  /** The account id as bytes, the additional data of every seal under this key. */
  readonly aad: Buffer;
}

function sealFields({ key, dataKeyId }: DataKey, aad: Buffer, fields: object): EncryptedEnvelope {
  return { alg: 'A256GCM', kid: dataKeyId, ct: sealToBase64(key, JSON.stringify(fields), aad) };
}

/** Gets, creates and caches per-account data keys, and seals and opens personal fields with them. */
export class DataKeyService {
  private readonly provider: KeyProvider;
  private readonly directory: Directory;
  private readonly location: string;
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly ring: BranchKeyRing | undefined;
  private readonly cache = new Map<string, CachedKey>();
  /** Loads in progress, keyed `<mode>:<accountId>`; `get` may create a key, `read` never does. */
  private readonly inflight = new Map<string, Promise<DataKey | undefined>>();

  /** @throws RangeError when a bound is not positive */
  constructor(props: DataKeyServiceProps) {
    const maxAge = props.maxAgeSeconds ?? LIMITS.dataKeyCacheSeconds;
    const maxEntries = props.maxEntries ?? LIMITS.dataKeyCacheEntries;
    if (!Number.isFinite(maxAge) || maxAge <= 0)
      throw new RangeError(`maxAgeSeconds must be positive, got ${maxAge}`);
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.provider = props.provider;
    this.directory = props.directory;
    this.location = props.location;
    this.maxAgeMs = maxAge * 1000;
    this.maxEntries = maxEntries;
    this.now = props.now ?? Date.now;
    this.ring =
      props.branchKeys === false
        ? undefined
        : new BranchKeyRing({
            provider: props.provider,
            directory: props.directory,
            location: props.location,
            rotationSeconds: props.branchKeys?.rotationSeconds,
            openVersions: props.branchKeys?.openVersions,
            now: this.now,
          });
  }

  /** Unwrapped keys currently held. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * The account's current data key: from memory, else unwrapped from the directory, else generated and
   * stored (first use). When two instances create one at once, both end up with the one stored first.
   */
  getKey(accountId: string): Promise<DataKey> {
    const hit = this.cached(accountId);
    if (hit) return Promise.resolve(hit);
    return this.load(accountId, true) as Promise<DataKey>;
  }

  /**
   * The data key with id `dataKeyId`, to open stored envelopes. Never creates a key.
   * @throws UnknownDataKeyError when this location holds no such key for the account
   */
  async getKeyById(accountId: string, dataKeyId: string): Promise<Buffer> {
    const key = this.cached(accountId) ?? (await this.load(accountId, false));
    if (!key) {
      throw new UnknownDataKeyError(
        `account ${accountId} has no data key in ${this.location} (never created, or shredded)`,
      );
    }
    if (key.dataKeyId !== dataKeyId) {
      throw new UnknownDataKeyError(
        `data key ${dataKeyId} of account ${accountId} is not held in ${this.location} (current is ${key.dataKeyId})`,
      );
    }
    return key.key;
  }

  /**
   * Forgets the account's unwrapped key, including a load in progress: after a crypto-shred, this
   * instance stops using the key at once (others within `maxAgeSeconds`).
   */
  evict(accountId: string): void {
    // The buffer is not zeroed: a request that already holds it may still be sealing with it.
    this.cache.delete(accountId);
    this.inflight.delete(`get:${accountId}`);
    this.inflight.delete(`read:${accountId}`);
  }

  /** Forgets every unwrapped key, branch keys included. */
  clear(): void {
    this.cache.clear();
    this.inflight.clear();
    this.ring?.clear();
  }

  /** Seals `fields` (serialized as JSON) under the account's data key, bound to the account id. */
  async encryptFields(accountId: string, fields: object): Promise<EncryptedEnvelope> {
    return (
      this.encryptFieldsNow(accountId, fields) ??
      sealFields(await this.getKey(accountId), Buffer.from(accountId, 'utf8'), fields)
    );
  }

  /**
   * {@link encryptFields} without a promise when the account's key is in memory, as it is for every hit
   * but the first of an account per key lifetime; `undefined` when the key must be loaded first.
   */
  encryptFieldsNow(accountId: string, fields: object): EncryptedEnvelope | undefined {
    const key = this.cached(accountId);
    return key && sealFields(key, key.aad, fields);
  }

  /**
   * Opens an envelope made by {@link encryptFields} for the same account.
   * @throws DecryptionError when the envelope is malformed, altered, or belongs to another account
   * @throws UnknownDataKeyError when its data key is not held here
   */
  async decryptFields<T extends object = Record<string, unknown>>(
    accountId: string,
    envelope: EncryptedEnvelope,
  ): Promise<T> {
    const env = envelope as Partial<EncryptedEnvelope> | null;
    if (!env || env.alg !== 'A256GCM' || typeof env.kid !== 'string' || typeof env.ct !== 'string') {
      throw new DecryptionError('not an A256GCM envelope ({ alg, kid, ct })');
    }
    const key = await this.getKeyById(accountId, env.kid);
    const plaintext = open(key, Buffer.from(env.ct, 'base64'), Buffer.from(accountId, 'utf8'));
    const value: unknown = JSON.parse(plaintext.toString('utf8'));
    if (!value || typeof value !== 'object') throw new DecryptionError('envelope does not hold an object');
    return value as T;
  }

  private cached(accountId: string): CachedKey | undefined {
    const entry = this.cache.get(accountId);
    if (!entry) return undefined;
    if (this.now() < entry.expiresAt) return entry;
    this.cache.delete(accountId);
    return undefined;
  }

  /** Single-flight load; with `create`, a missing key is generated and stored. */
  private load(accountId: string, create: boolean): Promise<DataKey | undefined> {
    const flightKey = `${create ? 'get' : 'read'}:${accountId}`;
    const pending = this.inflight.get(flightKey);
    if (pending) return pending;
    // A creating load answers a read-only one too; never the other way round, as it may find nothing.
    const creating = create ? undefined : this.inflight.get(`get:${accountId}`);
    if (creating) return creating;
    const startedAt = this.now();
    const flight = create ? this.unwrapOrCreate(accountId) : this.unwrapStored(accountId);
    this.inflight.set(flightKey, flight);
    // Registered before any caller can await the flight, so the cache is filled by the time they resume.
    flight.then(
      (key) => {
        // evict() during the load removed this flight: the key may have been shredded meanwhile.
        if (this.inflight.get(flightKey) !== flight) return;
        this.inflight.delete(flightKey);
        if (key) this.store(accountId, key, startedAt + this.maxAgeMs);
      },
      () => {
        if (this.inflight.get(flightKey) === flight) this.inflight.delete(flightKey);
      },
    );
    return flight;
  }

  private async unwrapStored(accountId: string): Promise<DataKey | undefined> {
    const record = await this.directory.getDataKey(accountId, this.location);
    if (!record) return undefined;
    return this.ring ? this.openStored(this.ring, record) : this.unwrap(record);
  }

  /**
   * The key of a stored record: from its branch-sealed copy when this instance holds (or can load) that
   * branch key, else with the master key. A record without a current copy then gets one.
   */
  private async openStored(ring: BranchKeyRing, record: WrappedDataKeyRecord): Promise<DataKey> {
    let key: Buffer | undefined;
    let sealedUnder: BranchKey | undefined;
    if (record.branchSealed && record.branchKeyId && record.branchKeyVersion !== undefined) {
      // A branch key that cannot be loaded now (KMS throttling) leaves the master key to answer.
      const branch = await ring.forCopy(record.branchKeyVersion, record.branchKeyId).catch(() => undefined);
      try {
        if (branch) key = ring.openCopy(branch, record);
        sealedUnder = branch;
      } catch (err) {
        // An altered copy, or one moved from another item: the master-key wrap decides, and is resealed.
        if (!(err instanceof DecryptionError)) throw err;
      }
    }
    key ??= (await this.unwrap(record)).key;
    if (sealedUnder?.version !== ring.currentVersion()) await this.reseal(ring, record, key);
    return { key, dataKeyId: record.dataKeyId };
  }

  /**
   * Writes the record's copy under the current branch key. Only an optimisation: when it fails (the branch
   * key is unavailable, or the item changed or was purged meanwhile), the next miss tries again.
   */
  private async reseal(ring: BranchKeyRing, record: WrappedDataKeyRecord, key: Buffer): Promise<void> {
    try {
      const copy = ring.sealCopy(await ring.current(), record, key);
      await this.directory.putDataKeyBranchCopy(copy, record.branchKeyId);
    } catch {
      // Deliberately ignored: the key is already in hand, and serving it must not depend on the copy.
    }
  }

  private async unwrapOrCreate(accountId: string): Promise<DataKey> {
    const stored = await this.unwrapStored(accountId);
    if (stored) return stored;
    const generated = await this.provider.generateDataKey(accountId);
    let mine: WrappedDataKeyRecord = {
      accountId,
      location: this.location,
      wrapped: generated.wrapped.toString('base64'),
      dataKeyId: `dk_${randomBytes(12).toString('base64url')}`,
      createdAt: new Date(this.now()).toISOString(),
    };
    // The first write already carries the copy; without a branch key the key is stored without one.
    const branch = this.ring ? await this.ring.current().catch(() => undefined) : undefined;
    if (this.ring && branch) mine = this.ring.sealCopy(branch, mine, generated.plaintext);
    const winner = await this.directory.putDataKeyIfAbsent(mine);
    if (winner.dataKeyId === mine.dataKeyId) return { key: generated.plaintext, dataKeyId: mine.dataKeyId };
    // Another instance stored its key first; ours was never stored, so nothing was sealed with it.
    return this.ring ? this.openStored(this.ring, winner) : this.unwrap(winner);
  }

  private async unwrap(record: WrappedDataKeyRecord): Promise<DataKey> {
    const key = await this.provider.decryptDataKey(Buffer.from(record.wrapped, 'base64'), record.accountId);
    return { key, dataKeyId: record.dataKeyId };
  }

  private store(accountId: string, key: DataKey, expiresAt: number): void {
    if (expiresAt <= this.now()) return;
    this.cache.delete(accountId);
    // All entries share one maximum age, so the oldest inserted expires first: evicting it is as good as
    // LRU and keeps a cache hit to a single Map lookup.
    while (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
    this.cache.set(accountId, {
      key: key.key,
      dataKeyId: key.dataKeyId,
      expiresAt,
      aad: Buffer.from(accountId, 'utf8'),
    });
  }
}
