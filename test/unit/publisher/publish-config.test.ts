/**
 * `npm run publish-config` on embedded defaults, in the test process: flag mistakes and refused requests
 * exit 2 and write nothing; a publish prints created, updated (with the fields) or unchanged per campaign;
 * a campaign id held by several accounts needs `--account`.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parsePublishArgs, runPublishCli } from '../../../services/publisher/src/cli';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { FileEdgeStore } from '../../../services/shared/edge-store/file-edge-store';
import type { CampaignRecord } from '../../../services/shared/directory/directory';

const ACTIVE = 'acc_shop0001';
const OTHER = 'acc_shop0002';
const EXPIRED = 'acc_gone0001';
const PURGED = 'acc_purged001';

let dataDir: string;
let directory: LocalDirectory;

const campaign = (accountId: string, campaignId: string, countAnonymous = true): CampaignRecord => ({
  accountId,
  campaignId,
  name: campaignId,
  countAnonymous,
  allowedOrigins: [],
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runPublishCli(argv, {
    stdout: (t) => (out += `${t}\n`),
    stderr: (t) => (err += `${t}\n`),
    env: { TS_DATA_DIR: dataDir },
  });
  return { code, out, err };
}

/** Every file under the config folder with its content. */
async function configTree(): Promise<Record<string, string>> {
  const root = join(dataDir, 'config');
  const out: Record<string, string> = {};
  const accounts = await readdir(root).catch(() => [] as string[]);
  for (const a of accounts)
    for (const f of await readdir(join(root, a))) out[`${a}/${f}`] = await readFile(join(root, a, f), 'utf8');
  return out;
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'publish-config-'));
  directory = new LocalDirectory({ dataDir });
  const createdAt = '2025-01-01T00:00:00.000Z';
  await directory.putAccount({ accountId: ACTIVE, status: 'active', createdAt });
  await directory.putAccount({ accountId: OTHER, status: 'active', createdAt });
  await directory.putAccount({
    accountId: EXPIRED,
    status: 'expired',
    expiredAt: '2025-02-01T00:00:00Z',
    createdAt,
  });
  await directory.putAccount({ accountId: PURGED, status: 'purged', createdAt });
  await directory.putCampaign(campaign(ACTIVE, 'cmp_spring'));
  await directory.putCampaign(campaign(ACTIVE, 'cmp_summer', false));
  await directory.putCampaign(campaign(OTHER, 'cmp_spring'));
  await directory.putCampaign(campaign(OTHER, 'cmp_only-other'));
  await directory.putCampaign(campaign(EXPIRED, 'cmp_expired'));
  await directory.putCampaign(campaign(PURGED, 'cmp_purged'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

describe('flags', () => {
  test.each([
    [[], /say what to publish: <campaignId>, --all or --snippet/],
    [['--snippet'], /--snippet goes only with --stage/],
    [['--snippet', '--all', '--stage', 'dev'], /--snippet publishes only the snippet/],
    [['--snippet', 'cmp_spring', '--stage', 'dev'], /--snippet publishes only the snippet/],
    [['cmp_spring', '--all'], /not both/],
    [['cmp_a1234', 'cmp_b1234'], /give one campaign id/],
    [['spring'], /not a campaign id: "spring"/],
    [['cmp_spring', '--account', 'shop1'], /--account must be an account id/],
    [['--all', '--stage', 'qa'], /--stage must be one of dev, staging, prod; got "qa"/],
    [['--all', '--bucket', 'b'], /--bucket goes only with --stage/],
    [['--all', '--distribution-id', 'E1'], /--distribution-id goes only with --stage/],
    [['--all', '--table', 't'], /--table goes only with --stage/],
    [['--all', '--stage', 'dev', '--data-dir', 'x'], /--data-dir is for the local store/],
    [['--all', '--stage', 'dev', '--bucket', ' '], /--bucket must not be empty/],
    [['--all', '--force'], /Unknown option '--force'/],
  ])('%j: exit 2 with the reason and the usage, nothing written', async (argv, reason) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(reason);
    expect(r.err).toContain('Usage: npm run publish-config');
    expect(await configTree()).toEqual({});
  });

  test('--help prints the usage and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--distribution-id <id>');
  });

  test('the data folder comes from --data-dir, else TS_DATA_DIR, else .data', () => {
    expect(parsePublishArgs(['--all'], {}).dataDir).toBe('.data');
    expect(parsePublishArgs(['--all'], { TS_DATA_DIR: '/srv/ts' }).dataDir).toBe('/srv/ts');
    expect(parsePublishArgs(['--all', '--data-dir', 'x'], { TS_DATA_DIR: '/srv/ts' }).dataDir).toBe('x');
    expect(parsePublishArgs(['cmp_spring', '--account', ACTIVE]).selection).toEqual({
      kind: 'one',
      campaignId: 'cmp_spring',
      accountId: ACTIVE,
    });
  });
});

describe('refused requests: exit 2, nothing written', () => {
  test.each([
    [['cmp_nothing'], /unknown campaign cmp_nothing: no account has it/],
    [['cmp_summer', '--account', OTHER], /unknown campaign cmp_summer in account acc_shop0002/],
    [['cmp_spring', '--account', 'acc_nobody01'], /unknown account acc_nobody01/],
    [['cmp_expired'], /account acc_gone0001 is expired/],
    [['cmp_purged'], /account acc_purged001 is purged/],
    [['--all', '--account', EXPIRED], /account acc_gone0001 is expired/],
    [
      ['cmp_spring'],
      /campaign cmp_spring exists in 2 accounts \(acc_shop0001, acc_shop0002\).*--account <accountId>/,
    ],
  ])('%j', async (argv, reason) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^Refused, nothing was written: /);
    expect(r.err).toMatch(reason);
    expect(await configTree()).toEqual({});
  });

  test('a data folder without a directory file is refused, and not created', async () => {
    const missing = join(dataDir, 'nowhere');
    const r = await run('--all', '--data-dir', missing);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`the local store ${resolve(missing)} has no directory file`);
    expect(await stat(missing).catch(() => undefined)).toBeUndefined();
  });
});

describe('publishing', () => {
  test('created, then unchanged (no write), then updated with the field that changed', async () => {
    const first = await run('cmp_summer');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`  ${ACTIVE}/cmp_summer  created\n`);
    expect(first.out).toContain('1 created, 0 updated, 0 unchanged');
    const file = join(dataDir, 'config', ACTIVE, 'cmp_summer.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      v: 1,
      accountId: ACTIVE,
      campaignId: 'cmp_summer',
      autoPageview: true,
      countAnonymous: false,
    });
    const mtime = (await stat(file)).mtimeMs;

    const second = await run('cmp_summer');
    expect(second.out).toContain(`  ${ACTIVE}/cmp_summer  unchanged\n`);
    expect((await stat(file)).mtimeMs).toBe(mtime);

    await directory.putCampaign(campaign(ACTIVE, 'cmp_summer', true));
    const third = await run('cmp_summer', '--account', ACTIVE);
    expect(third.out).toContain(`  ${ACTIVE}/cmp_summer  updated  countAnonymous: false → true\n`);
    expect(JSON.parse(await readFile(file, 'utf8')).countAnonymous).toBe(true);
  });

  test('--all publishes every campaign of every active account and nothing of the others', async () => {
    const r = await run('--all');
    expect(r.code).toBe(0);
    expect(Object.keys(await configTree()).sort()).toEqual([
      `${ACTIVE}/cmp_spring.json`,
      `${ACTIVE}/cmp_summer.json`,
      `${OTHER}/cmp_only-other.json`,
      `${OTHER}/cmp_spring.json`,
    ]);
    expect(r.out).toContain('4 created, 0 updated, 0 unchanged');
  });

  test('--all --account limits it to that account', async () => {
    const r = await run('--all', '--account', OTHER);
    expect(r.code).toBe(0);
    expect(Object.keys(await configTree()).sort()).toEqual([
      `${OTHER}/cmp_only-other.json`,
      `${OTHER}/cmp_spring.json`,
    ]);
  });

  test('--dry-run reports what would change and writes nothing', async () => {
    const r = await run('--all', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Dry run, nothing written/);
    expect(r.out).toContain(`  ${ACTIVE}/cmp_spring  created`);
    expect(await configTree()).toEqual({});
  });

  test('a stored document that is not valid is replaced, and said so', async () => {
    await run('cmp_summer');
    const file = join(dataDir, 'config', ACTIVE, 'cmp_summer.json');
    await writeFile(file, '{"v":1,"collectUrl":"x"}');
    const r = await run('cmp_summer');
    expect(r.out).toContain(`${ACTIVE}/cmp_summer  updated  replaced a stored document that was not valid`);
    expect(JSON.parse(await readFile(file, 'utf8')).countAnonymous).toBe(false);
  });

  test("each published account's home location goes to the edge store, and is removed when the record drops it", async () => {
    const edge = new FileEdgeStore({ dataDir });
    await directory.putAccount({
      accountId: OTHER,
      status: 'active',
      createdAt: '2025-01-01T00:00:00.000Z',
      homeLocation: 'europe',
    });
    const dry = await run('--all', '--dry-run');
    expect(dry.out).toContain('1 changed, 1 unchanged (dry run: not written)');
    expect(await edge.get(`home:${OTHER}`)).toBeUndefined();

    const r = await run('--all');
    expect(r.out).toContain(`  ${OTHER}  home: (none) → europe`);
    expect(await edge.get(`home:${OTHER}`)).toBe('europe');
    expect(await edge.get(`home:${ACTIVE}`)).toBeUndefined();
    // Not the expired account's, which is not published.
    expect(await edge.get(`home:${EXPIRED}`)).toBeUndefined();

    await directory.putAccount({ accountId: OTHER, status: 'active', createdAt: '2025-01-01T00:00:00.000Z' });
    const again = await run('cmp_only-other');
    expect(again.out).toContain(`  ${OTHER}  home: europe → (none)`);
    expect(await edge.get(`home:${OTHER}`)).toBeUndefined();
  });
});
