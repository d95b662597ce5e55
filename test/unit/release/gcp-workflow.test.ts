/**
 * The GCP release workflow (`.github/workflows/gcp-release.yml`): valid for GitHub Actions according to
 * action-validator (whose rejection of a broken copy proves it really runs), and shaped as the release
 * promises: pull requests only preview with the policy pack, `pulumi up` runs only on main, staging before
 * prod behind an environment, Google credentials only through workload identity federation, least
 * privilege, tests and scan uploaded, and a valid stack file for every stack it names.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dump, load } from 'js-yaml';
import { CONFIG_KEYS, parseGcpConfig } from '../../../infra/gcp/config';
import { LIMITS } from '../../../platform';

const ROOT = path.resolve(__dirname, '../../..');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const RELEASE = path.join(WORKFLOWS, 'gcp-release.yml');
const VALIDATOR = path.join(ROOT, 'node_modules', '.bin', 'action-validator');
const SCAN = 'npm run scan -- --format sarif --out scan.sarif';

/** One step of a job, as far as the assertions read it. */
interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, string>>;
}

/** One job, as far as the assertions read it. */
interface Job {
  readonly if?: string;
  readonly needs?: string | readonly string[];
  readonly environment?: string | { readonly name: string };
  readonly permissions?: string | Readonly<Record<string, string>>;
  readonly concurrency?: { readonly group: string; readonly 'cancel-in-progress': boolean };
  readonly strategy?: { readonly matrix?: { readonly include?: readonly Record<string, string>[] } };
  readonly steps: readonly Step[];
}

/** The workflow document. */
interface Workflow {
  readonly on: Readonly<Record<string, { readonly branches?: readonly string[] } | null>>;
  readonly permissions: unknown;
  readonly jobs: Readonly<Record<string, Job>>;
}

const text = fs.readFileSync(RELEASE, 'utf8');
const workflow = load(text) as Workflow;
const jobs = Object.entries(workflow.jobs);

/** Runs the real action-validator CLI on a file. */
function validate(file: string): { status: number | null; output: string } {
  const result = spawnSync(VALIDATOR, [file], { encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`action-validator did not run: ${VALIDATOR}`, { cause: result.error });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** The action a step uses, without its version (`pulumi/actions`), or undefined for a `run` step. */
const actionOf = (step: Step) => step.uses?.split('@')[0];
const stepsUsing = (job: Job, action: string) => job.steps.filter((s) => actionOf(s) === action);
const needsOf = (job: Job) => (job.needs === undefined ? [] : [job.needs].flat());
const environmentOf = (job: Job) =>
  typeof job.environment === 'object' ? job.environment.name : job.environment;

/**
 * Whether a job can run for an event: no condition, or one naming that event. Any other form of condition
 * fails the test, so a new kind of guard is read by a person before these assertions trust it.
 */
function runsOn(job: Job, event: 'pull_request' | 'push'): boolean {
  if (job.if === undefined) return true;
  const named = [...job.if.matchAll(/github\.event_name == '([a-z_]+)'/g)].map((m) => m[1]);
  if (named.length !== 1) throw new Error(`cannot read the condition "${job.if}"`);
  return named[0] === event;
}

/** The stacks a pulumi/actions step targets: its literal stack, or every value of the matrix's `stack`. */
function stacksOf(job: Job, step: Step): string[] {
  const stack = String(step.with?.['stack-name']);
  if (stack !== '${{ matrix.stack }}') return [stack];
  return (job.strategy?.matrix?.include ?? []).map((entry) => String(entry.stack));
}

/** A stack file's config as the Pulumi CLI hands it to the program: strings, lists and numbers as JSON. */
function stackConfig(stack: string): Record<string, string> {
  const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
  const doc = load(fs.readFileSync(file, 'utf8')) as { config?: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

const pulumiRuns = jobs.flatMap(([id, job]) =>
  stepsUsing(job, 'pulumi/actions').map((step) => ({ id, job, step, command: String(step.with?.command) })),
);
const authJobs = jobs.filter(([, job]) => stepsUsing(job, 'google-github-actions/auth').length > 0);
const upRuns = pulumiRuns.filter((r) => r.command === 'up');

describe('the workflow files pass action-validator', () => {
  const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));

  test.each(files)('%s', (file) => {
    expect(validate(path.join(WORKFLOWS, file))).toEqual({ status: 0, output: '' });
  });

  // action-validator accepts a repeated key; GitHub refuses the workflow, and js-yaml throws as GitHub does.
  test.each(files)('%s has no repeated key', (file) => {
    expect(() => load(fs.readFileSync(path.join(WORKFLOWS, file), 'utf8'))).not.toThrow();
    expect(() => load('steps:\n  - with: {}\n    with: {}\n')).toThrow(/duplicated mapping key/);
  });

  test('a copy with a misspelt permission fails, naming where (the validator really checks)', () => {
    const broken = structuredClone(workflow) as { jobs: Record<string, { permissions: object }> };
    broken.jobs['up-prod'] = { ...broken.jobs['up-prod']!, permissions: { 'id-token': 'writ' } };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcp-workflow-'));
    try {
      const file = path.join(dir, 'gcp-release.yml');
      fs.writeFileSync(file, dump(broken));
      const { status, output } = validate(file);
      expect(status).toBe(1);
      expect(output).toContain('/jobs/up-prod/permissions/id-token');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the GCP release workflow', () => {
  test('runs on pull requests to main and pushes to main, nothing else', () => {
    expect(workflow.on).toEqual({ pull_request: { branches: ['main'] }, push: { branches: ['main'] } });
  });

  test('least privilege: the token reads contents; each job declares what it needs, never write-all', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(text).not.toMatch(/write-all/);
    for (const [id, job] of jobs) {
      expect([id, typeof job.permissions]).toEqual([id, 'object']);
      const writes = Object.entries(job.permissions as Record<string, string>)
        .filter(([, level]) => level === 'write')
        .map(([scope]) => scope)
        .sort();
      const needed = [
        ...(stepsUsing(job, 'google-github-actions/auth').length > 0 ? ['id-token'] : []),
        ...(stepsUsing(job, 'pulumi/actions').some((s) => s.with?.['comment-on-pr'] === true)
          ? ['pull-requests']
          : []),
        ...(stepsUsing(job, 'github/codeql-action/upload-sarif').length > 0 ? ['security-events'] : []),
      ].sort();
      expect([id, writes]).toEqual([id, needed]);
    }
  });

  test('a pull request previews staging and prod with the policy pack, commented, and never updates', () => {
    const onPr = pulumiRuns.filter((r) => runsOn(r.job, 'pull_request'));
    expect(onPr.flatMap((r) => stacksOf(r.job, r.step)).sort()).toEqual(['prod', 'staging']);
    for (const { step, command } of onPr) {
      expect(command).toBe('preview');
      expect(step.with).toMatchObject({ policyPacks: 'policies/gcp', 'comment-on-pr': true });
    }
    for (const [, job] of jobs.filter(([, j]) => runsOn(j, 'pull_request')))
      for (const step of job.steps) expect(step.run ?? '').not.toMatch(/pulumi\s+(up|destroy|refresh)/);
  });

  test('pulumi up runs only on a push to main: staging, then prod behind its environment', () => {
    expect(upRuns.map((r) => [r.id, stacksOf(r.job, r.step)])).toEqual([
      ['up-staging', ['staging']],
      ['up-prod', ['prod']],
    ]);
    for (const { job, step } of upRuns) {
      expect(runsOn(job, 'pull_request')).toBe(false);
      expect(job.if).toContain("github.ref == 'refs/heads/main'");
      expect(step.with?.policyPacks).toBe('policies/gcp');
    }
    const [staging, prod] = upRuns;
    expect(environmentOf(staging!.job)).toBe('gcp-staging');
    expect(environmentOf(prod!.job)).toBe('gcp-prod');
    expect(needsOf(prod!.job)).toEqual(['up-staging']);
    expect(needsOf(staging!.job)).toEqual(['test']);
  });

  test('two updates never run at once on a stack', () => {
    const groups = upRuns.map(({ job }) => job.concurrency);
    for (const group of groups) expect(group).toMatchObject({ 'cancel-in-progress': false });
    expect(new Set(groups.map((g) => g?.group)).size).toBe(upRuns.length);
  });

  test('every Pulumi job first authenticates to Google through workload identity federation, no key', () => {
    expect(text).not.toMatch(/credentials_json|GOOGLE_APPLICATION_CREDENTIALS|secrets\.GCP/i);
    for (const { id, job } of pulumiRuns) {
      const auth = job.steps.findIndex((s) => actionOf(s) === 'google-github-actions/auth');
      expect([id, auth]).toEqual([id, expect.any(Number)]);
      expect(auth).toBeGreaterThanOrEqual(0);
      expect(auth).toBeLessThan(job.steps.findIndex((s) => actionOf(s) === 'pulumi/actions'));
    }
    for (const [id, job] of authJobs) {
      expect([id, (job.permissions as Record<string, string>)['id-token']]).toEqual([id, 'write']);
      for (const step of stepsUsing(job, 'google-github-actions/auth')) {
        expect(Object.keys(step.with ?? {}).sort()).toEqual([
          'service_account',
          'workload_identity_provider',
        ]);
        // Identities come from variables (directly or through the matrix), never from a secret.
        const sources = Object.values(step.with ?? {}).flatMap((v) => {
          const key = /^\$\{\{ matrix\.([a-z-]+) \}\}$/.exec(String(v))?.[1];
          if (key === undefined) return [String(v)];
          return (job.strategy?.matrix?.include ?? []).map((entry) => String(entry[key]));
        });
        for (const source of sources) expect(source).toMatch(/^\$\{\{ vars\.[A-Z_]+ \}\}$/);
      }
    }
  });

  test('the test job runs npm test, then the scan as SARIF, uploaded even when something failed', () => {
    const test = workflow.jobs.test!;
    const runs = test.steps.map((s) => s.run ?? '');
    const tests = runs.findIndex((r) => r.trim() === 'bash .ci/run');
    const scan = runs.findIndex((r) => r.trim() === SCAN);
    expect(tests).toBeGreaterThanOrEqual(0);
    expect(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
    expect(scan).toBeGreaterThan(tests);
    expect(test.steps[scan]?.if).toBe('${{ !cancelled() }}');
    const [upload] = stepsUsing(test, 'github/codeql-action/upload-sarif');
    expect(upload?.with).toEqual({ sarif_file: 'scan.sarif', category: 'trackstack-scan' });
    expect(upload?.if).toMatch(/^\$\{\{ always\(\) && /);
    expect(test.steps.indexOf(upload!)).toBeGreaterThan(scan);
    for (const [id, job] of jobs) if (id !== 'test') expect(needsOf(job).length).toBeGreaterThan(0);
  });

  test('installs every machine tool that .ci/run asks for', () => {
    const ciRun = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    const asked = [...ciRun.matchAll(/install (?:it|them) with: (?:pip|apt-get) install ([^'\n]+)'/g)]
      .flatMap((m) => m[1]!.split(' '))
      .map((pkg) => pkg.replace(/"/g, ''));
    expect(asked).toEqual(expect.arrayContaining(['moto[server]>=5', 'cfn-lint', 'google-cloud-cli']));
    const install = workflow.jobs.test!.steps.map((s) => s.run ?? '').join('\n');
    for (const pkg of asked) expect(install).toContain(pkg);
  });

  test('installs the Pulumi CLI released with the SDK the program is built on', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const sdk = pkg.dependencies['@pulumi/pulumi'];
    expect(sdk).toMatch(/^\d+\.\d+\.\d+$/);
    for (const { id, step } of pulumiRuns) expect([id, step.with?.['pulumi-version']]).toEqual([id, sdk]);
  });

  test('no checkout leaves the job’s token in .git/config for the code it runs', () => {
    for (const [id, job] of jobs)
      for (const step of stepsUsing(job, 'actions/checkout'))
        expect([id, step.with?.['persist-credentials']]).toEqual([id, false]);
  });

  test('pins every action to a full commit SHA with its release tag beside it', () => {
    const uses = text.split('\n').filter((line) => /^\s+(- )?uses: /.test(line));
    expect(uses.length).toBeGreaterThan(10);
    for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
  });
});

describe('the stacks the workflow names', () => {
  const stacks = [...new Set(pulumiRuns.flatMap((r) => stacksOf(r.job, r.step)))].sort();

  test('are staging and prod', () => {
    expect(stacks).toEqual(['prod', 'staging']);
  });

  test.each(stacks)('Pulumi.%s.yaml exists, sets only keys the program reads, and validates', (stack) => {
    const config = stackConfig(stack);
    for (const key of Object.keys(config)) expect(CONFIG_KEYS).toContain(key);
    expect(parseGcpConfig(config, `Pulumi.${stack}.yaml`).stage).toBe(stack);
  });

  test('the staging stack is prod’s topology at the platform’s default sizes', () => {
    expect(parseGcpConfig(stackConfig('staging'))).toEqual({
      project: 'trackstack-staging-123456',
      stage: 'staging',
      locations: ['americas', 'europe', 'apac'],
      alarmEmail: 'oncall@example.com',
      ingestMemoryMb: 512,
      ingestMaxInstances: 50,
      logRetentionDays: 365,
      // The limits an operator may set, at the platform's defaults.
      ingestLimits: {
        ingestIpRatePerSecond: LIMITS.ipRatePerSecond,
        ingestKeyRatePerSecond: LIMITS.apiKeyRatePerSecond,
        ingestPostbackIpRatePerSecond: LIMITS.postbackIpRatePerSecond,
        ingestRateBurstSeconds: LIMITS.rateBurstSeconds,
        ingestKeyCacheSeconds: LIMITS.keyStatusCacheSeconds,
      },
    });
    expect(parseGcpConfig(stackConfig('prod')).locations).toEqual(
      parseGcpConfig(stackConfig('staging')).locations,
    );
  });
});
