/**
 * FirestoreDirectory against the real Firestore emulator of the Google Cloud SDK (started by the jest
 * global setup): the real @google-cloud/firestore client, nothing mocked. The repository has no shared
 * directory contract suite, so these are the assertions DynamoDirectory meets on moto
 * (test/integration/ingest/aws-keys-directory.test.ts), plus conversion claims and putItemIf.
 */
import { randomBytes } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import type {
  AccountRecord,
  ApiKeyRecord,
  CampaignRecord,
} from '../../../services/shared/directory/directory';
import {
  FIRESTORE_TTL_FIELD,
  FirestoreDirectory,
  firestoreDocumentId,
} from '../../../services/shared/directory/firestore-directory';
import { itemKeys } from '../../../services/shared/directory/item-directory';
import { assertBranchKeyContract } from '../../support/branch-key-contract';
import { gcpEmulators } from './emulators';

const { projectId } = gcpEmulators();
// The client finds the emulator through FIRESTORE_EMULATOR_HOST and then needs no credentials.
const client = new Firestore({ projectId });
// The emulator's state is shared by every test file of the run: each directory gets its own collection.
const suffix = randomBytes(4).toString('hex');
const directory = (name: string) =>
  new FirestoreDirectory({ client, collection: `directory-${name}-${suffix}` });

const now = '2024-05-01T00:00:00.000Z';
const account = (accountId: string): AccountRecord => ({ accountId, status: 'active', createdAt: now });
const apiKey = (keyId: string, accountId: string): ApiKeyRecord => ({
  keyId,
  accountId,
  secretHash: 'a'.repeat(64),
  status: 'active',
  createdAt: now,
});

afterAll(async () => {
  await client.terminate();
});

describe('FirestoreDirectory on the Firestore emulator', () => {
  it('passes its check, and refuses a collection path that is not one segment', async () => {
    await expect(directory('check').check()).resolves.toBeUndefined();
    expect(() => new FirestoreDirectory({ client, collection: 'a/b' })).toThrow(/single path segment/);
  });

  it('derives document ids that Firestore accepts and that never collide', () => {
    const ids = [
      { pk: 'ACCOUNT#a/b', sk: 'c' },
      { pk: 'ACCOUNT#a', sk: 'b/c' },
      { pk: '__x', sk: 'y__' },
      { pk: '.', sk: '.' },
      { pk: 'a|b', sk: 'c' },
      { pk: 'a', sk: 'b|c' },
    ].map(firestoreDocumentId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9%\-!~*'()]+\|[A-Za-z0-9%\-!~*'()]+$/);
  });

  it('writes and reads accounts, API keys and campaigns in the shared item layout', async () => {
    const dir = directory('crud');
    const acc = 'acc_crud0001';
    expect(await dir.getAccount(acc)).toBeUndefined();
    await dir.putAccount({ ...account(acc), contactEmail: 'ops@example.com', expiredAt: undefined });
    expect(await dir.getAccount(acc)).toEqual({ ...account(acc), contactEmail: 'ops@example.com' });
    await dir.putAccount({ ...account(acc), status: 'expired', expiredAt: '2024-06-01T00:00:00.000Z' });
    expect((await dir.getAccount(acc))?.status).toBe('expired');

    await dir.putApiKey(apiKey('crud000000000001', acc));
    expect(await dir.getApiKey('crud000000000001')).toEqual(apiKey('crud000000000001', acc));
    expect(await dir.getApiKey('crud000000000002')).toBeUndefined();

    const campaign: CampaignRecord = {
      campaignId: 'cmp_crud',
      accountId: acc,
      name: 'Crud',
      countAnonymous: false,
      allowedOrigins: ['https://shop.example.com'],
    };
    await dir.putCampaign(campaign);
    expect(await dir.getCampaign(acc, 'cmp_crud')).toEqual(campaign);
    expect(await dir.getCampaign('acc_crud0002', 'cmp_crud')).toBeUndefined();
    expect(await dir.findCampaigns('cmp_crud')).toEqual([campaign]);

    // The same pk/sk layout as the DynamoDB table and the local file, so the purge handles all alike.
    const items = await dir.listItems(`ACCOUNT#${acc}`);
    expect(items.map((i) => i.sk)).toEqual(['CAMPAIGN#cmp_crud', 'META']);
    expect(items[1]).toMatchObject({ pk: `ACCOUNT#${acc}`, sk: 'META', accountId: acc });
  });

  it('keeps the first data key when two instances store one at once', async () => {
    const dir = directory('datakey');
    const other = new FirestoreDirectory({
      client: new Firestore({ projectId }),
      collection: dir.collection,
    });
    const record = (dataKeyId: string) => ({
      accountId: 'acc_crud0003',
      location: 'europe',
      wrapped: Buffer.from(dataKeyId).toString('base64'),
      dataKeyId,
      createdAt: now,
    });
    expect((await dir.putDataKeyIfAbsent(record('dk_first'))).dataKeyId).toBe('dk_first');
    expect((await other.putDataKeyIfAbsent(record('dk_second'))).dataKeyId).toBe('dk_first');
    const raced = await Promise.all([
      dir.putDataKeyIfAbsent({ ...record('dk_a'), location: 'apac' }),
      other.putDataKeyIfAbsent({ ...record('dk_b'), location: 'apac' }),
    ]);
    expect(raced[0].dataKeyId).toBe(raced[1].dataKeyId);
    expect((await dir.getDataKey('acc_crud0003', 'apac'))?.dataKeyId).toBe(raced[0].dataKeyId);
  });

  it('keeps the first branch key of a version, and writes a data key copy back only onto that key', async () => {
    const name = 'branch';
    await assertBranchKeyContract([directory(name), directory(name)], suffix);
  });

  it('lists accounts and API keys, and deletes a partition past one write batch', async () => {
    const dir = directory('purge');
    const acc = 'acc_purge0001';
    await dir.putAccount(account(acc));
    await dir.putAccount(account('acc_purge0002'));
    await dir.putApiKey(apiKey('purge00000000001', acc));
    await dir.putApiKey(apiKey('purge00000000002', 'acc_purge0002'));
    const writer = client.batch();
    // 520 campaigns: more than one 500-operation write batch to delete.
    for (let i = 0; i < 520; i++) {
      const key = itemKeys.campaign(acc, `cmp_p${1000 + i}`);
      writer.set(client.collection(dir.collection).doc(firestoreDocumentId(key)), {
        ...key,
        campaignId: `cmp_p${1000 + i}`,
        accountId: acc,
      });
    }
    await writer.commit();
    // API key records share sk META with accounts: listAccounts must not mistake them for accounts.
    expect((await dir.listAccounts()).map((a) => a.accountId)).toEqual([acc, 'acc_purge0002']);
    expect((await dir.listApiKeys(acc)).map((k) => k.keyId)).toEqual(['purge00000000001']);

    const items = await dir.listItems(`ACCOUNT#${acc}`);
    expect(items).toHaveLength(521);
    // A duplicate key must not break the batch.
    expect(await dir.deleteItems([...items, itemKeys.account(acc)])).toBe(522);
    expect(await dir.listItems(`ACCOUNT#${acc}`)).toEqual([]);
    expect((await dir.getApiKey('purge00000000002'))?.accountId).toBe('acc_purge0002');
  });

  it('refuses a duplicate conversion claim, reuses a lapsed one, and frees a released one', async () => {
    const dir = directory('claims');
    const t0 = Date.parse('2024-05-01T00:00:00Z');
    const claim = { accountId: 'acc_claim0001', key: 'k1', expiresAtMs: t0 + 60_000 };
    expect(await dir.claimConversion(claim, t0)).toBe(true);
    expect(await dir.claimConversion(claim, t0 + 1000)).toBe(false);
    expect(await dir.hasConversionClaim('acc_claim0001', 'k1', t0 + 1000)).toBe(true);
    // Concurrent claims of one key: exactly one wins (the transaction retries on contention).
    const other = { ...claim, key: 'k2' };
    const raced = await Promise.all([dir.claimConversion(other, t0), dir.claimConversion(other, t0)]);
    expect(raced.filter(Boolean)).toHaveLength(1);

    // Lapsed: the TTL policy deletes it only eventually, so the expiry is what counts.
    expect(await dir.hasConversionClaim('acc_claim0001', 'k1', t0 + 60_000)).toBe(false);
    expect(await dir.claimConversion({ ...claim, expiresAtMs: t0 + 120_000 }, t0 + 60_000)).toBe(true);
    expect(await dir.claimConversion(claim, t0 + 61_000)).toBe(false);

    // Stored with a timestamp for Firestore's TTL policy, which readers never see.
    const raw = await client
      .collection(dir.collection)
      .doc(firestoreDocumentId(itemKeys.conversionClaim('acc_claim0001', 'k1')))
      .get();
    expect(raw.get(FIRESTORE_TTL_FIELD).toMillis()).toBe(t0 + 120_000);
    expect(raw.get('expiresAt')).toBe((t0 + 120_000) / 1000);
    expect(await dir.readItem(itemKeys.conversionClaim('acc_claim0001', 'k1'))).not.toHaveProperty(
      FIRESTORE_TTL_FIELD,
    );

    await dir.releaseConversion('acc_claim0001', 'k1');
    await dir.releaseConversion('acc_claim0001', 'never-taken');
    expect(await dir.claimConversion(claim, t0 + 1000)).toBe(true);
  });

  it('replaces an item only when the stored attributes match (putItemIf)', async () => {
    const dir = directory('cas');
    const key = itemKeys.account('acc_cas00001');
    expect(await dir.putItemIf({ ...key, step: 1 }, { step: 2 })).toBe(false);
    expect(await dir.readItem(key)).toBeUndefined();
    expect(await dir.putItemIf({ ...key, step: 1 }, { step: null })).toBe(true);
    expect(await dir.putItemIf({ ...key, step: 2 }, { step: null })).toBe(false);
    expect(await dir.putItemIf({ ...key, step: 2 }, { step: 1 })).toBe(true);
    expect(await dir.readItem(key)).toEqual({ ...key, step: 2 });
  });
});
