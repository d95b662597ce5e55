/**
 * The incident core's view of the directory ({@link KeyDirectory}) over any directory store (the local file
 * or the DynamoDB global table): the same items, with compare-and-set writes so that a revoke never
 * overwrites a concurrent one and a new key never replaces an existing one.
 */
import type { AccountRecord, ApiKeyRecord } from '../../shared/directory/directory';
import { fromItem, itemKeys, toItem, type ItemDirectory } from '../../shared/directory/item-directory';
import type { KeyDirectory } from './core/ports';

/** {@link KeyDirectory} over an {@link ItemDirectory}. */
export class ItemKeyDirectory implements KeyDirectory {
  constructor(
    private readonly directory: ItemDirectory,
    /** Human-readable name, e.g. `dynamodb:trackstack-dev-directory`. */
    public readonly description: string,
  ) {}

  getAccount(accountId: string): Promise<AccountRecord | undefined> {
    return this.directory.getAccount(accountId);
  }

  async getApiKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    // Consistent: a revoke decided on a stale "active" would be refused by the condition anyway, but a
    // stale "revoked" would refuse the operator for nothing.
    return fromItem<ApiKeyRecord>(await this.directory.readItem(itemKeys.apiKey(keyId)));
  }

  async revokeApiKey(keyId: string, at: Date, reason: string): Promise<boolean> {
    const current = await this.getApiKey(keyId);
    if (!current || current.status !== 'active') return false;
    const revoked: ApiKeyRecord = {
      ...current,
      status: 'revoked',
      revokedAt: at.toISOString(),
      revokedReason: reason,
    };
    // The table is global: the write reaches every region's replica, and each ingest's cache lets go of
    // the old status within LIMITS.keyStatusCacheSeconds.
    return this.directory.putItemIf(toItem(itemKeys.apiKey(keyId), revoked), {
      status: 'active',
      secretHash: current.secretHash,
    });
  }

  createApiKey(record: ApiKeyRecord): Promise<boolean> {
    return this.directory.putItemIf(toItem(itemKeys.apiKey(record.keyId), record), { pk: null });
  }
}
