/**
 * The edge store's local adapter and the typed writers every service uses: what they write, what they
 * refuse (the KeyValueStore's size rules, malformed ids), and that concurrent writes of one process all land.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDGE_STORE } from '../../../../platform';
import {
  EdgeStoreValidationError,
  readDown,
  revokeKeyAtEdge,
  setHomeAtEdge,
  writeDown,
} from '../../../../services/shared/edge-store/edge-store';
import {
  EDGE_STORE_FILE,
  EdgeStoreFileError,
  FileEdgeStore,
} from '../../../../services/shared/edge-store/file-edge-store';

let dataDir: string;
let store: FileEdgeStore;

beforeEach(async () => {
  dataDir = join(await mkdtemp(join(tmpdir(), 'edge-store-')), 'data');
  store = new FileEdgeStore({ dataDir });
});
afterEach(async () => rm(join(dataDir, '..'), { recursive: true, force: true }));

describe('FileEdgeStore', () => {
  it('reads absent keys as undefined before any write, and creates nothing by reading', async () => {
    expect(await store.get('down')).toBeUndefined();
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('puts, replaces and deletes entries in one sorted JSON file of mode 0600, leaving no temporary file', async () => {
    await store.put({ 'home:acc_bbbbbbbb': 'europe', down: 'apac' });
    await store.put({ down: 'europe,apac' });
    await store.delete(['home:acc_bbbbbbbb', 'never-there']);
    expect(await store.get('down')).toBe('europe,apac');
    expect(await store.get('home:acc_bbbbbbbb')).toBeUndefined();
    const file = join(dataDir, EDGE_STORE_FILE);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ down: 'europe,apac' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect(await readdir(dataDir)).toEqual([EDGE_STORE_FILE]);
  });

  it('keeps every one of many concurrent writes of one process', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.put({ [`revoked:${String(i).padStart(16, '0')}`]: 'x' })),
    );
    expect(Object.keys(await store.entries())).toHaveLength(40);
  });

  it('refuses keys and values the KeyValueStore would refuse, writing nothing', async () => {
    await expect(store.put({ ['k'.repeat(513)]: 'v' })).rejects.toThrow(/513 bytes; a key is at most 512/);
    await expect(store.put({ ok: 'v', big: 'é'.repeat(513) })).rejects.toThrow(
      /1026 bytes; a value is at most 1024/,
    );
    await expect(store.put({ '': 'v' })).rejects.toThrow(EdgeStoreValidationError);
    await expect(store.put({ down: '' })).rejects.toThrow(/empty; delete the key instead/);
    await expect(store.get('k'.repeat(600))).rejects.toThrow(EdgeStoreValidationError);
    expect(await store.get('ok')).toBeUndefined();
  });

  it('refuses a file that is not a JSON object of strings, and leaves it as it was', async () => {
    await store.put({ down: 'apac' });
    const file = join(dataDir, EDGE_STORE_FILE);
    await writeFile(file, '["not", "an object"]');
    await expect(store.get('down')).rejects.toThrow(EdgeStoreFileError);
    await expect(store.put({ down: 'europe' })).rejects.toThrow(/must be a JSON object of strings/);
    expect(await readFile(file, 'utf8')).toBe('["not", "an object"]');
  });
});

describe('the edge store writers', () => {
  it('revokes a key by its id with the instant of revocation', async () => {
    await revokeKeyAtEdge(store, 'k3yrevoked000001', new Date('2025-03-04T05:06:07Z'));
    expect(await store.get(EDGE_STORE.revokedKey('k3yrevoked000001'))).toBe('2025-03-04T05:06:07.000Z');
    await expect(revokeKeyAtEdge(store, 'tsk_whole_key', new Date())).rejects.toThrow(/not an API key id/);
  });

  it('sets and clears an account home', async () => {
    await setHomeAtEdge(store, 'acc_resident01', 'europe');
    expect(await store.get(EDGE_STORE.homeKey('acc_resident01'))).toBe('europe');
    await setHomeAtEdge(store, 'acc_resident01', undefined);
    expect(await store.get(EDGE_STORE.homeKey('acc_resident01'))).toBeUndefined();
    await expect(setHomeAtEdge(store, 'nope', 'europe')).rejects.toThrow(/not an account id/);
    await expect(setHomeAtEdge(store, 'acc_resident01', 'mars' as never)).rejects.toThrow(
      /"mars" is not one of/,
    );
  });

  it('writes down in one canonical order, deletes the key when all are up, and reads back only locations', async () => {
    await writeDown(store, ['apac', 'americas', 'apac']);
    expect(await store.get(EDGE_STORE.downKey)).toBe('americas,apac');
    expect(await readDown(store)).toEqual(['americas', 'apac']);
    await writeDown(store, []);
    expect(await store.get(EDGE_STORE.downKey)).toBeUndefined();
    expect(await readDown(store)).toEqual([]);
    await store.put({ [EDGE_STORE.downKey]: ' europe ,mars' });
    expect(await readDown(store)).toEqual(['europe']);
    await expect(writeDown(store, ['mars' as never])).rejects.toThrow(/"mars" is not one of/);
  });
});
