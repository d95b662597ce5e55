/**
 * `npm run purge` on embedded defaults: every mode, and every bad flag or refused request answered with
 * a clear message, exit status 2 and no change at all.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { publishCampaignConfig } from '../../../services/ingest/src/local/seed';
import { parsePurgeArgs, runPurgeCli, cliEnvironment } from '../../../services/purge/src/cli';
import type { PurgeRunReport } from '../../../services/purge/src/core/run-report';
import type { PurgeReceipt } from '../../../services/purge/src/core/model';
import { localWorld, type LocalWorld } from '../../support/purge-local';
import { treeSnapshot } from '../../support/purge-world';

let world: LocalWorld;
beforeEach(async () => {
  // The CLI judges eligibility by the real clock.
  world = await localWorld(new Date());
});
afterEach(async () => {
  await world.dispose();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPurgeCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test.each([
  [[], /say what to do: --dry-run, --run or --now/],
  [['--run', '--dry-run'], /exclusive; got --dry-run and --run/],
  [['--now', 'acc_expired44d'], /--now needs --reason/],
  [['--run', '--reason', 'TICKET-1'], /--reason goes only with --now/],
  [['--run', '--stage', 'qa'], /--stage must be one of dev, staging, prod; got "qa"/],
  [['--run', '--stage', 'dev', '--data-dir', 'x'], /cannot go with --stage/],
  [['--run', '--locations', 'europe'], /--locations goes only with --stage/],
  [['--run', '--stage', 'dev', '--locations', 'europe,mars'], /--locations takes a comma-separated list/],
  [['--run', '--time-budget=-5'], /--time-budget must be a whole number/],
  [['--run', '--time-budget', 'soon'], /--time-budget must be a whole number/],
  [['--run', '--force'], /Unknown option '--force'/],
  [['--run', 'acc_expired45d'], /Unexpected argument|positional/i],
])('bad flags %j: a clear message, usage, exit 2, nothing changed', async (argv, message) => {
  const before = await treeSnapshot(world.dataDir);
  const { code, err } = await cli(
    ...argv,
    ...(argv.includes('--stage') ? [] : ['--data-dir', world.dataDir]),
  );
  expect(code).toBe(2);
  expect(err).toMatch(message);
  expect(err).toMatch(/Usage: npm run purge/);
  expect(await treeSnapshot(world.dataDir)).toEqual(before);
});

test.each([
  ['acc_nosuchone1', /Refused, nothing was changed: account acc_nosuchone1 does not exist/],
  ['acc_active0001', /Refused, nothing was changed: account acc_active0001 is active: expire it first/],
  ['../../etc', /is not an account id/],
])('--now %s is refused with exit 2 and nothing changed', async (accountId, message) => {
  const before = await treeSnapshot(world.dataDir);
  const { code, err } = await cli('--now', accountId, '--reason', 'TICKET-42', '--data-dir', world.dataDir);
  expect(code).toBe(2);
  expect(err).toMatch(message);
  expect(await treeSnapshot(world.dataDir)).toEqual(before);
});

test('--now with an e-mail address in the reason is refused', async () => {
  const { code, err } = await cli(
    '--now',
    'acc_expired44d',
    '--reason',
    'per ann@example.com',
    '--data-dir',
    world.dataDir,
  );
  expect(code).toBe(2);
  expect(err).toMatch(/must not contain an e-mail address/);
});

test('--help prints the usage and exits 0', async () => {
  const { code, out } = await cli('--help');
  expect(code).toBe(0);
  expect(out).toMatch(/--dry-run \| --run \| --now <accountId> --reason/);
});

test('--dry-run lists the eligible accounts with counts and changes nothing', async () => {
  const before = await treeSnapshot(world.dataDir);
  const { code, out } = await cli('--dry-run', '--data-dir', world.dataDir);
  expect(code).toBe(0);
  expect(await treeSnapshot(world.dataDir)).toEqual(before);
  expect(out).toMatch(/Nothing was changed/);
  expect(out).toMatch(/acc_expired89d {2}expired .* \(89 days ago; .*\) {2}OVERDUE \(past day 80\)/);
  expect(out).toMatch(/acc_expired45d/);
  expect(out).toMatch(/events americas: 3 object version\(s\), 0 delete marker\(s\), 1\.\d KiB/);
  expect(out).toMatch(
    /directory: 2 campaign\(s\), 1 API key\(s\), 0 other item\(s\), 1 conversion claim\(s\)/,
  );
  expect(out).not.toMatch(/acc_expired44d|acc_active0001|acc_reactivated/);
});

test('--run purges the eligible accounts and prints their receipts; --json gives the report', async () => {
  const dir = world.directory();
  for (const id of ['acc_expired89d', 'acc_active0001']) {
    for (const n of [1, 2])
      await publishCampaignConfig(world.dataDir, (await dir.getCampaign(id, `cmp_${id.slice(4)}-${n}`))!);
  }
  const { code, out } = await cli('--run', '--data-dir', world.dataDir);
  expect(code).toBe(0);
  // The local "CDN" copies of the purged account's campaign configs went with the campaigns (whichever
  // layout the publisher writes: per account, or the earlier global one).
  expect(
    Object.keys(await treeSnapshot(join(world.dataDir, 'config')))
      .map((k) => k.replace(/^acc_active0001\//, ''))
      .sort(),
  ).toEqual(['cmp_active0001-1.json', 'cmp_active0001-2.json']);
  const receipt = /acc_expired89d: purged; receipt (\S+)/.exec(out)?.[1];
  expect(receipt).toBeDefined();
  expect((JSON.parse(await readFile(receipt!, 'utf8')) as PurgeReceipt).accountId).toBe('acc_expired89d');
  const again = await cli('--run', '--json', '--data-dir', world.dataDir);
  expect(again.code).toBe(0);
  const report = JSON.parse(again.out) as PurgeRunReport;
  expect(report.outcomes.filter((o) => o.accountId === 'acc_expired89d')).toEqual([]);
  expect(report.census.purged).toBeGreaterThanOrEqual(3);
});

test('--now purges one expired account before day 45, with the reason on its receipt', async () => {
  const { code, out } = await cli(
    '--now',
    'acc_expired44d',
    '--reason',
    'TICKET-1234',
    '--data-dir',
    world.dataDir,
  );
  expect(code).toBe(0);
  const receipt = /acc_expired44d: purged; receipt (\S+)/.exec(out)?.[1];
  expect(JSON.parse(await readFile(receipt!, 'utf8'))).toMatchObject({
    trigger: 'request',
    reason: 'TICKET-1234',
  });
  expect(Object.keys(await treeSnapshot(join(world.dataDir, 'events', 'account=acc_expired44d')))).toEqual(
    [],
  );
});

describe('a local store that does not exist is refused, not read as empty', () => {
  test.each([['--run'], ['--dry-run'], ['--now', 'acc_expired45d', '--reason', 'TICKET-8']])(
    '%s with a --data-dir that does not exist: exit 2, the path and `npm run local` named, nothing created',
    async (...argv) => {
      const missing = join(world.dataDir, 'no-such-store', 'nested');
      const { code, out, err } = await cli(...argv, '--data-dir', missing);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toMatch(/^Refused, nothing was changed: the local store .* does not exist/);
      expect(err).toContain(missing);
      expect(err).toMatch(/`npm run local` creates the store/);
      expect(err).not.toMatch(/nothing to purge\./);
      expect(await stat(join(world.dataDir, 'no-such-store')).catch(() => undefined)).toBeUndefined();
    },
  );

  test('a folder without a directory file: exit 2, and the folder stays empty', async () => {
    const empty = join(world.dataDir, 'empty-store');
    await mkdir(empty);
    for (const mode of ['--run', '--dry-run']) {
      const { code, err } = await cli(mode, '--data-dir', empty);
      expect(code).toBe(2);
      expect(err).toContain(`has no directory file (${join(empty, 'directory.json')})`);
      expect(err).toMatch(/`npm run local` creates the store/);
    }
    expect(await treeSnapshot(empty)).toEqual({});
  });

  test('the command itself exits 2', () => {
    const tsx = resolve('node_modules/.bin/tsx');
    const missing = join(world.dataDir, 'nonexistent');
    const run = spawnSync(tsx, ['services/purge/src/cli.ts', '--run', '--data-dir', missing], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(missing);
    expect(run.stdout).not.toMatch(/nothing to purge/);
  });
});

test('a time budget of zero stops before any work: exit 3, nothing changed', async () => {
  const before = await treeSnapshot(world.dataDir);
  const { code, out } = await cli('--run', '--time-budget', '0', '--data-dir', world.dataDir);
  expect(code).toBe(3);
  expect(out).toMatch(/not started \(time budget used up; the next run continues\)/);
  expect(await treeSnapshot(world.dataDir)).toEqual(before);
});

test('--stage builds the AWS environment from the platform names, overridable by TS_* variables', () => {
  const args = parsePurgeArgs([
    '--run',
    '--stage',
    'prod',
    '--locations',
    'europe,apac',
    '--account',
    '123456789012',
  ]);
  if (args === 'help') throw new Error('unexpected help');
  expect(cliEnvironment(args, { TS_RECEIPTS_BUCKET: 'audit-receipts' })).toEqual({
    TS_TIME_BUDGET_SECONDS: '600',
    TS_LOG_LEVEL: 'silent',
    TS_STAGE: 'prod',
    TS_LOCATION: 'americas',
    TS_DIRECTORY: 'dynamodb',
    TS_TABLE_NAME: 'trackstack-prod-directory',
    TS_OBJECT_STORE: 's3',
    TS_RECEIPT_STORE: 's3',
    TS_RECEIPTS_BUCKET: 'audit-receipts',
    TS_LOCATIONS: 'europe,apac',
    TS_EVENT_BUCKET_EUROPE: 'trackstack-prod-europe-events-123456789012',
    TS_EVENT_BUCKET_APAC: 'trackstack-prod-apac-events-123456789012',
  });
});

test('--stage without the account its bucket names need: a clear message, exit 2', async () => {
  const { code, err } = await cli('--dry-run', '--stage', 'staging');
  expect(code).toBe(2);
  expect(err).toMatch(/--stage needs the AWS account for TS_RECEIPTS_BUCKET: pass --account <12 digits>/);
  const bad = await cli('--dry-run', '--stage', 'staging', '--account', '12345');
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/--account must be a 12-digit AWS account id/);
});

test('the command itself: exit 2 on a bad flag, 0 on --help', () => {
  const tsx = resolve('node_modules/.bin/tsx');
  const bad = spawnSync(tsx, ['services/purge/src/cli.ts', '--purge-everything'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/Unknown option '--purge-everything'/);
  const help = spawnSync(tsx, ['services/purge/src/cli.ts', '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/Usage: npm run purge/);
});
