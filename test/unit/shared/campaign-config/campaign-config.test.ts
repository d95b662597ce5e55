/**
 * Rendering and validation of campaign config documents, and the local config store that `npm run local`
 * serves: what is written always matches the snippet's schema, and deleting an account's documents never
 * touches another account's, even one whose id starts the same.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { campaignConfigDocumentSchema } from '../../../../platform';
import {
  CampaignConfigError,
  FileConfigStore,
  InvalidStoredConfigError,
  configChanges,
  formatFieldChange,
  renderCampaignConfig,
} from '../../../../services/shared/campaign-config';
import { campaignConfigDocument } from '../../../../services/ingest/src/campaign-config';
import type { CampaignRecord } from '../../../../services/shared/directory/directory';

const campaign = (over: Partial<CampaignRecord> = {}): CampaignRecord => ({
  campaignId: 'cmp_spring-sale',
  accountId: 'acc_shop0001',
  name: 'Spring sale',
  countAnonymous: true,
  allowedOrigins: ['https://shop.example'],
  ...over,
});

describe('renderCampaignConfig', () => {
  test('renders exactly the fields of the schema, nothing of the record the snippet must not see', () => {
    const doc = renderCampaignConfig(campaign({ countAnonymous: false }));
    expect(doc).toEqual({
      v: 1,
      accountId: 'acc_shop0001',
      campaignId: 'cmp_spring-sale',
      autoPageview: true,
      countAnonymous: false,
    });
    expect(campaignConfigDocumentSchema.safeParse(doc).success).toBe(true);
    expect(JSON.stringify(doc)).not.toMatch(/shop\.example|Spring sale/);
  });

  test('the ingest service still renders through its own name, the same document', () => {
    expect(campaignConfigDocument(campaign())).toEqual(renderCampaignConfig(campaign()));
  });

  test.each([
    [{ campaignId: 'cmp_X!' }, /campaignId/],
    [{ accountId: 'acc_../../etc' }, /accountId/],
    [{ countAnonymous: 'yes' as unknown as boolean }, /countAnonymous/],
  ])('refuses a record that makes an invalid document (%j), naming the field', (over, field) => {
    let caught: unknown;
    try {
      renderCampaignConfig(campaign(over));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CampaignConfigError);
    expect((caught as CampaignConfigError).problems.join('\n')).toMatch(field);
  });
});

describe('configChanges', () => {
  test('lists each differing field as before → after, and nothing for equal documents', () => {
    const before = renderCampaignConfig(campaign());
    const after = renderCampaignConfig(campaign({ countAnonymous: false }));
    expect(configChanges(before, after).map(formatFieldChange)).toEqual(['countAnonymous: true → false']);
    expect(configChanges(before, { ...before })).toEqual([]);
    expect(formatFieldChange({ field: 'x', before: undefined, after: 1 })).toBe('x: (absent) → 1');
  });
});

describe('FileConfigStore', () => {
  let dataDir: string;
  let store: FileConfigStore;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'config-store-'));
    store = new FileConfigStore({ dataDir });
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  test('put writes config/<account>/<campaign>.json, and get reads it back', async () => {
    const doc = renderCampaignConfig(campaign());
    expect(await store.get(doc.accountId, doc.campaignId)).toBeUndefined();
    await store.put(doc);
    const text = await readFile(join(dataDir, 'config', 'acc_shop0001', 'cmp_spring-sale.json'), 'utf8');
    expect(JSON.parse(text)).toEqual(doc);
    expect(await store.get(doc.accountId, doc.campaignId)).toEqual(doc);
  });

  test('put refuses an invalid document and writes nothing', async () => {
    const bad = { ...renderCampaignConfig(campaign()), collectUrl: 'https://x.example' };
    await expect(store.put(bad)).rejects.toThrow(CampaignConfigError);
    expect(await readdir(dataDir)).toEqual([]);
  });

  test('get reports a stored file that is not a valid document', async () => {
    await mkdir(join(dataDir, 'config', 'acc_shop0001'), { recursive: true });
    await writeFile(join(dataDir, 'config', 'acc_shop0001', 'cmp_spring-sale.json'), '{"v":1');
    await expect(store.get('acc_shop0001', 'cmp_spring-sale')).rejects.toThrow(InvalidStoredConfigError);
  });

  test('deleteAccount removes the account folder only, not that of an account whose id extends it', async () => {
    await store.put(renderCampaignConfig(campaign({ accountId: 'acc_shop0001' })));
    await store.put(renderCampaignConfig(campaign({ accountId: 'acc_shop0001', campaignId: 'cmp_other' })));
    await store.put(renderCampaignConfig(campaign({ accountId: 'acc_shop00011' })));
    expect(await store.deleteAccount('acc_shop0001')).toEqual({ deleted: 2, versions: 2 });
    expect(await readdir(join(dataDir, 'config'))).toEqual(['acc_shop00011']);
    expect(await store.deleteAccount('acc_shop0001')).toEqual({ deleted: 0, versions: 0 });
  });

  test('deleteAccount refuses a malformed account id before touching anything', async () => {
    await store.put(renderCampaignConfig(campaign()));
    await expect(store.deleteAccount('acc_shop0001/..')).rejects.toThrow(RangeError);
    await expect(store.deleteAccount('')).rejects.toThrow(RangeError);
    expect(await store.get('acc_shop0001', 'cmp_spring-sale')).toBeDefined();
  });
});
