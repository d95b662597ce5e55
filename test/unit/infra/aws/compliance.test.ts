import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations, type IPolicyValidationPlugin, type PolicyValidationPluginReport } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { compliancePacks } from '../../../../policies/aws';
import { PACKS } from '../../../../policies/aws/acknowledgements';
import { createApp, readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { synthesizeStage, type SynthesizedApp } from './support';

interface NagPackLike extends IPolicyValidationPlugin {
  validateScope(scope: IConstruct): PolicyValidationPluginReport;
}

/** Every unacknowledged finding of every pack in a scope, as `rule at path`. */
function findings(scope: IConstruct, app: IConstruct): string[] {
  return (compliancePacks(app) as NagPackLike[]).flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? '?'}`),
      ),
  );
}

/** Every acknowledgement in a tree, as construct path, rule id and reason. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe.each(['dev', 'prod'] as const)('compliance of %s', (stage) => {
  let synth: SynthesizedApp;
  beforeAll(() => {
    synth = synthesizeStage(stage);
  });
  afterAll(() => synth?.dispose());

  test('every pack is attached to the app', () => {
    expect(compliancePacks(synth.app).map((p) => p.name)).toEqual([
      PACKS.awsSolutions,
      PACKS.nist,
      PACKS.pci,
      PACKS.hipaa,
      'Trackstack',
    ]);
  });

  test.each(['americas', 'europe', 'apac'])(
    '%s: no unacknowledged finding, error or warning, in any pack',
    (location) => {
      const stack = synth.regionalStacks.find((s) => s.location === location)!;
      expect(findings(stack, synth.app)).toEqual([]);
    },
  );

  test('the validation report of the synth holds no violation', () => {
    const report = JSON.parse(readFileSync(join(synth.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });

  test('every acknowledgement names one finding and gives a full-sentence reason', () => {
    const acks = acknowledgements(synth.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(
        /^(AwsSolutions|NIST\.800\.53\.R5|PCI\.DSS\.321|HIPAA\.Security)-[A-Za-z0-9]+(\[[^\]]+\])?$/,
      );
      expect(ack.reason).toMatch(/^[A-Z][^]{40,}[.]$/);
    }
  });
});

describe('acknowledgements', () => {
  test('none is stale: each one silences a finding that the packs report without it', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-acks-'));
    const build = () => createApp({ context: { ...readCdkJsonContext(), stage: 'dev' }, outdir });
    let raw: string[] = [];
    let acks: ReturnType<typeof acknowledgements> = [];
    try {
      acks = acknowledgements(build().app);
      // The same app with every acknowledgement dropped: what would the packs report?
      const silenced = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
      try {
        const bare = build();
        raw = findings(bare.app, bare.app);
      } finally {
        silenced.mockRestore();
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
    expect(raw.length).toBeGreaterThan(0);
    const unused = acks.filter(
      (ack) =>
        !raw.some((f) => f.startsWith(`${ack.id} at ${ack.path}/`) || f === `${ack.id} at ${ack.path}`),
    );
    expect(unused).toEqual([]);
  });
});
