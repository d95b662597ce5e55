/**
 * `npm run publish-config` as a user runs it, in a child process, on embedded defaults: it reads the local
 * directory of `npm run local` (`TS_DATA_DIR`) and writes the local config folder that `npm run local`
 * serves; a refused request exits 2 having written nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID, seedDemo } from '../../../services/ingest/src/local/seed';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';

const ROOT = resolve(__dirname, '../../..');
let dataDir: string;

function publish(...argv: string[]) {
  const r = spawnSync('npm', ['run', '-s', 'publish-config', '--', ...argv], {
    cwd: ROOT,
    env: { ...process.env, TS_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'publish-local-'));
  const directory = new LocalDirectory({ dataDir });
  await seedDemo(directory, dataDir);
  await directory.putCampaign({
    accountId: DEMO_ACCOUNT_ID,
    campaignId: 'cmp_newsletter',
    name: 'Newsletter',
    countAnonymous: false,
    allowedOrigins: [],
  });
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

test('publishes the new campaign into the local config folder; the seeded one is unchanged', async () => {
  const r = publish('--all');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain(`  ${DEMO_ACCOUNT_ID}/cmp_newsletter  created`);
  expect(r.out).toContain(`  ${DEMO_ACCOUNT_ID}/${DEMO_CAMPAIGN_ID}  unchanged`);
  expect(
    JSON.parse(await readFile(join(dataDir, 'config', DEMO_ACCOUNT_ID, 'cmp_newsletter.json'), 'utf8')),
  ).toEqual({
    v: 1,
    accountId: DEMO_ACCOUNT_ID,
    campaignId: 'cmp_newsletter',
    autoPageview: true,
    countAnonymous: false,
  });
});

test('an unknown campaign and a bad flag exit 2 and write nothing', async () => {
  const before = (await readdir(join(dataDir, 'config', DEMO_ACCOUNT_ID))).sort();
  const unknown = publish('cmp_nowhere');
  expect(unknown.code).toBe(2);
  expect(unknown.err).toContain('Refused, nothing was written: unknown campaign cmp_nowhere');
  const bad = publish('--all', '--stage', 'moon');
  expect(bad.code).toBe(2);
  expect(bad.err).toContain('--stage must be one of dev, staging, prod; got "moon"');
  expect((await readdir(join(dataDir, 'config', DEMO_ACCOUNT_ID))).sort()).toEqual(before);
});
