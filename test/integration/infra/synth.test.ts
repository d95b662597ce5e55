/**
 * `npm run synth`: the dev stage synthesizes offline with zero unacknowledged cdk-nag findings and zero
 * cfn-lint errors; a non-compliant resource or a broken template fails it, readably.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { REGIONS } from '../../../platform';
import { UsageError } from '../../../services/shared/cli';
import { withEnv } from '../../../scripts/shared/env';
import { formatTimings } from '../../../scripts/shared/steps';
import { CFN_LINT_CONFIG, ignoredLintChecks, lintTemplates } from '../../../scripts/synth/cfn-lint';
import { parseSynthArgs } from '../../../scripts/synth/cli';
import { formatNagFindings } from '../../../scripts/synth/nag-report';
import { synthStage, type SynthResult } from '../../../scripts/synth/synthesize';
import { scratchDir } from '../../support/cdk-env';

jest.setTimeout(180_000);

describe('the dev stage', () => {
  let out: ReturnType<typeof scratchDir>;
  let result: SynthResult;

  beforeAll(async () => {
    out = scratchDir('trackstack-synth-test');
    // No credentials and no account: synth must not need either.
    result = await withEnv(
      { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, CDK_DEFAULT_ACCOUNT: undefined },
      () => synthStage({ stage: 'dev', outdir: out.dir }),
    );
  });
  afterAll(() => out?.remove());

  test('synthesizes one regional stack per location, each with an explicit region', () => {
    const regions = result.stacks.map((s) => s.region).sort();
    expect(regions).toEqual(expect.arrayContaining(Object.values(REGIONS).map((r) => r.aws)));
    for (const s of result.stacks) expect(s.region).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
  });

  test('has no unacknowledged cdk-nag finding and no crashed pack', () => {
    // The formatted lines make a failure readable: construct path, rule id, description.
    expect(formatNagFindings(result.nag)).toEqual([]);
    expect(result.nag.findings).toEqual([]);
    expect(result.nag.pluginFailures).toEqual([]);
  });

  test('has zero cfn-lint errors in every template', () => {
    expect(result.lint).toBeDefined();
    expect(result.lint!.errors).toEqual([]);
    expect(result.ok).toBe(true);
  });

  test('reports the time of every step and the total', () => {
    expect(result.timings.map((t) => t.step)).toEqual([
      'load CDK app',
      'construct app',
      'synthesize + cdk-nag',
      'cfn-lint',
    ]);
    expect(formatTimings(result).at(-1)).toMatch(/^ {2}total\s+\d+\.\d\d s$/);
  });
});

test('an unacknowledged finding fails synth and names the construct and the rules', async () => {
  const out = scratchDir('trackstack-synth-nag');
  try {
    const result = await synthStage({
      stage: 'dev',
      outdir: out.dir,
      lint: false,
      customize: (app) => {
        const stack = app.node.children.find((c): c is Stack => c instanceof Stack);
        new CfnBucket(stack!, 'UnloggedBucket', {});
      },
    });
    expect(result.ok).toBe(false);
    expect(result.nag.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          pack: 'AwsSolutions',
          rule: 'AwsSolutions-S1',
          constructPath: expect.stringMatching(/\/UnloggedBucket$/),
        }),
      ]),
    );
    const text = formatNagFindings(result.nag).join('\n');
    expect(text).toMatch(/unacknowledged findings/);
    expect(text).toMatch(
      /UnloggedBucket[\s\S]*AwsSolutions-S1\s+The S3 Bucket has server access logs disabled/,
    );
    // Control ids are cut: the rule id leads to them, and they drown the finding.
    expect(text).not.toMatch(/Control IDs/);
  } finally {
    out.remove();
  }
});

describe('cfn-lint', () => {
  test('reports a broken template as an error with its rule and location', () => {
    const tmp = scratchDir('trackstack-lint');
    try {
      const file = join(tmp.dir, 'Broken.template.json');
      writeFileSync(
        file,
        JSON.stringify({
          Resources: {
            Fn: {
              Type: 'AWS::Lambda::Function',
              Properties: {
                Code: { ZipFile: 'x' },
                Role: 'arn:aws:iam::123456789012:role/r',
                Runtime: 'nodejs1.x',
                Handler: 'i.h',
              },
            },
          },
        }),
      );
      const lint = lintTemplates([file]);
      expect(lint.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            level: 'Error',
            location: expect.stringContaining('Broken.template.json:'),
          }),
        ]),
      );
    } finally {
      tmp.remove();
    }
  });

  test('every ignored check is listed once in .cfnlintrc.yaml, right after the comment giving its reason', () => {
    const checks = ignoredLintChecks();
    expect(new Set(checks).size).toBe(checks.length);
    const lines = readFileSync(CFN_LINT_CONFIG, 'utf8').split('\n');
    for (const check of checks) {
      const at = lines.findIndex((l) => l.trim() === `- ${check}`);
      expect(lines[at - 1]).toMatch(/^\s*#\s*\S/);
      expect(lines.slice(0, at).join('\n')).toContain(check);
    }
  });

  test('synth fails, saying how to install it, when cfn-lint is missing', async () => {
    const empty = scratchDir('trackstack-no-path');
    try {
      await expect(
        withEnv({ PATH: empty.dir }, () => synthStage({ stage: 'dev', outdir: join(empty.dir, 'out') })),
      ).rejects.toThrow(/cfn-lint was not found on PATH\. Install it/);
    } finally {
      empty.remove();
    }
  });
});

describe('command line', () => {
  test('defaults to the dev stage and cdk.out', () => {
    expect(parseSynthArgs([])).toMatchObject({
      stage: 'dev',
      help: false,
      outdir: expect.stringMatching(/cdk\.out$/),
    });
    expect(parseSynthArgs(['--stage', 'prod']).stage).toBe('prod');
  });

  test('rejects an unknown stage or flag with a usage error naming the stages', () => {
    expect(() => parseSynthArgs(['--stage', 'qa'])).toThrow(UsageError);
    expect(() => parseSynthArgs(['--stage', 'qa'])).toThrow(
      /--stage must be one of dev, staging, prod; got "qa"/,
    );
    expect(() => parseSynthArgs(['--stag', 'dev'])).toThrow(UsageError);
  });
});
