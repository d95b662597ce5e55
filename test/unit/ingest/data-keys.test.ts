import { promises as fs, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECTORY } from '../../../platform';
import { DecryptionError } from '../../../services/ingest/src/crypto/aes-gcm';
import {
  DataKeyService,
  UnknownDataKeyError,
  type EncryptedEnvelope,
} from '../../../services/ingest/src/crypto/data-keys';
import type { KeyProvider } from '../../../services/ingest/src/crypto/key-provider';
import { LocalKeyProvider } from '../../../services/ingest/src/crypto/local-key-provider';
import type {
  AccountRecord,
  ApiKeyRecord,
  CampaignRecord,
} from '../../../services/shared/directory/directory';
import { LocalDirectory, itemKeys } from '../../../services/shared/directory/local-directory';
import { Metrics } from '../../../services/ingest/src/metrics';

const ACC = 'acc_alpha0001';
const OTHER = 'acc_bravo0002';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ts-dk-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A data key service over the local key file and local directory in `dir`, with its own instances. Branch
 * keys are off unless asked for: these tests count the master-key calls of the per-account cache itself
 * (data-keys-branch.test.ts tests the branch keys).
 */
function service(
  opts: {
    now?: () => number;
    maxAgeSeconds?: number;
    maxEntries?: number;
    metrics?: Metrics;
    branchKeys?: boolean;
  } = {},
) {
  const metrics = opts.metrics ?? new Metrics();
  const provider = new LocalKeyProvider({ keyFile: join(dir, 'master.key'), metrics });
  const directory = new LocalDirectory({ dataDir: dir });
  const keys = new DataKeyService({
    provider,
    directory,
    location: 'europe',
    now: opts.now,
    maxAgeSeconds: opts.maxAgeSeconds,
    maxEntries: opts.maxEntries,
    ...(opts.branchKeys ? {} : { branchKeys: false as const }),
  });
  return { keys, metrics, directory, provider };
}

const calls = (metrics: Metrics, op: string) => metrics.keyProviderCalls.get(op) ?? 0;

describe('DataKeyService', () => {
  it('round-trips personal fields through an A256GCM envelope', async () => {
    const { keys, directory } = service();
    const fields = { ip: '203.0.113.9', userAgent: 'Mozilla/5.0', clickId: 'gclid-1', nested: { a: [1, 2] } };
    const envelope = await keys.encryptFields(ACC, fields);
    expect(envelope.alg).toBe('A256GCM');
    expect(envelope.kid).toMatch(/^dk_[A-Za-z0-9_-]{16}$/);
    expect(Buffer.from(envelope.ct, 'base64').toString('utf8')).not.toContain('203.0.113.9');
    expect(await keys.decryptFields(ACC, envelope)).toEqual(fields);

    const stored = await directory.getDataKey(ACC, 'europe');
    expect(stored).toMatchObject({ accountId: ACC, location: 'europe', dataKeyId: envelope.kid });
    // Only the wrapped key is stored, never the key itself.
    const { key } = await keys.getKey(ACC);
    expect(Buffer.from(stored?.wrapped ?? '', 'base64').includes(key)).toBe(false);
  });

  it('refuses an envelope with a changed ciphertext byte', async () => {
    const { keys } = service();
    const envelope = await keys.encryptFields(ACC, { ip: '198.51.100.1' });
    const ct = Buffer.from(envelope.ct, 'base64');
    ct[20] = (ct[20] ?? 0) ^ 0xff;
    await expect(keys.decryptFields(ACC, { ...envelope, ct: ct.toString('base64') })).rejects.toThrow(
      DecryptionError,
    );
  });

  it('refuses to open one account’s envelope as another account', async () => {
    const { keys } = service();
    const envelope = await keys.encryptFields(ACC, { ip: '198.51.100.1' });
    // The other account has a key of its own, so its kid does not match.
    await keys.getKey(OTHER);
    await expect(keys.decryptFields(OTHER, envelope)).rejects.toThrow(UnknownDataKeyError);
    // Even with the right kid, the AAD binds the ciphertext to its account.
    const otherKid = (await keys.getKey(OTHER)).dataKeyId;
    await expect(keys.decryptFields(OTHER, { ...envelope, kid: otherKid })).rejects.toThrow(DecryptionError);
  });

  it('binds sealed fields to their account: the same key under another account id does not open them', async () => {
    // A provider handing every account the same key material, so the account id bound as additional
    // authenticated data is the only thing between one account's ciphertext and another's reader.
    const shared = Buffer.alloc(32, 7);
    const provider: KeyProvider = {
      name: 'same-key',
      generateDataKey: async () => ({ plaintext: Buffer.from(shared), wrapped: Buffer.from('wrapped') }),
      decryptDataKey: async () => Buffer.from(shared),
      check: async () => undefined,
    };
    const keys = new DataKeyService({
      provider,
      directory: new LocalDirectory({ dataDir: dir }),
      location: 'europe',
    });
    const envelope = await keys.encryptFields(ACC, { ip: '198.51.100.2' });
    const other = await keys.getKey(OTHER);
    expect(other.key.equals((await keys.getKey(ACC)).key)).toBe(true);
    await expect(keys.decryptFields(OTHER, { ...envelope, kid: other.dataKeyId })).rejects.toThrow(
      DecryptionError,
    );
    expect(await keys.decryptFields(ACC, envelope)).toEqual({ ip: '198.51.100.2' });
  });

  it('refuses malformed envelopes and never creates a key to open one', async () => {
    const { keys, directory } = service();
    await expect(keys.decryptFields(ACC, { alg: 'none' } as unknown as EncryptedEnvelope)).rejects.toThrow(
      /not an A256GCM envelope/,
    );
    await expect(keys.decryptFields(ACC, { alg: 'A256GCM', kid: 'dk_x', ct: '' })).rejects.toThrow(
      UnknownDataKeyError,
    );
    expect(await directory.getDataKey(ACC, 'europe')).toBeUndefined();
  });

  it('reuses the stored key across instances and the key file across restarts', async () => {
    const first = service();
    const envelope = await first.keys.encryptFields(ACC, { ip: '192.0.2.1' });
    const keyFileMode = statSync(join(dir, 'master.key')).mode & 0o777;
    expect(keyFileMode).toBe(0o600);

    const second = service();
    expect(await second.keys.decryptFields(ACC, envelope)).toEqual({ ip: '192.0.2.1' });
    expect((await second.keys.getKey(ACC)).dataKeyId).toBe(envelope.kid);
    expect(calls(second.metrics, 'GenerateDataKey')).toBe(0);
    expect(calls(second.metrics, 'Decrypt')).toBe(1);
  });

  it('bounds the age of cached keys by the injected clock', async () => {
    let t = 1_000_000;
    const { keys, metrics } = service({ now: () => t, maxAgeSeconds: 300 });
    await keys.getKey(ACC);
    expect(calls(metrics, 'GenerateDataKey')).toBe(1);
    t += 299_999;
    await keys.getKey(ACC);
    await keys.encryptFields(ACC, { a: 1 });
    expect(calls(metrics, 'Decrypt')).toBe(0);
    t += 1;
    const again = await keys.getKey(ACC);
    expect(calls(metrics, 'Decrypt')).toBe(1);
    expect(calls(metrics, 'GenerateDataKey')).toBe(1);
    expect(again.dataKeyId).toBe((await keys.getKey(ACC)).dataKeyId);
    expect(calls(metrics, 'Decrypt')).toBe(1);
  });

  it('bounds the number of cached keys, dropping the oldest', async () => {
    let t = 0;
    const { keys, metrics } = service({ now: () => t, maxEntries: 3 });
    const accounts = ['acc_count0001', 'acc_count0002', 'acc_count0003', 'acc_count0004'];
    for (const a of accounts) {
      t += 1000;
      await keys.getKey(a);
    }
    expect(keys.size).toBe(3);
    expect(calls(metrics, 'GenerateDataKey')).toBe(4);
    // The three newest are held; the first was pushed out and must be unwrapped again.
    for (const a of accounts.slice(1)) await keys.getKey(a);
    expect(calls(metrics, 'Decrypt')).toBe(0);
    await keys.getKey('acc_count0001');
    expect(calls(metrics, 'Decrypt')).toBe(1);
    expect(keys.size).toBe(3);
  });

  it('shares one load among concurrent misses: 100 getKey → 1 GenerateDataKey', async () => {
    const { keys, metrics } = service();
    const results = await Promise.all(Array.from({ length: 100 }, () => keys.getKey(ACC)));
    expect(calls(metrics, 'GenerateDataKey')).toBe(1);
    expect(calls(metrics, 'Decrypt')).toBe(0);
    expect(new Set(results.map((r) => r.dataKeyId)).size).toBe(1);

    // The same holds for a cold instance unwrapping an existing key.
    const cold = service();
    await Promise.all(Array.from({ length: 100 }, () => cold.keys.encryptFields(ACC, { i: 1 })));
    expect(calls(cold.metrics, 'Decrypt')).toBe(1);
    expect(calls(cold.metrics, 'GenerateDataKey')).toBe(0);
  });

  it('settles a race between two services sharing a directory on one key', async () => {
    const a = service();
    const b = service();
    const [ka, kb] = await Promise.all([a.keys.getKey(ACC), b.keys.getKey(ACC)]);
    expect(ka.dataKeyId).toBe(kb.dataKeyId);
    expect(ka.key.equals(kb.key)).toBe(true);
    // Both found no key and generated one; one lost the conditional write and adopted the winner's key.
    // Each service pays exactly one GenerateDataKey, and neither pays another once it holds the key.
    expect(calls(a.metrics, 'GenerateDataKey')).toBe(1);
    expect(calls(b.metrics, 'GenerateDataKey')).toBe(1);
    const envelope = await a.keys.encryptFields(ACC, { ip: '192.0.2.7' });
    expect(await b.keys.decryptFields(ACC, envelope)).toEqual({ ip: '192.0.2.7' });
    await Promise.all([a.keys.getKey(ACC), b.keys.getKey(ACC)]);
    expect(calls(a.metrics, 'GenerateDataKey') + calls(b.metrics, 'GenerateDataKey')).toBe(2);
    // A third instance finds the winner's key: it unwraps, never generates.
    const c = service();
    expect(await c.keys.decryptFields(ACC, envelope)).toEqual({ ip: '192.0.2.7' });
    expect(calls(c.metrics, 'GenerateDataKey')).toBe(0);
    expect(calls(c.metrics, 'Decrypt')).toBe(1);
    const stored = await new LocalDirectory({ dataDir: dir }).listItems(DIRECTORY.dataKeyPk(ACC));
    expect(stored.map((i) => i.sk)).toEqual(['europe']);
  });

  it('stops using a key once evicted and shredded', async () => {
    const { keys, directory } = service();
    const envelope = await keys.encryptFields(ACC, { ip: '192.0.2.8' });
    await directory.deleteItems([itemKeys.dataKey(ACC, 'europe')]);
    // Still cached: other instances behave like this until their cache period ends.
    expect(await keys.decryptFields(ACC, envelope)).toEqual({ ip: '192.0.2.8' });
    keys.evict(ACC);
    await expect(keys.decryptFields(ACC, envelope)).rejects.toThrow(/no data key in europe/);
  });

  it('does not cache a load that an eviction overtook', async () => {
    const { keys, metrics } = service();
    await keys.getKey(ACC);
    keys.evict(ACC);
    const pending = keys.getKey(ACC);
    keys.evict(ACC);
    await pending;
    expect(keys.size).toBe(0);
    await keys.getKey(ACC);
    expect(calls(metrics, 'Decrypt')).toBe(2);
  });

  it('rejects nonsensical bounds', () => {
    const provider = new LocalKeyProvider({ keyFile: join(dir, 'master.key') });
    const directory = new LocalDirectory({ dataDir: dir });
    expect(() => new DataKeyService({ provider, directory, location: 'europe', maxAgeSeconds: 0 })).toThrow(
      RangeError,
    );
    expect(() => new DataKeyService({ provider, directory, location: 'europe', maxEntries: 0 })).toThrow(
      RangeError,
    );
  });
});

describe('LocalDirectory', () => {
  const account: AccountRecord = { accountId: ACC, status: 'active', createdAt: '2024-01-01T00:00:00.000Z' };
  const apiKey: ApiKeyRecord = {
    keyId: 'abcdefgh12345678',
    accountId: ACC,
    secretHash: 'f'.repeat(64),
    status: 'active',
    createdAt: '2024-01-01T00:00:00.000Z',
  };
  const campaign: CampaignRecord = {
    campaignId: 'cmp_spring',
    accountId: ACC,
    name: 'Spring',
    countAnonymous: true,
    allowedOrigins: ['https://shop.example'],
  };

  it('stores records as pk/sk items in one private JSON file', async () => {
    const d = new LocalDirectory({ dataDir: join(dir, 'nested') });
    expect(await d.getAccount(ACC)).toBeUndefined();
    await d.putAccount({ ...account, expiredAt: undefined });
    await d.putApiKey(apiKey);
    await d.putCampaign(campaign);
    expect(await d.getAccount(ACC)).toEqual(account);
    expect(await d.getApiKey(apiKey.keyId)).toEqual(apiKey);
    expect(await d.getCampaign(ACC, 'cmp_spring')).toEqual(campaign);
    expect(await d.getCampaign(OTHER, 'cmp_spring')).toBeUndefined();

    expect(statSync(d.file).mode & 0o777).toBe(0o600);
    const onDisk = JSON.parse(await fs.readFile(d.file, 'utf8')) as { version: number; items: object[] };
    expect(onDisk.version).toBe(1);
    expect(onDisk.items).toEqual(
      expect.arrayContaining([
        { ...account, pk: `ACCOUNT#${ACC}`, sk: 'META' },
        { ...apiKey, pk: 'APIKEY#abcdefgh12345678', sk: 'META' },
        { ...campaign, pk: `ACCOUNT#${ACC}`, sk: 'CAMPAIGN#cmp_spring' },
      ]),
    );
    expect((await fs.readdir(join(dir, 'nested'))).sort()).toEqual(['directory.json']);
  });

  it('sees writes made by another instance or process', async () => {
    const reader = new LocalDirectory({ dataDir: dir });
    const writer = new LocalDirectory({ dataDir: dir });
    await reader.check();
    expect(await reader.getApiKey(apiKey.keyId)).toBeUndefined();
    await writer.putApiKey(apiKey);
    expect((await reader.getApiKey(apiKey.keyId))?.status).toBe('active');
    await writer.putApiKey({ ...apiKey, status: 'revoked', revokedReason: 'leaked' });
    expect((await reader.getApiKey(apiKey.keyId))?.status).toBe('revoked');

    // A hand edit, as a CLI that writes the file directly would make.
    const raw = JSON.parse(await fs.readFile(reader.file, 'utf8')) as { items: Record<string, unknown>[] };
    for (const item of raw.items) if (item.pk === 'APIKEY#abcdefgh12345678') item.status = 'active';
    await fs.writeFile(reader.file, JSON.stringify(raw));
    expect((await reader.getApiKey(apiKey.keyId))?.status).toBe('active');
  });

  it('keeps every write when instances write concurrently', async () => {
    const instances = Array.from({ length: 5 }, () => new LocalDirectory({ dataDir: dir }));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (instances[i % instances.length] as LocalDirectory).putCampaign({
          ...campaign,
          campaignId: `cmp_c${1000 + i}`,
        }),
      ),
    );
    const items = await new LocalDirectory({ dataDir: dir }).listItems(`ACCOUNT#${ACC}`);
    expect(items).toHaveLength(40);
    await expect(fs.access(`${instances[0]?.file}.lock`)).rejects.toThrow();
  });

  it('lets exactly one concurrent putDataKeyIfAbsent win', async () => {
    const instances = Array.from({ length: 6 }, () => new LocalDirectory({ dataDir: dir }));
    const results = await Promise.all(
      instances.map((d, i) =>
        d.putDataKeyIfAbsent({
          accountId: ACC,
          location: 'europe',
          wrapped: Buffer.from(`w${i}`).toString('base64'),
          dataKeyId: `dk_${i}`,
          createdAt: '2024-01-01T00:00:00.000Z',
        }),
      ),
    );
    expect(new Set(results.map((r) => r.dataKeyId)).size).toBe(1);
    expect((await instances[0]?.getDataKey(ACC, 'europe'))?.dataKeyId).toBe(results[0]?.dataKeyId);
    // Another location is another item.
    const apac = await new LocalDirectory({ dataDir: dir }).putDataKeyIfAbsent({
      accountId: ACC,
      location: 'apac',
      wrapped: 'AA==',
      dataKeyId: 'dk_apac',
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    expect(apac.dataKeyId).toBe('dk_apac');
    expect((await instances[2]?.getDataKey(ACC, 'europe'))?.dataKeyId).toBe(results[0]?.dataKeyId);
  });

  it('lists and deletes the items of an account partition for the purge job', async () => {
    const d = new LocalDirectory({ dataDir: dir });
    await d.putAccount(account);
    await d.putAccount({
      ...account,
      accountId: OTHER,
      status: 'expired',
      expiredAt: '2024-02-01T00:00:00.000Z',
    });
    await d.putCampaign(campaign);
    await d.putApiKey(apiKey);
    await d.putApiKey({ ...apiKey, keyId: 'zzzzzzzz12345678', accountId: OTHER });
    await d.putDataKeyIfAbsent({
      accountId: ACC,
      location: 'europe',
      wrapped: 'AA==',
      dataKeyId: 'dk_1',
      createdAt: '2024-01-01T00:00:00.000Z',
    });

    expect((await d.listAccounts()).map((a) => a.accountId)).toEqual([ACC, OTHER]);
    expect((await d.listApiKeys(ACC)).map((k) => k.keyId)).toEqual(['abcdefgh12345678']);
    const items = await d.listItems(`ACCOUNT#${ACC}`);
    expect(items.map((i) => i.sk)).toEqual(['CAMPAIGN#cmp_spring', 'META']);
    // Data keys have a partition of their own, so the ingest role can be held to it.
    const keyItems = await d.listItems(`DATAKEY#${ACC}`);
    expect(keyItems.map((i) => i.sk)).toEqual(['europe']);

    expect(await d.deleteItems([...items, ...keyItems])).toBe(3);
    expect(await d.listItems(`ACCOUNT#${ACC}`)).toEqual([]);
    expect(await d.listItems(`DATAKEY#${ACC}`)).toEqual([]);
    expect(await d.getAccount(ACC)).toBeUndefined();
    expect((await d.getAccount(OTHER))?.status).toBe('expired');
    expect(await new LocalDirectory({ dataDir: dir }).listItems(`ACCOUNT#${ACC}`)).toEqual([]);
  });

  it('refuses an expired account whose expiry is missing, malformed, impossible or in the future', async () => {
    const d = new LocalDirectory({ dataDir: dir });
    const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
    for (const [expiredAt, problem] of [
      [undefined, /expiredAt: is required/],
      ['last tuesday', /expiredAt: must be an ISO-8601 instant/],
      ['2026-09-31T00:00:00Z', /expiredAt: must be an ISO-8601 instant/],
      [future, /expiredAt: must not be in the future/],
    ] as const) {
      await expect(
        d.putAccount({ ...account, status: 'expired', ...(expiredAt ? { expiredAt } : {}) }),
      ).rejects.toThrow(problem);
    }
    expect(await d.getAccount(ACC)).toBeUndefined();
    await d.putAccount({ ...account, status: 'expired', expiredAt: '2026-09-30T00:00:00Z' });
    expect((await d.getAccount(ACC))?.expiredAt).toBe('2026-09-30T00:00:00Z');
  });

  it('names the file when it is corrupt', async () => {
    await fs.writeFile(join(dir, 'directory.json'), '{"version":1,"items":[');
    const d = new LocalDirectory({ dataDir: dir });
    await expect(d.getAccount(ACC)).rejects.toThrow(/directory\.json is not valid JSON/);
    await expect(d.check()).rejects.toThrow(/not valid JSON/);
  });

  it('breaks a lock left behind by a dead process', async () => {
    const d = new LocalDirectory({ dataDir: dir, lockTimeoutMs: 2000 });
    // Pid 2^22 + 1 is above Linux's pid_max default, so no such process exists.
    await fs.writeFile(`${d.file}.lock`, String(4_194_305));
    await d.putAccount(account);
    expect(await d.getAccount(ACC)).toEqual(account);
  });

  it('waits for a live lock and fails with a clear error when it is not released', async () => {
    const d = new LocalDirectory({ dataDir: dir, lockTimeoutMs: 100 });
    await fs.writeFile(`${d.file}.lock`, String(process.pid));
    await expect(d.putAccount(account)).rejects.toThrow(/stayed locked/);
  });
});
