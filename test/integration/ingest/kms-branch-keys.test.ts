/**
 * KMS calls with and without branch keys, against moto's KMS and DynamoDB (started by the jest global
 * setup): real @aws-sdk clients, the real DataKeyService, KmsKeyProvider and DynamoDirectory; N instances
 * are N services with their own caches and providers, sharing one table and one KMS key.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DIRECTORY, LIMITS } from '../../../platform';
import { BranchKeyRing, expectedKmsCalls } from '../../../services/ingest/src/crypto/branch-keys';
import { DataKeyService, UnknownDataKeyError } from '../../../services/ingest/src/crypto/data-keys';
import { KmsKeyProvider } from '../../../services/ingest/src/crypto/kms-key-provider';
import { Metrics } from '../../../services/ingest/src/metrics';
import { ItemDirectoryPurgeStore } from '../../../services/purge/src/directory-store';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import { motoClientConfig } from '../../../tooling/moto';
import { assertBranchKeyContract } from '../../support/branch-key-contract';
import { motoEndpoint } from '../../support/env';

const config = motoClientConfig(motoEndpoint());
const kms = new KMSClient(config);
const dynamo = new DynamoDBClient(config);
const doc = DynamoDBDocumentClient.from(dynamo);
const suffix = randomBytes(4).toString('hex');
const LOCATION = 'americas';
const DAY_MS = LIMITS.branchKeyRotationSeconds * 1000;
/** Instances (Lambda containers) serving the location. */
const INSTANCES = 3;
const ACCOUNTS = 1000;

afterAll(() => {
  kms.destroy();
  dynamo.destroy();
});

async function setUp(name: string): Promise<{ keyId: string; tableName: string }> {
  const out = await kms.send(new CreateKeyCommand({ Description: `trackstack branch keys ${suffix}` }));
  const keyId = out.KeyMetadata?.KeyId;
  if (!keyId) throw new Error('moto returned no key id');
  const tableName = `trackstack-test-${name}-${suffix}`;
  await dynamo.send(new CreateTableCommand(directoryTableDefinition(tableName)));
  return { keyId, tableName };
}

/** One instance: its own service, KMS provider (counting calls) and directory client, on a shared clock. */
function instance(keyId: string, tableName: string, clock: () => number, branchKeys: boolean) {
  const metrics = new Metrics();
  const provider = new KmsKeyProvider({ client: kms, keyId, metrics });
  const directory = new DynamoDirectory({ client: dynamo, tableName });
  const keys = new DataKeyService({
    provider,
    directory,
    location: LOCATION,
    now: clock,
    ...(branchKeys ? {} : { branchKeys: false as const }),
  });
  const calls = () =>
    (metrics.keyProviderCalls.get('GenerateDataKey') ?? 0) + (metrics.keyProviderCalls.get('Decrypt') ?? 0);
  return { keys, provider, directory, calls };
}

type Instance = ReturnType<typeof instance>;

/** Every account's key from every instance, all instances at once. */
async function serve(instances: readonly Instance[], accounts: readonly string[]): Promise<Buffer[][]> {
  return Promise.all(
    instances.map((i) => Promise.all(accounts.map(async (a) => (await i.keys.getKey(a)).key))),
  );
}

const total = (instances: readonly Instance[]) => instances.reduce((n, i) => n + i.calls(), 0);

describe('KMS calls of N instances serving the same 1,000 accounts (moto)', () => {
  it('fall from N × accounts to accounts + N, and to none in the following cache periods', async () => {
    const { keyId, tableName } = await setUp('bkcalls');
    // Mid-period of today's version, so that no rotation falls inside the test.
    let now = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
    const clock = () => now;
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `acc_calls${String(i).padStart(5, '0')}`);

    // Before: each instance calls KMS once per account (the first generates the keys, the others unwrap).
    const before = Array.from({ length: INSTANCES }, () => instance(keyId, tableName, clock, false));
    const [creator, ...readers] = before as [Instance, ...Instance[]];
    const legacyKeys = await serve([creator], accounts);
    await serve(readers, accounts);
    const beforeCalls = total(before);

    // The first instance with branch keys meets every account without a copy: one Decrypt each, and the
    // copy written back; the others then need the branch key only.
    const after = Array.from({ length: INSTANCES }, () => instance(keyId, tableName, clock, true));
    const [first, ...others] = after as [Instance, ...Instance[]];
    const firstKeys = await serve([first], accounts);
    const othersKeys = await serve(others, accounts);
    const afterCalls = total(after);

    // The next cache period: every data key expired from every cache. Without branch keys that is N ×
    // accounts again, by construction; with them, none. Both measured on a sample, to keep the test short.
    now += LIMITS.dataKeyCacheSeconds * 1000;
    const sample = accounts.slice(0, 100);
    await serve(after, sample);
    const afterNext = total(after) - afterCalls;
    const legacyBefore = total(before);
    await serve(before, sample);
    expect(total(before) - legacyBefore).toBe(INSTANCES * sample.length);

    console.log(
      `KMS calls, ${INSTANCES} instances × ${ACCOUNTS} accounts: before ${beforeCalls} (and as many each ` +
        `${LIMITS.dataKeyCacheSeconds} s), after ${afterCalls} (then ${afterNext} for 100 accounts in the next ${LIMITS.dataKeyCacheSeconds} s)`,
    );
    expect(beforeCalls).toBe(INSTANCES * ACCOUNTS);
    // accounts (one Decrypt each) + one branch-key call per instance (the first one generates it).
    const bound = expectedKmsCalls({
      instances: INSTANCES,
      branchKeyVersions: 1,
      accountsWithoutCopy: ACCOUNTS,
    });
    expect(bound).toBe(ACCOUNTS + INSTANCES);
    expect(afterCalls).toBe(bound);
    expect(afterNext).toBe(0);
    // The same keys every way.
    const hex = (keys: Buffer[] | undefined) => (keys ?? []).map((k) => k.toString('hex'));
    for (const keys of [...firstKeys, ...othersKeys]) expect(hex(keys)).toEqual(hex(legacyKeys[0]));
  }, 180_000);
});

describe('branch keys on DynamoDB (moto)', () => {
  it('are created once per version, and copies are written back only onto the key they copy', async () => {
    const { tableName } = await setUp('bkdir');
    const store = () => new DynamoDirectory({ client: dynamo, tableName });
    await assertBranchKeyContract([store(), store()], suffix);
  });

  it('create one version per period when instances race, and new copies use it', async () => {
    const { keyId, tableName } = await setUp('bkrotate');
    let now = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
    const clock = () => now;
    const seed = instance(keyId, tableName, clock, true);
    await seed.keys.getKey('acc_rotate0001');
    const old = await seed.directory.getDataKey('acc_rotate0001', LOCATION);

    now += DAY_MS;
    const racers = Array.from({ length: 5 }, () => instance(keyId, tableName, clock, true));
    const rings = racers.map(
      (r) =>
        new BranchKeyRing({ provider: r.provider, directory: r.directory, location: LOCATION, now: clock }),
    );
    const current = await Promise.all(rings.map((r) => r.current()));
    expect(new Set(current.map((c) => c.branchKeyId)).size).toBe(1);
    // At most one GenerateDataKey and one Decrypt per racer, whoever won.
    expect(total(racers)).toBeLessThanOrEqual(2 * racers.length);
    const versions = await seed.directory.listItems(DIRECTORY.branchKeyPk(LOCATION));
    expect(versions.map((v) => Number(v.sk))).toEqual([old!.branchKeyVersion, old!.branchKeyVersion! + 1]);

    await racers[0]!.keys.getKey('acc_rotate0002');
    const fresh = await seed.directory.getDataKey('acc_rotate0002', LOCATION);
    expect(fresh?.branchKeyId).toBe(current[0]?.branchKeyId);
    // The old copy still opens (no Decrypt of the account's wrapped key), and is resealed under the new one.
    const reader = instance(keyId, tableName, clock, true);
    const key = await reader.keys.getKey('acc_rotate0001');
    expect(reader.calls()).toBe(2); // the previous and the current branch key, nothing per account
    expect(key.key.equals((await seed.keys.getKey('acc_rotate0001')).key)).toBe(true);
    const resealed = await seed.directory.getDataKey('acc_rotate0001', LOCATION);
    expect(resealed?.branchKeyVersion).toBe(old!.branchKeyVersion! + 1);
  });

  it('are no help once the purge deleted the account’s item, and nothing in the table is in clear', async () => {
    const { keyId, tableName } = await setUp('bkshred');
    let now = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
    const clock = () => now;
    const a = instance(keyId, tableName, clock, true);
    const envelope = await a.keys.encryptFields('acc_shred00001', { ip: '198.51.100.4' });
    const other = await a.keys.encryptFields('acc_shred00002', { ip: '198.51.100.5' });
    const b = instance(keyId, tableName, clock, true);
    expect(await b.keys.decryptFields('acc_shred00001', envelope)).toEqual({ ip: '198.51.100.4' });

    // No key, data or branch, appears in the table in any encoding.
    const secrets = [
      (await a.keys.getKey('acc_shred00001')).key,
      (await a.keys.getKey('acc_shred00002')).key,
      (
        await new BranchKeyRing({
          provider: a.provider,
          directory: a.directory,
          location: LOCATION,
          now: clock,
        }).current()
      ).key,
    ];
    const items = JSON.stringify((await doc.send(new ScanCommand({ TableName: tableName }))).Items);
    for (const secret of secrets)
      for (const encoding of ['hex', 'base64', 'base64url'] as const)
        expect(items).not.toContain(secret.toString(encoding));

    const purge = new ItemDirectoryPurgeStore({
      directory: new DynamoDirectory({ client: dynamo, tableName }),
    });
    await purge.deleteItems(await purge.listDataKeys('acc_shred00001'));
    now += LIMITS.dataKeyCacheSeconds * 1000;
    const calls = b.calls();
    await expect(b.keys.decryptFields('acc_shred00001', envelope)).rejects.toThrow(UnknownDataKeyError);
    expect(await b.keys.decryptFields('acc_shred00002', other)).toEqual({ ip: '198.51.100.5' });
    expect(b.calls()).toBe(calls);
  });
});
