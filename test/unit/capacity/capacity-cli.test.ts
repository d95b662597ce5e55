/**
 * `npm run capacity`: flag validation, the stage's settings from cdk.json, the output of one load and of
 * the grid, and the exit status of the command itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../infra/build/paths';
import {
  gridRows,
  parseCapacityArgs,
  regionReports,
  stageSettings,
  type CapacityArgs,
} from '../../../scripts/capacity/cli';
import { advice, formatGrid, formatLoad } from '../../../scripts/capacity/format';
import { DEFAULT_ASSUMPTIONS } from '../../../tooling/capacity/model';
import { UsageError } from '../../../services/shared/cli';

const STAGE = { streams: 12, partitionQuota: 5000, memoryMb: 1024, reservedConcurrency: 200 };

describe('parseCapacityArgs', () => {
  test('reads a load and defaults to the prod stage, a table and the documented assumptions', () => {
    const args = parseCapacityArgs(['--accounts', '10000', '--hits-per-second', '1000', '--instances', '40']);
    expect(args).toEqual({
      load: { accounts: 10_000, hitsPerSecond: 1000, instances: 40 },
      table: false,
      stage: 'prod',
      assumptions: DEFAULT_ASSUMPTIONS,
      format: 'table',
      help: false,
    });
  });

  test('reads the stage overrides and the assumption flags', () => {
    const args = parseCapacityArgs([
      '--table',
      '--stage',
      'dev',
      '--streams',
      '12',
      '--partition-quota',
      '5000',
      '--events-per-request',
      '20',
      '--duration-ms',
      '25.5',
      '--batch-ms',
      '50',
      '--partitions-per-account',
      '2',
      '--format',
      'json',
    ]);
    expect(args).toMatchObject({
      table: true,
      stage: 'dev',
      streams: 12,
      partitionQuota: 5000,
      format: 'json',
    });
    expect(args.load).toBeUndefined();
    expect(args.assumptions).toMatchObject({
      eventsPerRequest: 20,
      durationMs: 25.5,
      batchMs: 50,
      partitionsPerAccount: 2,
    });
  });

  test.each([
    [[], /--accounts and --hits-per-second are required/],
    [['--accounts', '10'], /--accounts and --hits-per-second are required/],
    [['--table', '--accounts', '10'], /--accounts goes without --table/],
    [
      ['--accounts', '0', '--hits-per-second', '1'],
      /--accounts must be a whole number from 1 to 10000000, got "0"/,
    ],
    [['--accounts', '1e3', '--hits-per-second', '1'], /--accounts must be a whole number/],
    [['--accounts', '10', '--hits-per-second', '-5'], /hits-per-second/],
    [['--table', '--streams', '51'], /--streams must be a whole number from 1 to 50, got "51"/],
    [['--table', '--partition-quota', '499'], /--partition-quota must be a whole number from 500 to 5000/],
    [['--table', '--events-per-request', '51'], /--events-per-request must be a whole number from 1 to 50/],
    [['--table', '--duration-ms', 'fast'], /--duration-ms must be a number from 0.1 to 900000, got "fast"/],
    [['--table', '--format', 'xml'], /--format must be table or json; got "xml"/],
    [['--table', '--stage', 'qa'], /--stage must be one of dev, staging, prod; got "qa"/],
    [['--table', '--regions', 'x'], /Unknown option '--regions'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCapacityArgs(argv)).toThrow(UsageError);
    expect(() => parseCapacityArgs(argv)).toThrow(message);
  });

  test('--help needs no load', () => {
    expect(parseCapacityArgs(['--help']).help).toBe(true);
  });
});

describe('stageSettings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capacity-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cdkJson = join(dir, 'cdk.json');
  writeFileSync(
    cdkJson,
    JSON.stringify({
      context: {
        'trackstack:stages': {
          dev: {},
          prod: {
            ingestMemoryMb: 2048,
            ingestReservedConcurrency: 300,
            eventStreams: 8,
            firehoseActivePartitionQuota: 5000,
          },
        },
      },
    }),
  );
  const args = (extra: Partial<CapacityArgs> = {}): CapacityArgs => ({
    table: true,
    stage: 'prod',
    assumptions: DEFAULT_ASSUMPTIONS,
    format: 'table',
    help: false,
    ...extra,
  });

  test("takes the stage's streams, partition quota, memory and reserved concurrency from cdk.json", () => {
    expect(stageSettings(args(), cdkJson)).toEqual({
      streams: 8,
      partitionQuota: 5000,
      memoryMb: 2048,
      reservedConcurrency: 300,
    });
  });

  test('the platform defaults fill what the stage leaves out, and flags override', () => {
    expect(stageSettings(args({ stage: 'dev' }), cdkJson)).toEqual({
      streams: 1,
      partitionQuota: 500,
      memoryMb: 512,
      reservedConcurrency: 50,
    });
    expect(stageSettings(args({ streams: 3, partitionQuota: 1000 }), cdkJson)).toMatchObject({
      streams: 3,
      partitionQuota: 1000,
    });
  });
});

describe('output', () => {
  test('one load: a row per region, what binds first in each, and the assumptions', () => {
    const text = formatLoad(
      regionReports(
        { accounts: 1000, hitsPerSecond: 100 },
        { ...STAGE, streams: 1, partitionQuota: 500 },
        DEFAULT_ASSUMPTIONS,
      ),
      { ...STAGE, streams: 1, partitionQuota: 500 },
      DEFAULT_ASSUMPTIONS,
    ).join('\n');
    expect(text).toMatch(/\| americas \(us-east-1\) +\|/);
    expect(text).toMatch(/\| apac \(ap-southeast-1\) +\|/);
    expect(text).toMatch(
      /apac \(ap-southeast-1\) binds first: before the KMS reduction, Firehose active partitions per stream at 250 accounts \(exceeded\)/,
    );
    expect(text).toMatch(/exceeded: Firehose active partitions per stream \(\d+%\)/);
    expect(text).toMatch(/^Assumptions/m);
  });

  test('advice names the setting to change for each quota exceeded', () => {
    const small = { ...STAGE, streams: 1, partitionQuota: 500, reservedConcurrency: 50 };
    const [americas] = regionReports({ accounts: 2000, hitsPerSecond: 8000 }, small, DEFAULT_ASSUMPTIONS);
    expect(americas && advice(americas)).toEqual([
      'set eventStreams to at least 10 (10 for partitions, 4 for PUT throughput)',
      'raise ingestReservedConcurrency to at least 80',
    ]);
    const [, , apac] = regionReports(
      { accounts: 50_000, hitsPerSecond: 15_000, instances: 500 },
      { ...small, reservedConcurrency: 1000 },
      { ...DEFAULT_ASSUMPTIONS, instanceLifetimeMinutes: 2 },
    );
    const steps = apac ? advice(apac) : [];
    expect(steps[0]).toMatch(/^229 streams needed .* ask AWS for a higher partition quota/);
    expect(steps[1]).toMatch(/^KMS needs the branch key \(after: [\d.]+\/s of 20,000\)$/);
    expect(
      advice(regionReports({ accounts: 10, hitsPerSecond: 10 }, STAGE, DEFAULT_ASSUMPTIONS)[0]!),
    ).toEqual([]);
  });

  test("the grid: the issue's 3 × 2 loads in each of the 3 regions", () => {
    const rows = gridRows(STAGE, DEFAULT_ASSUMPTIONS);
    expect(rows.map((r) => `${r.accounts}/${r.hitsPerSecond}/${r.report.figures.location}`)).toHaveLength(18);
    expect(new Set(rows.map((r) => r.accounts))).toEqual(new Set([1000, 10_000, 50_000]));
    const lines = formatGrid(rows, STAGE, DEFAULT_ASSUMPTIONS);
    expect(lines.filter((l) => /^\| (1,000|10,000|50,000) /.test(l))).toHaveLength(18);
  });

  test('the command exits 2 with the usage on a bad flag, and prints the grid with --table', () => {
    const run = (...argv: string[]) =>
      spawnSync(
        process.execPath,
        [require.resolve('tsx/cli'), join(REPO_ROOT, 'scripts/capacity/cli.ts'), ...argv],
        {
          encoding: 'utf8',
        },
      );
    const bad = run('--accounts', 'many', '--hits-per-second', '10');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--accounts must be a whole number/);
    expect(bad.stderr).toMatch(/Usage: npm run capacity/);
    const grid = run('--table', '--format', 'json');
    expect(grid.status).toBe(0);
    const parsed = JSON.parse(grid.stdout) as { rows: unknown[] };
    expect(parsed.rows).toHaveLength(18);
  });
});
