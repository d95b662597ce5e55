/**
 * The scan's pieces that need no synthesis: flag parsing, the promise view, SARIF rule ids, stack-trace
 * reading and the cfn-lint configuration handling. The scan itself runs in test/integration/scan.
 */
import { parseScanArgs } from '../../../scripts/scan/cli';
import { formatByPromise, promiseStatuses, toolOfRule } from '../../../scripts/scan/by-promise';
import { baseRule } from '../../../scripts/scan/format-sarif';
import { withoutIgnoredChecks } from '../../../scripts/scan/lint';
import { summarize, type ScanFinding, type ScanReport } from '../../../scripts/scan/report';
import { sourceLocation } from '../../../scripts/scan/source-location';
import { REPO_ROOT } from '../../../infra/build/paths';
import { CUSTOMER_PROMISES } from '../../../policies/promises';
import { UsageError } from '../../../services/shared/cli';

describe('parseScanArgs', () => {
  test('Compliance: defaults to every stage and cloud, as a table on stdout', () => {
    expect(parseScanArgs([])).toEqual({ format: 'table', byPromise: false, help: false });
  });

  test('reads repeated stages, one cloud, a format and an absolute --out', () => {
    const args = parseScanArgs([
      '--stage',
      'dev',
      '--stage',
      'release',
      '--stage',
      'dev',
      '--cloud',
      'aws',
      '--format',
      'sarif',
      '--out',
      'x.sarif',
    ]);
    expect(args).toMatchObject({ stages: ['dev', 'release'], clouds: ['aws'], format: 'sarif' });
    expect(args.out).toBe(`${process.cwd()}/x.sarif`);
  });

  test.each([
    [['--stage', 'qa'], /--stage must be one of dev, staging, prod, release; got "qa"/],
    [['--cloud', 'azure'], /--cloud must be one of aws, gcp/],
    [['--format', 'xml'], /--format must be one of table, json, sarif/],
    [['--by-promise', '--format', 'sarif'], /--by-promise prints a table or JSON/],
    [['--out', ' '], /--out needs a file name/],
    [['--cloud', 'gcp', '--stage', 'release'], /release is the AWS pipeline stack/],
    [['--verbose'], /Unknown option '--verbose'/],
    [['dev'], /positional/i],
  ])('Noncompliance: %j is refused with a precise message', (argv, message) => {
    expect(() => parseScanArgs(argv)).toThrow(UsageError);
    expect(() => parseScanArgs(argv)).toThrow(message);
  });
});

const finding = (
  rule: string,
  status: ScanFinding['status'],
  tool: ScanFinding['tool'] = 'cdk-nag',
): ScanFinding => ({
  tool,
  pack: 'AwsSolutions',
  rule,
  severity: 'error',
  message: 'm',
  cloud: tool === 'pulumi-policy' ? 'gcp' : 'aws',
  stage: 'dev',
  resource: { path: 'S/R', stack: 'S' },
  status,
  ...(status === 'acknowledged' && { acknowledgement: { id: rule, reason: 'Because.', declaredAt: 'S' } }),
  promises: [],
});

const reportOf = (findings: ScanFinding[], tools: ScanFinding['tool'][]): ScanReport => ({
  version: 1,
  startedAt: '2026-12-03T00:00:00.000Z',
  targets: [{ cloud: 'aws', stage: 'dev', stacks: ['S'], resources: 1, tools, seconds: 1 }],
  findings,
  summary: summarize(findings, 1),
});

describe('the promise view', () => {
  test('a violated rule makes its promise violated; an acknowledged one keeps it', () => {
    const statuses = promiseStatuses(
      reportOf(
        [
          finding('AwsSolutions-IAM5[Resource::*]', 'acknowledged'),
          finding('NIST.800.53.R5-S3DefaultEncryptionKMS', 'violation'),
        ],
        ['cdk-nag', 'cfn-lint'],
      ),
    );
    const atRest = statuses.find((p) => p.id === 'encrypted-at-rest');
    expect(atRest?.status).toBe('violated');
    expect(atRest?.rules.find((r) => r.rule === 'NIST.800.53.R5-S3DefaultEncryptionKMS')).toMatchObject({
      status: 'violated',
      violations: 1,
    });
    const least = statuses.find((p) => p.id === 'least-privilege');
    expect(least?.rules.find((r) => r.rule === 'AwsSolutions-IAM5')).toMatchObject({
      status: 'acknowledged',
      acknowledged: 1,
    });
    // The GCP pack did not run in this report: its rules are not counted as passing.
    expect(atRest?.rules.find((r) => r.rule === 'gcp-cmek-on-buckets-and-topics')?.status).toBe(
      'not-scanned',
    );
  });

  test('every promise is listed, and the ones with no rule say so', () => {
    const statuses = promiseStatuses(reportOf([], ['cdk-nag', 'cfn-lint', 'pulumi-policy']));
    expect(statuses.map((p) => p.id)).toEqual(CUSTOMER_PROMISES.map((p) => p.id));
    const unenforced = statuses.filter((p) => p.status === 'unenforced');
    expect(unenforced.map((p) => p.id)).toEqual(
      CUSTOMER_PROMISES.filter((p) => p.rules.length === 0).map((p) => p.id),
    );
    const text = formatByPromise(statuses).join('\n');
    expect(text.match(/NO RULE: kept by code and tests only/g)?.length).toBe(unenforced.length);
    expect(text).toMatch(
      new RegExp(`promises: ${statuses.length}; 0 violated, ${unenforced.length} with no rule`),
    );
  });

  test('a rule id tells its tool', () => {
    expect(toolOfRule('gcp-cmek-on-buckets-and-topics')).toBe('pulumi-policy');
    expect(toolOfRule('W3011')).toBe('cfn-lint');
    expect(toolOfRule('HIPAA.Security-S3BucketLoggingEnabled')).toBe('cdk-nag');
  });
});

describe('SARIF rule ids', () => {
  test('drop cdk-nag finding suffixes, which hold brackets of their own', () => {
    expect(baseRule('AwsSolutions-IAM5[Resource::arn:aws:s3:::b/[a]*]')).toBe('AwsSolutions-IAM5');
    expect(baseRule('E3030')).toBe('E3030');
  });
});

describe('sourceLocation', () => {
  const frames = [
    '...new Key2 in aws-cdk-lib...',
    `new Something (${REPO_ROOT}/node_modules/aws-cdk-lib/core/lib/x.js:1:2)`,
    `    at helper (${REPO_ROOT}/policies/aws/acknowledgements.ts:30:5)`,
    `    at new RegionalKey (${REPO_ROOT}/infra/aws/lib/constructs/regional-key.ts:60:16)`,
    `    at ${REPO_ROOT}/test/unit/x.test.ts:3:1`,
  ];
  test('prefers the named folder, else the first frame of the repository', () => {
    expect(sourceLocation(frames, 'infra/')).toEqual({
      file: 'infra/aws/lib/constructs/regional-key.ts',
      line: 60,
    });
    expect(sourceLocation(frames)).toEqual({ file: 'policies/aws/acknowledgements.ts', line: 30 });
    expect(sourceLocation(frames.slice(0, 2))).toBeUndefined();
  });
});

describe('withoutIgnoredChecks', () => {
  test('removes the ignore_checks block and keeps every other setting', () => {
    const config = '# header\nignore_checks:\n  # why\n  - W3005\n  - E1234\nregions:\n  - us-east-1\n';
    expect(withoutIgnoredChecks(config)).toBe('# header\nregions:\n  - us-east-1\n');
  });
});
