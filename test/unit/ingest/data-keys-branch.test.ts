/**
 * Branch keys over the local key file and local directory: fewer master-key calls, and every guarantee of
 * the per-account keys kept (crypto-shredding by the purge, copies bound to their item, no plaintext stored).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECTORY, LIMITS } from '../../../platform';
import { DecryptionError } from '../../../services/ingest/src/crypto/aes-gcm';
import {
  BranchKeyRing,
  branchKeyContext,
  expectedKmsCalls,
} from '../../../services/ingest/src/crypto/branch-keys';
import { DataKeyService, UnknownDataKeyError } from '../../../services/ingest/src/crypto/data-keys';
import { LocalKeyProvider } from '../../../services/ingest/src/crypto/local-key-provider';
import { Metrics } from '../../../services/ingest/src/metrics';
import { ItemDirectoryPurgeStore } from '../../../services/purge/src/directory-store';
import type { WrappedDataKeyRecord } from '../../../services/shared/directory/directory';
import { CachedDirectory } from '../../../services/shared/directory/cached-directory';
import { LocalDirectory, itemKeys } from '../../../services/shared/directory/local-directory';
import { assertBranchKeyContract } from '../../support/branch-key-contract';

const LOCATION = 'europe';
const DAY_MS = LIMITS.branchKeyRotationSeconds * 1000;

let dir: string;
let clock: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ts-bk-'));
  // Mid-period, so that a test decides when the period ends; today's, because the local directory drops
  // items whose time-to-live has passed by the real clock.
  clock = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** One instance: its own key provider (counting master-key calls), directory client and caches. */
function instance(location = LOCATION) {
  const metrics = new Metrics();
  const provider = new LocalKeyProvider({ keyFile: join(dir, 'master.key'), metrics });
  const directory = new LocalDirectory({ dataDir: dir });
  const keys = new DataKeyService({ provider, directory, location, now: () => clock });
  const calls = () =>
    (metrics.keyProviderCalls.get('GenerateDataKey') ?? 0) + (metrics.keyProviderCalls.get('Decrypt') ?? 0);
  return { keys, metrics, directory, provider, calls };
}

/** A branch-key ring of an instance's provider and directory, on the test clock. */
function ringOf(inst: { provider: LocalKeyProvider; directory: LocalDirectory }): BranchKeyRing {
  return new BranchKeyRing({
    provider: inst.provider,
    directory: inst.directory,
    location: LOCATION,
    now: () => clock,
  });
}

const accounts = (n: number) =>
  Array.from({ length: n }, (_, i) => `acc_branch${String(i).padStart(4, '0')}`);

async function storedRecord(directory: LocalDirectory, accountId: string): Promise<WrappedDataKeyRecord> {
  const record = await directory.getDataKey(accountId, LOCATION);
  if (!record) throw new Error(`no data key stored for ${accountId}`);
  return record;
}

describe('LocalDirectory: branch keys', () => {
  it('keeps the first branch key of a version, and writes a data key copy back only onto that key', async () => {
    await assertBranchKeyContract(
      [new LocalDirectory({ dataDir: dir }), new LocalDirectory({ dataDir: dir })],
      '01',
    );
  });
});

describe('CachedDirectory: branch keys', () => {
  it('passes branch keys and copies through to the store, uncached', async () => {
    const store = () => new CachedDirectory({ directory: new LocalDirectory({ dataDir: dir }) });
    await assertBranchKeyContract([store(), store()], '02');
  });
});

describe('DataKeyService with branch keys', () => {
  it('opens every account on a second instance with one master-key call (the branch key)', async () => {
    const first = instance();
    const ids = accounts(50);
    const keys = await Promise.all(ids.map((a) => first.keys.getKey(a)));
    // 50 data keys and one branch key, generated once each.
    expect(first.metrics.keyProviderCalls.get('GenerateDataKey')).toBe(51);
    expect(first.metrics.keyProviderCalls.get('Decrypt') ?? 0).toBe(0);

    const second = instance();
    const again = await Promise.all(ids.map((a) => second.keys.getKey(a)));
    expect(again.map((k) => k.key.toString('hex'))).toEqual(keys.map((k) => k.key.toString('hex')));
    expect(second.calls()).toBe(1);
    expect(second.metrics.keyProviderCalls.get('Decrypt')).toBe(1);
    expect(expectedKmsCalls({ instances: 1, branchKeyVersions: 1, accountsWithoutCopy: 0 })).toBe(1);
  });

  it('seals a copy once into items stored without one, then serves them without the master key', async () => {
    // Keys stored before branch keys existed: no copy in the items.
    const legacy = new DataKeyService({
      provider: instance().provider,
      directory: new LocalDirectory({ dataDir: dir }),
      location: LOCATION,
      branchKeys: false,
    });
    const ids = accounts(20);
    await Promise.all(ids.map((a) => legacy.getKey(a)));
    const a = instance();
    expect((await storedRecord(a.directory, ids[0] as string)).branchSealed).toBeUndefined();

    await Promise.all(ids.map((id) => a.keys.getKey(id)));
    // One Decrypt per account (once, region-wide) and one GenerateDataKey for the branch key.
    expect(a.calls()).toBe(21);
    for (const id of ids) expect((await storedRecord(a.directory, id)).branchSealed).toBeDefined();
    const b = instance();
    await Promise.all(ids.map((id) => b.keys.getKey(id)));
    expect(b.calls()).toBe(1);
  });

  it('never stores a data key or branch key in clear', async () => {
    const a = instance();
    const ids = accounts(10);
    const keys = await Promise.all(ids.map((id) => a.keys.getKey(id)));
    const ring = ringOf(a);
    const branch = await ring.current();
    const file = readFileSync(join(dir, 'directory.json'));
    const text = file.toString('utf8');
    for (const secret of [...keys.map((k) => k.key), branch.key]) {
      expect(file.includes(secret)).toBe(false);
      for (const encoding of ['hex', 'base64', 'base64url'] as const)
        expect(text).not.toContain(secret.toString(encoding));
    }
    const item = (await a.directory.listItems(DIRECTORY.branchKeyPk(LOCATION)))[0];
    expect(Object.keys(item ?? {}).sort()).toEqual(
      ['branchKeyId', 'createdAt', 'expiresAt', 'location', 'pk', 'sk', 'version', 'wrapped'].sort(),
    );
  });

  it('is crypto-shredded by the purge: an instance holding the branch key cannot open the account again', async () => {
    const a = instance();
    const [victim, bystander] = accounts(2) as [string, string];
    const envelope = await a.keys.encryptFields(victim, { ip: '203.0.113.7' });
    const kept = await a.keys.encryptFields(bystander, { ip: '203.0.113.8' });
    const b = instance();
    expect(await b.keys.decryptFields(victim, envelope)).toEqual({ ip: '203.0.113.7' });

    // The purge's own shredding step: the account's data-key items, both wrappings inside them.
    const purge = new ItemDirectoryPurgeStore({ directory: new LocalDirectory({ dataDir: dir }) });
    await purge.deleteItems(await purge.listDataKeys(victim));
    expect(await b.directory.getDataKey(victim, LOCATION)).toBeUndefined();

    // Within the cache period the instance still holds the key; after it, nothing opens the envelope.
    expect(await b.keys.decryptFields(victim, envelope)).toEqual({ ip: '203.0.113.7' });
    clock += LIMITS.dataKeyCacheSeconds * 1000;
    const before = b.calls();
    await expect(b.keys.decryptFields(victim, envelope)).rejects.toThrow(UnknownDataKeyError);
    // The branch key is still held (the bystander opens without the master key), and it did not help.
    expect(await b.keys.decryptFields(bystander, kept)).toEqual({ ip: '203.0.113.8' });
    expect(b.calls()).toBe(before);
  });

  it('refuses a copy moved into another account’s item, or altered, and serves the true key instead', async () => {
    const a = instance();
    const [x, y] = accounts(2) as [string, string];
    const keyX = (await a.keys.getKey(x)).key;
    const keyY = (await a.keys.getKey(y)).key;
    const recordX = await storedRecord(a.directory, x);
    const recordY = await storedRecord(a.directory, y);
    const ring = ringOf(a);
    const branch = await ring.current();
    expect(ring.openCopy(branch, recordY).equals(keyY)).toBe(true);

    // X's copy in Y's item: the additional data names Y, so it does not open.
    const moved = { ...recordY, branchSealed: recordX.branchSealed };
    expect(() => ring.openCopy(branch, moved)).toThrow(DecryptionError);
    // Each bound field counts on its own: the account, the data key id, the branch key id.
    expect(() => ring.openCopy(branch, { ...recordX, accountId: y })).toThrow(DecryptionError);
    expect(() => ring.openCopy(branch, { ...recordX, dataKeyId: recordY.dataKeyId })).toThrow(
      DecryptionError,
    );
    expect(() => ring.openCopy({ ...branch, branchKeyId: 'bk_other' }, recordX)).toThrow(DecryptionError);
    // The same for another location, and for a flipped byte.
    expect(() => ring.openCopy(branch, { ...recordY, location: 'apac' })).toThrow(DecryptionError);
    const flipped = Buffer.from(recordY.branchSealed ?? '', 'base64');
    flipped[20] = (flipped[20] ?? 0) ^ 0x01;
    expect(() => ring.openCopy(branch, { ...recordY, branchSealed: flipped.toString('base64') })).toThrow(
      DecryptionError,
    );

    // Stored in the directory, the moved copy costs one master-key call and is replaced by Y's own.
    await a.directory.putItemIf(
      { ...itemKeys.dataKey(y, LOCATION), ...moved },
      { dataKeyId: recordY.dataKeyId },
    );
    const b = instance();
    const opened = await b.keys.getKey(y);
    expect(opened.key.equals(keyY)).toBe(true);
    expect(opened.key.equals(keyX)).toBe(false);
    expect(b.metrics.keyProviderCalls.get('Decrypt')).toBe(2); // the branch key, then Y's wrapped key
    const repaired = await storedRecord(a.directory, y);
    expect(ring.openCopy(branch, repaired).equals(keyY)).toBe(true);
  });

  it('does not write a copy back into an item the purge deleted meanwhile', async () => {
    const a = instance();
    const [id] = accounts(1) as [string];
    await a.keys.getKey(id);
    const record = await storedRecord(a.directory, id);
    await a.directory.deleteItems([itemKeys.dataKey(id, LOCATION)]);
    expect(await a.directory.putDataKeyBranchCopy(record, undefined)).toBe(false);
    expect(await a.directory.putDataKeyBranchCopy(record, record.branchKeyId)).toBe(false);
    expect(await a.directory.getDataKey(id, LOCATION)).toBeUndefined();
  });

  it('rotates: one new branch key per period however many instances race, new copies under it', async () => {
    const first = instance();
    const [old, fresh] = accounts(2) as [string, string];
    await first.keys.getKey(old);
    const before = await storedRecord(first.directory, old);

    clock += DAY_MS;
    const racers = Array.from({ length: 5 }, () => instance());
    const rings = racers.map((r) => ringOf(r));
    const current = await Promise.all(rings.map((r) => r.current()));
    expect(new Set(current.map((c) => c.branchKeyId)).size).toBe(1);
    expect(current[0]?.version).toBe(before.branchKeyVersion! + 1);
    const versions = await first.directory.listItems(DIRECTORY.branchKeyPk(LOCATION));
    expect(versions.map((v) => v.sk)).toEqual([
      DIRECTORY.branchKeySk(before.branchKeyVersion!),
      DIRECTORY.branchKeySk(before.branchKeyVersion! + 1),
    ]);

    // A new account's copy uses the new branch key; the old copy still opens, and is resealed on a miss.
    const reader = racers[0]!;
    await reader.keys.getKey(fresh);
    expect((await storedRecord(reader.directory, fresh)).branchKeyId).toBe(current[0]?.branchKeyId);
    const oldRing = ringOf(reader);
    const previous = await oldRing.forCopy(before.branchKeyVersion!, before.branchKeyId!);
    expect(previous).toBeDefined();
    const calls = reader.calls();
    const key = await reader.keys.getKey(old);
    // The previous version was unwrapped once; the account's key itself needed no master-key call.
    expect(reader.calls()).toBe(calls + 1);
    expect(key.key.equals(oldRing.openCopy(previous!, before))).toBe(true);
    const resealed = await storedRecord(reader.directory, old);
    expect(resealed.branchKeyVersion).toBe(before.branchKeyVersion! + 1);
    expect(resealed.wrapped).toBe(before.wrapped);
  });

  it('stops opening copies of a version once it is no longer among the open ones', async () => {
    const a = instance();
    const [id] = accounts(1) as [string];
    await a.keys.getKey(id);
    const record = await storedRecord(a.directory, id);
    const ring = ringOf(a);
    expect(await ring.forCopy(record.branchKeyVersion!, record.branchKeyId!)).toBeDefined();
    expect(await ring.forCopy(record.branchKeyVersion!, 'bk_someoneelse')).toBeUndefined();
    clock += LIMITS.branchKeyOpenVersions * DAY_MS;
    expect(await ring.forCopy(record.branchKeyVersion!, record.branchKeyId!)).toBeUndefined();
    // Its item has expired too: the directory treats it as absent.
    expect(await a.directory.getBranchKey(LOCATION, record.branchKeyVersion!, clock)).toBeUndefined();

    // The account's key still comes back, through the master key, and is sealed under the current version.
    const b = instance();
    const calls = b.calls();
    await b.keys.getKey(id);
    expect(b.calls()).toBe(calls + 2); // the new branch key (generated) and the account's wrapped key
    expect((await storedRecord(b.directory, id)).branchKeyVersion).toBe(record.branchKeyVersion! + 2);
  });

  it('binds a branch key to its location and version in the master-key context', async () => {
    const a = instance();
    const ring = ringOf(a);
    const branch = await ring.current();
    const stored = await a.directory.getBranchKey(LOCATION, branch.version, clock);
    const wrapped = Buffer.from(stored?.wrapped ?? '', 'base64');
    expect(
      (await a.provider.decryptDataKey(wrapped, branchKeyContext(LOCATION, branch.version))).equals(
        branch.key,
      ),
    ).toBe(true);
    await expect(
      a.provider.decryptDataKey(wrapped, branchKeyContext('apac', branch.version)),
    ).rejects.toThrow(DecryptionError);
    await expect(
      a.provider.decryptDataKey(wrapped, branchKeyContext(LOCATION, branch.version + 1)),
    ).rejects.toThrow(DecryptionError);
    expect(branchKeyContext(LOCATION, 1)).not.toMatch(/^acc_/);
  });

  it('keeps serving keys through the master key when the branch key cannot be created', async () => {
    const a = instance();
    const failing = Object.assign(Object.create(a.directory) as LocalDirectory, {
      putBranchKeyIfAbsent: () => Promise.reject(new Error('AccessDenied')),
    });
    const keys = new DataKeyService({
      provider: a.provider,
      directory: failing,
      location: LOCATION,
      now: () => clock,
    });
    const ids = accounts(3);
    await Promise.all(ids.map((id) => keys.getKey(id)));
    // Three data keys and one failed branch-key attempt: the next minute's misses do not try again.
    expect(a.metrics.keyProviderCalls.get('GenerateDataKey')).toBe(4);
    expect((await storedRecord(a.directory, ids[0] as string)).branchSealed).toBeUndefined();
  });

  it('validates its bounds and the call model', () => {
    const a = instance();
    const props = { provider: a.provider, directory: a.directory, location: LOCATION };
    expect(() => new BranchKeyRing({ ...props, rotationSeconds: 0 })).toThrow(RangeError);
    expect(() => new BranchKeyRing({ ...props, openVersions: 1.5 })).toThrow(/openVersions/);
    expect(() => expectedKmsCalls({ instances: -1, branchKeyVersions: 1, accountsWithoutCopy: 0 })).toThrow(
      /instances/,
    );
    expect(expectedKmsCalls({ instances: 200, branchKeyVersions: 2, accountsWithoutCopy: 50_000 })).toBe(
      50_400,
    );
  });
});
