import { promises as fs, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DecryptionError,
  SEAL_OVERHEAD,
  SEAL_VERSION,
  open,
  seal,
  sealToBase64,
} from '../../../services/ingest/src/crypto/aes-gcm';
import {
  KeyFileError,
  LocalKeyProvider,
  loadOrCreateKeyFile,
} from '../../../services/ingest/src/crypto/local-key-provider';
import { Metrics } from '../../../services/ingest/src/metrics';

const key = Buffer.alloc(32, 7);
const aad = Buffer.from('acc_12345678', 'utf8');

describe('aes-gcm seal/open', () => {
  it('round-trips, including an empty plaintext', () => {
    for (const text of ['', 'x', '{"ip":"203.0.113.9","userAgent":"Mozilla/5.0"}', 'é'.repeat(5000)]) {
      const plaintext = Buffer.from(text, 'utf8');
      const blob = seal(key, plaintext, aad);
      expect(blob.length).toBe(plaintext.length + SEAL_OVERHEAD);
      expect(blob[0]).toBe(SEAL_VERSION);
      expect(open(key, blob, aad).toString('utf8')).toBe(text);
    }
  });

  it('seals a string as its UTF-8 bytes, multi-byte characters included', () => {
    for (const text of ['', 'ascii', '{"userAgent":"Mozilla/5.0 ü 😀"}', 'é'.repeat(5000)]) {
      const blob = seal(key, text, aad);
      expect(blob.length).toBe(Buffer.byteLength(text, 'utf8') + SEAL_OVERHEAD);
      expect(open(key, blob, aad).equals(Buffer.from(text, 'utf8'))).toBe(true);
    }
  });

  it('sealToBase64 gives the base64 of a blob that opens, each call its own despite the shared scratch buffer', () => {
    const texts = ['{"ip":"203.0.113.9"}', 'é'.repeat(3000), '', 'x'.repeat(10_000), 'short'];
    const sealed = texts.map((t) => sealToBase64(key, t, aad));
    sealed.forEach((b64, i) => {
      const blob = Buffer.from(b64, 'base64');
      expect(blob.length).toBe(Buffer.byteLength(texts[i]!, 'utf8') + SEAL_OVERHEAD);
      expect(open(key, blob, aad).toString('utf8')).toBe(texts[i]);
    });
    expect(new Set(sealed.map((b64) => b64.slice(0, 20))).size).toBe(texts.length);
  });

  it('draws a fresh IV per seal, so equal plaintexts give different blobs', () => {
    const a = seal(key, Buffer.from('same'), aad);
    const b = seal(key, Buffer.from('same'), aad);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('fails with DecryptionError when any single byte is changed', () => {
    const blob = seal(key, Buffer.from('personal fields'), aad);
    for (let i = 0; i < blob.length; i++) {
      const tampered = Buffer.from(blob);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      expect(() => open(key, tampered, aad)).toThrow(DecryptionError);
    }
  });

  it('fails with DecryptionError for the wrong AAD (another account)', () => {
    const blob = seal(key, Buffer.from('secret'), aad);
    expect(() => open(key, blob, Buffer.from('acc_87654321'))).toThrow(DecryptionError);
    expect(() => open(key, blob, Buffer.alloc(0))).toThrow(DecryptionError);
  });

  it('fails with DecryptionError for the wrong key', () => {
    const blob = seal(key, Buffer.from('secret'), aad);
    expect(() => open(Buffer.alloc(32, 8), blob, aad)).toThrow(DecryptionError);
  });

  it('fails with DecryptionError for truncated blobs and unknown versions', () => {
    const blob = seal(key, Buffer.from('secret'), aad);
    expect(() => open(key, blob.subarray(0, SEAL_OVERHEAD - 1), aad)).toThrow(/truncated/);
    expect(() => open(key, blob.subarray(0, blob.length - 1), aad)).toThrow(DecryptionError);
    const v2 = Buffer.from(blob);
    v2[0] = 2;
    expect(() => open(key, v2, aad)).toThrow(/unknown version 2/);
  });

  it('rejects a key that is not 32 bytes as a programming error', () => {
    expect(() => seal(Buffer.alloc(16), Buffer.from('x'), aad)).toThrow(RangeError);
    expect(() => open(Buffer.alloc(31), seal(key, Buffer.from('x'), aad), aad)).toThrow(RangeError);
  });
});

describe('LocalKeyProvider', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-lkp-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the key file with mode 0600 on first use and reuses it across instances', async () => {
    const keyFile = join(dir, 'nested', 'master.key');
    const metrics = new Metrics();
    const first = new LocalKeyProvider({ keyFile, metrics });
    await first.check();
    const stat = statSync(keyFile);
    expect(stat.size).toBe(32);
    expect(stat.mode & 0o777).toBe(0o600);
    const before = await fs.readFile(keyFile);

    const generated = await first.generateDataKey('acc_12345678');
    expect(generated.plaintext).toHaveLength(32);
    expect(generated.wrapped.equals(generated.plaintext)).toBe(false);

    const second = new LocalKeyProvider({ keyFile, metrics });
    const unwrapped = await second.decryptDataKey(generated.wrapped, 'acc_12345678');
    expect(unwrapped.equals(generated.plaintext)).toBe(true);
    expect((await fs.readFile(keyFile)).equals(before)).toBe(true);
    expect(metrics.snapshot()).toMatchObject({ 'keyProvider.GenerateDataKey': 1, 'keyProvider.Decrypt': 1 });
  });

  it('binds a wrapped key to its account id', async () => {
    const provider = new LocalKeyProvider({ keyFile: join(dir, 'master.key') });
    const { wrapped } = await provider.generateDataKey('acc_12345678');
    await expect(provider.decryptDataKey(wrapped, 'acc_87654321')).rejects.toThrow(DecryptionError);
  });

  it('does not unwrap under another master key file', async () => {
    const a = new LocalKeyProvider({ keyFile: join(dir, 'a.key') });
    const b = new LocalKeyProvider({ keyFile: join(dir, 'b.key') });
    const { wrapped } = await a.generateDataKey('acc_12345678');
    await expect(b.decryptDataKey(wrapped, 'acc_12345678')).rejects.toThrow(DecryptionError);
  });

  it('ends with one key when many instances create the file at once', async () => {
    const keyFile = join(dir, 'master.key');
    const keys = await Promise.all(Array.from({ length: 20 }, () => loadOrCreateKeyFile(keyFile)));
    for (const k of keys) expect(k.equals(keys[0] as Buffer)).toBe(true);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a key file of the wrong size', async () => {
    const keyFile = join(dir, 'master.key');
    await fs.writeFile(keyFile, Buffer.alloc(16), { mode: 0o600 });
    const provider = new LocalKeyProvider({ keyFile });
    await expect(provider.check()).rejects.toThrow(KeyFileError);
    await expect(provider.check()).rejects.toThrow(/exactly 32 bytes, found 16/);
  });

  it('refuses a group- or world-readable key file', async () => {
    const keyFile = join(dir, 'master.key');
    await fs.writeFile(keyFile, Buffer.alloc(32, 1));
    await fs.chmod(keyFile, 0o644);
    const provider = new LocalKeyProvider({ keyFile });
    await expect(provider.generateDataKey('acc_12345678')).rejects.toThrow(
      /accessible by group or others.*chmod 600/,
    );
    // Once the operator fixes the mode, the same instance recovers: the failure is not cached.
    await fs.chmod(keyFile, 0o600);
    await expect(provider.check()).resolves.toBeUndefined();
  });
});

describe('IVs', () => {
  test('every seal draws a fresh IV, across refills of the IV pool', () => {
    const key = Buffer.alloc(32, 7);
    const ivs = new Set<string>();
    for (let i = 0; i < 5000; i++)
      ivs.add(seal(key, Buffer.from('x'), Buffer.from('a')).subarray(1, 13).toString('hex'));
    expect(ivs.size).toBe(5000);
  });
});
