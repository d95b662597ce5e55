/**
 * `npm run scan` over the real stacks: the real CDK apps and cdk-nag packs, the real cfn-lint, the GCP
 * program under Pulumi mocks with the real policy pack (there is no Pulumi CLI or GCP project here; see the
 * README's "What the mocks tests do not prove"). Two scans: today's stacks (zero violations, exactly the
 * acknowledgements the code declares), and the dev stage with known violations added, in every format.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stage as CdkStage, Validations, type App } from 'aws-cdk-lib';
import { createApp, readCdkJsonContext } from '../../../infra/aws/lib/app';
import { createPipelineApp } from '../../../infra/aws/lib/pipeline-app';
import { PIPELINE_CONTEXT_KEY } from '../../../infra/aws/lib/pipeline-context';
import { REPO_ROOT } from '../../../infra/build/paths';
import { ignoredLintCheckReasons } from '../../../scripts/synth/cfn-lint';
import { renderReport } from '../../../scripts/scan/cli';
import { toSarif, type SarifLog } from '../../../scripts/scan/format-sarif';
import { exitStatus, type ScanFinding, type ScanReport } from '../../../scripts/scan/report';
import { OFFLINE_PIPELINE_ACCOUNT, runScan } from '../../../scripts/scan/scan';
import { addViolations, FIXTURE_STACK, reportValidator, sarifValidator } from './support';

jest.setTimeout(240_000);

/**
 * Every acknowledgement an app declares in its own stacks, as `stage path id` (the pipeline app nests the
 * staging and prod stages, whose acknowledgements the stage targets report).
 */
function declaredAcknowledgements(app: App, stage: string): string[] {
  const own = app.node.findAll().filter((c) => CdkStage.of(c) === app);
  return own.flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.keys(m.data as Record<string, string>).map(
          (id) => `${stage} ${c.node.path} ${id.replace(/^annotation::/i, '')}`,
        ),
      ),
  );
}

describe("the scan of today's stacks", () => {
  let report: ScanReport;
  beforeAll(async () => {
    report = await runScan();
  });

  test('covers every stage of both clouds and the release pipeline, and finds no violation', () => {
    const targets = report.targets.map((t) => `${t.cloud}/${t.stage}`).sort();
    expect(targets).toEqual([
      'aws/dev',
      'aws/prod',
      'aws/release',
      'aws/staging',
      'gcp/dev',
      'gcp/prod',
      'gcp/staging',
    ]);
    for (const t of report.targets) expect(t.resources).toBeGreaterThan(20);
    console.log(
      `scan of every target: ${report.findings.length} findings, ${report.summary.violations} violations, ` +
        `${report.summary.acknowledged} acknowledged, ${report.summary.seconds} s`,
    );
    expect(report.findings.filter((f) => f.status === 'violation')).toEqual([]);
    expect(exitStatus(report)).toBe(0);
  });

  test('lists exactly the acknowledgements the code declares, each with its reason and line', () => {
    const context = readCdkJsonContext();
    const pipeline = context[PIPELINE_CONTEXT_KEY] as Record<string, unknown>;
    const out = mkdtempSync(join(tmpdir(), 'trackstack-scan-acks-'));
    try {
      const declared = [
        ...(['dev', 'staging', 'prod'] as const).flatMap((stage) =>
          declaredAcknowledgements(
            createApp({ context: { ...context, stage }, outdir: join(out, stage) }).app,
            stage,
          ),
        ),
        ...declaredAcknowledgements(
          createPipelineApp({
            context: {
              ...context,
              [PIPELINE_CONTEXT_KEY]: { ...pipeline, pipelineAccount: OFFLINE_PIPELINE_ACCOUNT },
            },
            outdir: join(out, 'release'),
          }).app,
          'release',
        ),
      ];
      const reported = new Set(
        report.findings
          .filter((f) => f.tool === 'cdk-nag' && f.acknowledgement)
          .map((f) => `${f.stage} ${f.acknowledgement!.declaredAt} ${f.acknowledgement!.id}`),
      );
      expect([...reported].sort()).toEqual([...new Set(declared)].sort());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    for (const f of report.findings.filter((x) => x.status === 'acknowledged')) {
      expect(f.acknowledgement?.reason).toMatch(/^[A-Z"`].{30,}[.]$/s);
    }
    const fromCode = report.findings.filter((f) => f.tool === 'cdk-nag' && f.acknowledgement?.source);
    expect(fromCode.length).toBeGreaterThan(0);
    for (const f of fromCode) expect(f.acknowledgement!.source!.file).toMatch(/^(infra|policies)\//);
  });

  test('reports the checks cfn-lint is told to ignore as acknowledged, with the reason from .cfnlintrc.yaml', () => {
    const lint = report.findings.filter((f) => f.tool === 'cfn-lint');
    const reasons = ignoredLintCheckReasons();
    expect(lint.length).toBeGreaterThan(0);
    for (const f of lint) {
      expect(f.status).toBe('acknowledged');
      expect(f.acknowledgement?.reason).toBe(reasons.get(f.rule));
    }
  });

  test('ties resources to the line of infra/ that declared them', () => {
    const aws = report.findings.filter((f) => f.tool === 'cdk-nag');
    expect(aws.every((f) => f.resource.logicalId && f.resource.source?.file.startsWith('infra/aws/'))).toBe(
      true,
    );
  });

  test('renders as JSON valid against docs/scan-report.schema.json and as SARIF valid against SARIF 2.1.0', () => {
    const validReport = reportValidator();
    expect(validReport(JSON.parse(renderReport(report, 'json', false)))).toBe(true);
    const { title, validate } = sarifValidator();
    const sarif = JSON.parse(renderReport(report, 'sarif', false)) as SarifLog;
    const ok = validate(sarif);
    console.log(`SARIF validation against "${title}": ${ok ? 'valid' : JSON.stringify(validate.errors)}`);
    expect(validate.errors ?? []).toEqual([]);
    // The validator does reject what SARIF 2.1.0 does not allow.
    const broken = { ...sarif, runs: [{ ...sarif.runs[0], results: [{ level: 'fatal', message: {} }] }] };
    expect(validate(broken)).toBe(false);
    const results = sarif.runs.flatMap((r) => r.results) as { suppressions?: { justification: string }[] }[];
    expect(results.filter((r) => r.suppressions).length).toBe(report.summary.acknowledged);
    expect(results.every((r) => !r.suppressions || r.suppressions[0]!.justification.length > 30)).toBe(true);
  });

  test('--by-promise lists every promise, the rules behind it and the promises no rule enforces', () => {
    const text = renderReport(report, 'table', true);
    expect(text).toMatch(/Customer data is encrypted|encrypted at rest/i);
    expect(text).toMatch(/NO RULE: kept by code and tests only/);
    expect(text).toMatch(/gcp-cmek-on-buckets-and-topics\s+pulumi-policy\s+passed/);
    expect(text).toMatch(/promises: \d+; 0 violated, \d+ with no rule behind them/);
  });
});

describe('a scan with known violations', () => {
  let report: ScanReport;
  beforeAll(async () => {
    report = await runScan({
      stages: ['dev'],
      customizeAws: (_stage, app) => addViolations(app),
      gcpExtraModule: join(__dirname, 'fixtures/gcp-bucket-without-cmek.ts'),
    });
  });

  const violation = (rule: string | RegExp, where: string): ScanFinding | undefined =>
    report.findings.find(
      (f) =>
        f.status === 'violation' &&
        (typeof rule === 'string' ? f.rule === rule : rule.test(f.rule)) &&
        f.resource.path.includes(where),
    );

  test('finds the unencrypted bucket, the wildcard policy, the bad property and the GCP bucket without CMEK', () => {
    const bucket = violation('NIST.800.53.R5-S3DefaultEncryptionKMS', `${FIXTURE_STACK}/Unencrypted`);
    expect(bucket?.resource).toMatchObject({
      logicalId: 'Unencrypted',
      stack: FIXTURE_STACK,
      source: { file: 'test/integration/scan/support.ts' },
    });
    expect(bucket?.promises).toContain('encrypted-at-rest');
    expect(violation(/^AwsSolutions-IAM5\[Action::\*\]$/, `${FIXTURE_STACK}/Wildcard`)).toBeDefined();
    expect(violation(/^AwsSolutions-IAM5\[Resource::\*\]$/, `${FIXTURE_STACK}/Wildcard`)).toBeDefined();
    expect(violation('Trackstack-IAMRoleHasPermissionsBoundary', `${FIXTURE_STACK}/Wildcard`)).toBeDefined();
    const lint = report.findings.find((f) => f.tool === 'cfn-lint' && f.status === 'violation');
    expect(lint?.resource.logicalId).toBe('BadVersioning');
    const gcp = violation('gcp-cmek-on-buckets-and-topics', 'scan-fixture-no-cmek');
    expect(gcp?.resource).toMatchObject({
      logicalId: 'scan-fixture-no-cmek',
      stack: 'dev',
      source: { file: 'test/integration/scan/fixtures/gcp-bucket-without-cmek.ts', line: 7 },
    });
    // Only the fixtures are in violation: the real stacks beside them stay clean.
    const others = report.findings.filter(
      (f) =>
        f.status === 'violation' &&
        f.resource.stack !== FIXTURE_STACK &&
        !f.resource.path.includes('scan-fixture'),
    );
    expect(others).toEqual([]);
    expect(exitStatus(report)).toBe(1);
  });

  test('shows them in the table, the JSON and the SARIF with their rule and location', () => {
    const table = renderReport(report, 'table', false);
    expect(table).toMatch(
      /VIOLATION\s+error\s+aws\/dev\s+NIST\.800\.53\.R5\s+NIST\.800\.53\.R5-S3DefaultEncryptionKMS\s+Trackstack-dev-scan-fixture\/Unencrypted\s+test\/integration\/scan\/support\.ts:\d+/,
    );
    expect(table).toMatch(
      /VIOLATION\s+error\s+gcp\/dev\s+trackstack-gcp\s+gcp-cmek-on-buckets-and-topics\s+dev\/scan-fixture-no-cmek\s+test\/integration\/scan\/fixtures\/gcp-bucket-without-cmek\.ts:7/,
    );
    expect(table).toMatch(/FAILED$/m);

    const json = JSON.parse(renderReport(report, 'json', false)) as ScanReport;
    expect(reportValidator()(json)).toBe(true);
    expect(json.summary.violations).toBe(report.findings.filter((f) => f.status === 'violation').length);
    expect(
      json.findings.some((f) => f.rule === 'gcp-cmek-on-buckets-and-topics' && f.status === 'violation'),
    ).toBe(true);

    const sarif = toSarif(report);
    const { validate } = sarifValidator();
    expect(validate(JSON.parse(JSON.stringify(sarif)))).toBe(true);
    type Result = {
      ruleId: string;
      level: string;
      suppressions?: unknown[];
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    };
    const results = sarif.runs.flatMap((r) => r.results as unknown as Result[]);
    const unsuppressed = (ruleId: string, uri: string) =>
      results.find(
        (r) =>
          r.ruleId === ruleId &&
          !r.suppressions &&
          r.locations[0]?.physicalLocation.artifactLocation.uri === uri,
      );
    expect(
      unsuppressed('NIST.800.53.R5-S3DefaultEncryptionKMS', 'test/integration/scan/support.ts')?.level,
    ).toBe('error');
    expect(unsuppressed('AwsSolutions-IAM5', 'test/integration/scan/support.ts')).toBeDefined();
    const gcp = unsuppressed(
      'gcp-cmek-on-buckets-and-topics',
      'test/integration/scan/fixtures/gcp-bucket-without-cmek.ts',
    );
    expect(gcp?.locations[0]?.physicalLocation.region.startLine).toBe(7);
  });
});

describe('the command line', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/scan/cli.ts'), ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });

  test('exits 2 with the usage on a bad flag, a bad value or a meaningless combination', () => {
    for (const args of [
      ['--format', 'xml'],
      ['--stage', 'qa'],
      ['--cloud', 'azure'],
      ['--by-promise', '--format', 'sarif'],
      ['--verbose'],
    ]) {
      const run = cli(...args);
      expect({ args, status: run.status }).toEqual({ args, status: 2 });
      expect(run.stderr).toMatch(/Usage: npm run scan/);
    }
  });

  test('writes a JSON report of one GCP stack to --out and exits 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trackstack-scan-cli-'));
    try {
      const out = join(dir, 'report.json');
      const run = cli('--cloud', 'gcp', '--stage', 'prod', '--format', 'json', '--out', out);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe('');
      const json = JSON.parse(readFileSync(out, 'utf8')) as ScanReport;
      expect(reportValidator()(json)).toBe(true);
      expect(json.targets.map((t) => `${t.cloud}/${t.stage}`)).toEqual(['gcp/prod']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
