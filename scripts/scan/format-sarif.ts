/**
 * The scan as SARIF 2.1.0, for code-scanning tools (GitHub's upload-sarif, CodeBuild reports): one run per
 * tool (cdk-nag, cfn-lint, the Pulumi policy pack), every finding a result located at the line of code that
 * declared its resource, and every acknowledged finding carrying an in-source suppression with its
 * justification, so the tools show it as accepted rather than dropping it.
 */
import { createHash } from 'node:crypto';
import { ruleOfFinding } from '../../policies/promises';
import type { ScanFinding, ScanReport, ScanTool, Severity } from './report';
import type { SourceLocation } from './source-location';

/** The schema the output declares (OASIS SARIF 2.1.0, final). */
export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

/** The base id of the repository root in the output's artifact locations. */
const SRCROOT = 'SRCROOT';

const TOOL_INFO: Readonly<Record<ScanTool, { readonly uri: string; readonly fullName: string }>> = {
  'cdk-nag': { uri: 'https://github.com/cdklabs/cdk-nag', fullName: 'cdk-nag rule packs' },
  'cfn-lint': {
    uri: 'https://github.com/aws-cloudformation/cfn-lint',
    fullName: 'AWS CloudFormation Linter',
  },
  'pulumi-policy': {
    uri: 'https://www.pulumi.com/docs/iac/packages-and-automation/crossguard/',
    fullName: 'Pulumi CrossGuard policy pack',
  },
};

/** A SARIF log, typed only as far as this module writes it. */
export interface SarifLog {
  readonly $schema: string;
  readonly version: '2.1.0';
  readonly runs: readonly SarifRun[];
}

interface SarifRun {
  readonly tool: {
    readonly driver: Record<string, unknown> & { readonly rules: readonly Record<string, unknown>[] };
  };
  readonly originalUriBaseIds: Record<string, unknown>;
  readonly invocations: readonly Record<string, unknown>[];
  readonly results: readonly Record<string, unknown>[];
}

/** The rule of a finding without cdk-nag's finding suffix (SARIF rules are rules, not findings). */
export const baseRule = ruleOfFinding;

function level(severity: Severity): 'error' | 'warning' | 'note' {
  return severity === 'info' ? 'note' : severity;
}

/** Where a finding points when the code that declared its resource is unknown: the stage's configuration. */
function fallbackLocation(f: ScanFinding): SourceLocation {
  return { file: f.cloud === 'aws' ? 'cdk.json' : `Pulumi.${f.stage}.yaml`, line: 1 };
}

function physical(location: SourceLocation) {
  return {
    artifactLocation: { uri: location.file, uriBaseId: SRCROOT },
    region: { startLine: location.line },
  };
}

/** Stable across runs and line moves: the same finding on the same resource keeps its fingerprint. */
function fingerprint(f: ScanFinding): string {
  return createHash('sha256')
    .update([f.tool, f.rule, f.cloud, f.stage, f.resource.stack, f.resource.path].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

function result(f: ScanFinding, ruleIndex: number): Record<string, unknown> {
  const ack = f.acknowledgement;
  const finding = f.rule === baseRule(f.rule) ? '' : ` (finding ${f.rule.slice(baseRule(f.rule).length)})`;
  return {
    ruleId: baseRule(f.rule),
    ruleIndex,
    level: level(f.severity),
    message: {
      text: `${f.message}${finding} [${f.cloud}/${f.stage} ${f.resource.stack}: ${f.resource.path}]`,
    },
    locations: [
      {
        physicalLocation: physical(f.resource.source ?? fallbackLocation(f)),
        logicalLocations: [
          {
            fullyQualifiedName: f.resource.path,
            ...(f.resource.logicalId !== undefined && { name: f.resource.logicalId }),
            kind: 'resource',
          },
        ],
      },
    ],
    partialFingerprints: { 'trackstackFinding/v1': fingerprint(f) },
    ...(ack && {
      suppressions: [
        {
          kind: 'inSource',
          status: 'accepted',
          justification: ack.reason,
          ...(ack.source && { location: { physicalLocation: physical(ack.source) } }),
          properties: { acknowledgedId: ack.id, declaredAt: ack.declaredAt },
        },
      ],
    }),
    properties: {
      cloud: f.cloud,
      stage: f.stage,
      stack: f.resource.stack,
      pack: f.pack,
      ...(f.resource.type !== undefined && { resourceType: f.resource.type }),
      promises: f.promises,
    },
  };
}

function run(tool: ScanTool, findings: readonly ScanFinding[], report: ScanReport): SarifRun {
  const rules: string[] = [];
  const firstOf = new Map<string, ScanFinding>();
  for (const f of findings) {
    const id = baseRule(f.rule);
    if (!firstOf.has(id)) {
      firstOf.set(id, f);
      rules.push(id);
    }
  }
  return {
    tool: {
      driver: {
        name: tool,
        fullName: TOOL_INFO[tool].fullName,
        informationUri: TOOL_INFO[tool].uri,
        rules: rules.map((id) => {
          const f = firstOf.get(id);
          return {
            id,
            shortDescription: { text: f?.tool === 'cdk-nag' ? f.message : id },
            properties: { pack: f?.pack, promises: f?.promises ?? [] },
          };
        }),
      },
    },
    originalUriBaseIds: { [SRCROOT]: { description: { text: 'The root of the Trackstack repository.' } } },
    invocations: [{ executionSuccessful: true, startTimeUtc: report.startedAt }],
    results: findings.map((f) => result(f, rules.indexOf(baseRule(f.rule)))),
  };
}

/** The report as a SARIF 2.1.0 log: one run per tool that took part, in a fixed order. */
export function toSarif(report: ScanReport): SarifLog {
  const tools: ScanTool[] = ['cdk-nag', 'cfn-lint', 'pulumi-policy'];
  const present = tools.filter((t) => report.targets.some((target) => target.tools.includes(t)));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: present.map((t) =>
      run(
        t,
        report.findings.filter((f) => f.tool === t),
        report,
      ),
    ),
  };
}
