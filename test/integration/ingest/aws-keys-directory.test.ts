/**
 * The AWS key provider and directory against a real moto_server (started by the jest global setup):
 * real @aws-sdk clients over HTTP, nothing mocked.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DecryptionError } from '../../../services/ingest/src/crypto/aes-gcm';
import { DataKeyService } from '../../../services/ingest/src/crypto/data-keys';
import { KmsKeyProvider } from '../../../services/ingest/src/crypto/kms-key-provider';
import { CachedDirectory, StatusCache } from '../../../services/shared/directory/cached-directory';
import type {
  AccountRecord,
  ApiKeyRecord,
  CampaignRecord,
  Directory,
} from '../../../services/shared/directory/directory';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import { itemKeys } from '../../../services/shared/directory/local-directory';
import { Metrics } from '../../../services/ingest/src/metrics';
import { motoClientConfig } from '../../../tooling/moto';
import { motoEndpoint } from '../../support/env';

const config = motoClientConfig(motoEndpoint());
const kms = new KMSClient(config);
const dynamo = new DynamoDBClient(config);
// moto state is shared by every test file of the run: names here are unique to this file's run.
const suffix = randomBytes(4).toString('hex');

async function createKmsKey(): Promise<string> {
  const out = await kms.send(new CreateKeyCommand({ Description: `trackstack test ${suffix}` }));
  const keyId = out.KeyMetadata?.KeyId;
  if (!keyId) throw new Error('moto returned no key id');
  return keyId;
}

async function createTable(name: string): Promise<string> {
  const tableName = `trackstack-test-${name}-${suffix}`;
  await dynamo.send(new CreateTableCommand(directoryTableDefinition(tableName)));
  return tableName;
}

const now = '2024-05-01T00:00:00.000Z';
const account = (accountId: string): AccountRecord => ({ accountId, status: 'active', createdAt: now });
const apiKey = (keyId: string, accountId: string): ApiKeyRecord => ({
  keyId,
  accountId,
  secretHash: 'a'.repeat(64),
  status: 'active',
  createdAt: now,
});

afterAll(() => {
  kms.destroy();
  dynamo.destroy();
});

describe('KmsKeyProvider on moto', () => {
  let keyId: string;
  beforeAll(async () => {
    keyId = await createKmsKey();
  });

  it('generates and unwraps a data key under the account encryption context', async () => {
    const metrics = new Metrics();
    const provider = new KmsKeyProvider({ client: kms, keyId, metrics });
    await provider.check();
    const generated = await provider.generateDataKey('acc_kms00001');
    expect(generated.plaintext).toHaveLength(32);
    expect(generated.wrapped.length).toBeGreaterThan(32);
    const unwrapped = await provider.decryptDataKey(generated.wrapped, 'acc_kms00001');
    expect(unwrapped.equals(generated.plaintext)).toBe(true);
    expect(metrics.snapshot()).toMatchObject({
      'keyProvider.GenerateDataKey': 1,
      'keyProvider.Decrypt': 1,
      'keyProvider.DescribeKey': 1,
    });
  });

  it('refuses to unwrap under another account context', async () => {
    const provider = new KmsKeyProvider({ client: kms, keyId });
    const { wrapped } = await provider.generateDataKey('acc_kms00001');
    await expect(provider.decryptDataKey(wrapped, 'acc_kms00002')).rejects.toThrow(DecryptionError);
  });

  it('fails its check when the key is disabled', async () => {
    const disabled = await createKmsKey();
    await kms.send(new DisableKeyCommand({ KeyId: disabled }));
    await expect(new KmsKeyProvider({ client: kms, keyId: disabled }).check()).rejects.toThrow(/not usable/);
  });
});

describe('DataKeyService over KMS and DynamoDB on moto', () => {
  it('calls GenerateDataKey once per account (and once for the branch key): 1,000 encryptFields over 10 accounts → 11', async () => {
    const keyId = await createKmsKey();
    const tableName = await createTable('dk');
    const metrics = new Metrics();
    const directory = new DynamoDirectory({ client: dynamo, tableName });
    const keys = new DataKeyService({
      provider: new KmsKeyProvider({ client: kms, keyId, metrics }),
      directory,
      location: 'americas',
    });
    const accounts = Array.from({ length: 10 }, (_, i) => `acc_load${String(i).padStart(5, '0')}`);
    // Interleaved, and all in flight at once: the worst case for a cold cache.
    const envelopes = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => {
        const accountId = accounts[i % accounts.length] as string;
        return keys.encryptFields(accountId, { ip: `192.0.2.${i % 250}`, n: i });
      }),
    );
    expect(metrics.keyProviderCalls.get('GenerateDataKey')).toBe(10 + 1);
    expect(metrics.keyProviderCalls.get('Decrypt') ?? 0).toBe(0);
    for (const accountId of accounts) {
      expect((await directory.getDataKey(accountId, 'americas'))?.accountId).toBe(accountId);
    }

    // A second instance (another Lambda) unwraps the branch key once and opens every account's copy with it.
    const coldMetrics = new Metrics();
    const cold = new DataKeyService({
      provider: new KmsKeyProvider({ client: kms, keyId, metrics: coldMetrics }),
      directory: new DynamoDirectory({ client: dynamo, tableName }),
      location: 'americas',
    });
    const opened = await Promise.all(
      envelopes.map((e, i) => cold.decryptFields(accounts[i % 10] as string, e)),
    );
    expect(opened[999]).toEqual({ ip: `192.0.2.${999 % 250}`, n: 999 });
    expect(coldMetrics.keyProviderCalls.get('Decrypt')).toBe(1);
    expect(coldMetrics.keyProviderCalls.get('GenerateDataKey') ?? 0).toBe(0);
  });

  it('settles two instances racing on a new account on the stored key', async () => {
    const keyId = await createKmsKey();
    const tableName = await createTable('race');
    const make = () =>
      new DataKeyService({
        provider: new KmsKeyProvider({ client: kms, keyId }),
        directory: new DynamoDirectory({ client: dynamo, tableName }),
        location: 'europe',
      });
    const [a, b] = [make(), make()];
    const [ka, kb] = await Promise.all([a.getKey('acc_race0001'), b.getKey('acc_race0001')]);
    expect(ka.dataKeyId).toBe(kb.dataKeyId);
    expect(ka.key.equals(kb.key)).toBe(true);
  });
});

describe('DynamoDirectory on moto', () => {
  let tableName: string;
  let directory: DynamoDirectory;
  beforeAll(async () => {
    tableName = await createTable('crud');
    directory = new DynamoDirectory({ client: dynamo, tableName });
  });

  it('passes its check, and fails it for a missing table', async () => {
    await expect(directory.check()).resolves.toBeUndefined();
    await expect(
      new DynamoDirectory({ client: dynamo, tableName: `missing-${suffix}` }).check(),
    ).rejects.toThrow();
  });

  it('writes and reads accounts, API keys and campaigns in the shared item layout', async () => {
    const acc = 'acc_crud0001';
    expect(await directory.getAccount(acc)).toBeUndefined();
    await directory.putAccount({ ...account(acc), contactEmail: 'ops@example.com', expiredAt: undefined });
    expect(await directory.getAccount(acc)).toEqual({ ...account(acc), contactEmail: 'ops@example.com' });
    await directory.putAccount({ ...account(acc), status: 'expired', expiredAt: '2024-06-01T00:00:00.000Z' });
    expect((await directory.getAccount(acc))?.status).toBe('expired');

    await directory.putApiKey(apiKey('crud000000000001', acc));
    expect(await directory.getApiKey('crud000000000001')).toEqual(apiKey('crud000000000001', acc));
    expect(await directory.getApiKey('crud000000000002')).toBeUndefined();

    const campaign: CampaignRecord = {
      campaignId: 'cmp_crud',
      accountId: acc,
      name: 'Crud',
      countAnonymous: false,
      allowedOrigins: [],
    };
    await directory.putCampaign(campaign);
    expect(await directory.getCampaign(acc, 'cmp_crud')).toEqual(campaign);
    expect(await directory.getCampaign('acc_crud0002', 'cmp_crud')).toBeUndefined();

    // The same pk/sk layout as the local file store, so the purge job handles both alike.
    const items = await directory.listItems(`ACCOUNT#${acc}`);
    expect(items.map((i) => i.sk)).toEqual(['CAMPAIGN#cmp_crud', 'META']);
    expect(items[1]).toMatchObject({ pk: `ACCOUNT#${acc}`, sk: 'META', accountId: acc });
  });

  it('keeps the first data key when two instances store one at once', async () => {
    const other = new DynamoDirectory({
      client: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
      tableName,
    });
    const record = (dataKeyId: string) => ({
      accountId: 'acc_crud0003',
      location: 'europe',
      wrapped: Buffer.from(dataKeyId).toString('base64'),
      dataKeyId,
      createdAt: now,
    });
    const first = await directory.putDataKeyIfAbsent(record('dk_first'));
    expect(first.dataKeyId).toBe('dk_first');
    expect((await other.putDataKeyIfAbsent(record('dk_second'))).dataKeyId).toBe('dk_first');
    const raced = await Promise.all([
      directory.putDataKeyIfAbsent({ ...record('dk_a'), location: 'apac' }),
      other.putDataKeyIfAbsent({ ...record('dk_b'), location: 'apac' }),
    ]);
    expect(raced[0].dataKeyId).toBe(raced[1].dataKeyId);
    expect((await directory.getDataKey('acc_crud0003', 'apac'))?.dataKeyId).toBe(raced[0].dataKeyId);
  });

  it('lists accounts and API keys, and deletes a partition in batches', async () => {
    const acc = 'acc_purge0001';
    await directory.putAccount(account(acc));
    await directory.putApiKey(apiKey('purge00000000001', acc));
    await directory.putApiKey(apiKey('purge00000000002', 'acc_purge0002'));
    for (let i = 0; i < 30; i++) {
      await directory.putCampaign({
        campaignId: `cmp_p${1000 + i}`,
        accountId: acc,
        name: `P${i}`,
        countAnonymous: true,
        allowedOrigins: [],
      });
    }
    expect((await directory.listAccounts()).map((a) => a.accountId)).toContain(acc);
    expect((await directory.listApiKeys(acc)).map((k) => k.keyId)).toEqual(['purge00000000001']);

    const items = await directory.listItems(`ACCOUNT#${acc}`);
    expect(items).toHaveLength(31);
    // More than one BatchWriteItem's worth, with a duplicate key that must not break the batch.
    expect(await directory.deleteItems([...items, itemKeys.account(acc)])).toBe(32);
    expect(await directory.listItems(`ACCOUNT#${acc}`)).toEqual([]);
    expect((await directory.getApiKey('purge00000000002'))?.accountId).toBe('acc_purge0002');
  });
});

describe('CachedDirectory: a revoked API key', () => {
  let tableName: string;
  beforeAll(async () => {
    tableName = await createTable('revoke');
  });

  it('is still active until the cache expires, and refused within 60 s of injected time', async () => {
    let t = 5_000_000;
    const keyId = 'revoke0000000001';
    const regionA = new DynamoDirectory({ client: dynamo, tableName });
    await regionA.putApiKey(apiKey(keyId, 'acc_revoke001'));
    // The ingest instance reads through its cache; the incident CLI writes the table directly.
    const ingest = new CachedDirectory({
      directory: new DynamoDirectory({ client: dynamo, tableName }),
      now: () => t,
    });
    expect((await ingest.getApiKey(keyId))?.status).toBe('active');

    await regionA.putApiKey({
      ...apiKey(keyId, 'acc_revoke001'),
      status: 'revoked',
      revokedAt: now,
      revokedReason: 'leak',
    });
    t += 59_999;
    expect((await ingest.getApiKey(keyId))?.status).toBe('active');
    t += 1;
    expect((await ingest.getApiKey(keyId))?.status).toBe('revoked');
  });

  it('is refused at once by the instance that revoked it', async () => {
    const keyId = 'revoke0000000002';
    const cached = new CachedDirectory({ directory: new DynamoDirectory({ client: dynamo, tableName }) });
    await cached.putApiKey(apiKey(keyId, 'acc_revoke001'));
    expect((await cached.getApiKey(keyId))?.status).toBe('active');
    await cached.putApiKey({ ...apiKey(keyId, 'acc_revoke001'), status: 'revoked' });
    expect((await cached.getApiKey(keyId))?.status).toBe('revoked');
  });

  it('rejects a cache TTL above 60 s', () => {
    const directory = new DynamoDirectory({ client: dynamo, tableName });
    expect(() => new CachedDirectory({ directory, ttlSeconds: 61 })).toThrow(RangeError);
    expect(() => new CachedDirectory({ directory, ttlSeconds: 60.001 })).toThrow(/within 60 s/);
    expect(() => new CachedDirectory({ directory, ttlSeconds: 30, negativeTtlSeconds: 31 })).toThrow(
      RangeError,
    );
    expect(() => new CachedDirectory({ directory, ttlSeconds: 60 })).not.toThrow();
  });
});

/** A directory that counts reads, to see what the cache saves. */
function countingDirectory(inner: Directory): Directory & { reads: number } {
  const counted = {
    reads: 0,
    name: inner.name,
    getAccount: (id: string) => {
      counted.reads++;
      return inner.getAccount(id);
    },
    putAccount: (a: AccountRecord) => inner.putAccount(a),
    getApiKey: (id: string) => {
      counted.reads++;
      return inner.getApiKey(id);
    },
    putApiKey: (k: ApiKeyRecord) => inner.putApiKey(k),
    getCampaign: (a: string, c: string) => {
      counted.reads++;
      return inner.getCampaign(a, c);
    },
    putCampaign: (c: CampaignRecord) => inner.putCampaign(c),
    getDataKey: inner.getDataKey.bind(inner),
    putDataKeyIfAbsent: inner.putDataKeyIfAbsent.bind(inner),
    putDataKeyBranchCopy: inner.putDataKeyBranchCopy.bind(inner),
    getBranchKey: inner.getBranchKey.bind(inner),
    putBranchKeyIfAbsent: inner.putBranchKeyIfAbsent.bind(inner),
    claimConversion: inner.claimConversion.bind(inner),
    hasConversionClaim: inner.hasConversionClaim.bind(inner),
    releaseConversion: inner.releaseConversion.bind(inner),
    check: () => inner.check(),
  };
  return counted;
}

describe('CachedDirectory on moto: reads saved', () => {
  let tableName: string;
  beforeAll(async () => {
    tableName = await createTable('cache');
  });

  it('answers concurrent lookups with one read, and caches "not found" for a shorter time', async () => {
    let t = 0;
    const inner = countingDirectory(new DynamoDirectory({ client: dynamo, tableName }));
    const cached = new CachedDirectory({ directory: inner, now: () => t, negativeTtlSeconds: 5 });
    await inner.putAccount(account('acc_cache0001'));

    const results = await Promise.all(Array.from({ length: 50 }, () => cached.getAccount('acc_cache0001')));
    expect(results.every((r) => r?.status === 'active')).toBe(true);
    expect(inner.reads).toBe(1);

    expect(await cached.getAccount('acc_cache0404')).toBeUndefined();
    expect(await cached.getAccount('acc_cache0404')).toBeUndefined();
    expect(inner.reads).toBe(2);
    await inner.putAccount(account('acc_cache0404'));
    t += 5_000;
    expect((await cached.getAccount('acc_cache0404'))?.status).toBe('active');
    expect(inner.reads).toBe(3);
    // The found record is still fresh (read at t=0, trusted until t=60 s).
    await cached.getAccount('acc_cache0001');
    expect(inner.reads).toBe(3);
  });
});

describe('StatusCache', () => {
  it('holds at most maxEntries, dropping the oldest', async () => {
    const cache = new StatusCache<number>({ maxEntries: 2, now: () => 0 });
    let loads = 0;
    const load = (v: number) => async () => {
      loads++;
      return v;
    };
    await cache.get('a', load(1));
    await cache.get('b', load(2));
    await cache.get('c', load(3));
    expect(cache.size).toBe(2);
    expect(await cache.get('b', load(20))).toBe(2);
    expect(await cache.get('a', load(10))).toBe(10);
    expect(loads).toBe(4);
  });

  it('does not cache errors, nor a load that an invalidation overtook', async () => {
    const cache = new StatusCache<string>({ now: () => 0 });
    await expect(cache.get('k', () => Promise.reject(new Error('throttled')))).rejects.toThrow('throttled');
    expect(await cache.get('k', async () => 'fresh')).toBe('fresh');
    cache.invalidate('k');
    const stale = cache.get('k', async () => 'before-write');
    cache.invalidate('k');
    expect(await stale).toBe('before-write');
    expect(await cache.get('k', async () => 'after-write')).toBe('after-write');
  });
});
