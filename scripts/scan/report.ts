/**
 * The scan's report: one list of findings from every tool (cdk-nag packs, cfn-lint, the Pulumi policy
 * pack), each with where it is, its status and the promises it protects. The formats (table, JSON, SARIF)
 * are views of this one structure; `docs/scan-report.schema.json` is the JSON format's schema.
 */
import type { Stage } from '../../platform';
import type { SourceLocation } from './source-location';

/** Version of the JSON report's shape; bumped on any incompatible change to it. */
export const SCAN_REPORT_VERSION = 1;

/** The clouds the scan covers. */
export const CLOUDS = ['aws', 'gcp'] as const;
/** One of {@link CLOUDS}. */
export type Cloud = (typeof CLOUDS)[number];

/**
 * What a target of the scan is: a stage of the platform, or `release` for the AWS pipeline stack, which
 * belongs to no single stage (it deploys staging and prod).
 */
export type ScanStage = Stage | 'release';

/** The tools whose findings the report gathers. */
export type ScanTool = 'cdk-nag' | 'cfn-lint' | 'pulumi-policy';

/** Severity on one scale for every tool: cdk-nag error/warning, cfn-lint E/W/I, Pulumi mandatory/advisory. */
export type Severity = 'error' | 'warning' | 'info';

/** Whether a finding fails the scan, or was acknowledged in the code with a reason. */
export type FindingStatus = 'violation' | 'acknowledged';

/** The resource a finding is about. */
export interface FindingResource {
  /** CloudFormation logical id, or the Pulumi resource name. */
  readonly logicalId?: string;
  /** Construct path (CDK) or `parent type::name/…/type::name` (Pulumi). */
  readonly path: string;
  /** CloudFormation or Pulumi resource type. */
  readonly type?: string;
  /** Stack that holds it: the CloudFormation stack or the Pulumi stack. */
  readonly stack: string;
  /** The line of the repository's code that declared it, when it can be found. */
  readonly source?: SourceLocation;
  /** The synthesized template, for CloudFormation resources (relative to the working directory). */
  readonly template?: string;
}

/** An acknowledgement: where it is declared and why. */
export interface Acknowledgement {
  /** The id it names: `Rule` or `Rule[Finding]`. */
  readonly id: string;
  /** The full-sentence reason given in the code. */
  readonly reason: string;
  /** Construct path where it was declared (it covers that construct and everything below it). */
  readonly declaredAt: string;
  /** The line of code that declared it, when known. */
  readonly source?: SourceLocation;
}

/** One finding of one rule on one resource of one target. */
export interface ScanFinding {
  readonly tool: ScanTool;
  /** cdk-nag pack (`AwsSolutions`, `NIST.800.53.R5`, …, `Trackstack`), `cfn-lint`, or the policy pack's name. */
  readonly pack: string;
  /** Rule id as the tool reports it, with a finding suffix where there is one (`AwsSolutions-IAM5[Action::s3:*]`). */
  readonly rule: string;
  readonly severity: Severity;
  /** The rule's description or the tool's message. */
  readonly message: string;
  readonly cloud: Cloud;
  readonly stage: ScanStage;
  readonly resource: FindingResource;
  readonly status: FindingStatus;
  /** Present when {@link status} is `acknowledged`. */
  readonly acknowledgement?: Acknowledgement;
  /** Ids of the customer promises the rule protects (policies/promises). */
  readonly promises: readonly string[];
}

/** One stage of one cloud that was scanned, with what it held. */
export interface ScanTarget {
  readonly cloud: Cloud;
  readonly stage: ScanStage;
  /** Stacks (CloudFormation) or the Pulumi stack. */
  readonly stacks: readonly string[];
  /** Resources evaluated. */
  readonly resources: number;
  /** Rules evaluated, per tool (the packs' rules are counted where the tool can say). */
  readonly tools: readonly ScanTool[];
  /** Seconds the target took. */
  readonly seconds: number;
}

/** The whole report. */
export interface ScanReport {
  readonly version: typeof SCAN_REPORT_VERSION;
  /** ISO 8601 time the scan started. */
  readonly startedAt: string;
  readonly targets: readonly ScanTarget[];
  readonly findings: readonly ScanFinding[];
  readonly summary: ScanSummary;
}

/** Counts for the last line of every format. */
export interface ScanSummary {
  readonly violations: number;
  readonly acknowledged: number;
  /** Violations per tool. */
  readonly violationsByTool: Readonly<Record<ScanTool, number>>;
  readonly seconds: number;
}

/** The summary of a list of findings. */
export function summarize(findings: readonly ScanFinding[], seconds: number): ScanSummary {
  const violations = findings.filter((f) => f.status === 'violation');
  const byTool = (tool: ScanTool) => violations.filter((f) => f.tool === tool).length;
  return {
    violations: violations.length,
    acknowledged: findings.length - violations.length,
    violationsByTool: {
      'cdk-nag': byTool('cdk-nag'),
      'cfn-lint': byTool('cfn-lint'),
      'pulumi-policy': byTool('pulumi-policy'),
    },
    seconds: Math.round(seconds * 10) / 10,
  };
}

/** The scan's exit status: 0 when nothing is in violation, 1 otherwise (2 is for bad flags, in cli.ts). */
export function exitStatus(report: ScanReport): 0 | 1 {
  return report.summary.violations === 0 ? 0 : 1;
}

/** A stable order: violations first, then by cloud, stage, rule and resource path. */
export function sortFindings(findings: readonly ScanFinding[]): ScanFinding[] {
  const key = (f: ScanFinding) =>
    [f.status === 'violation' ? 0 : 1, f.cloud, f.stage, f.rule, f.resource.stack, f.resource.path].join(
      '\u0000',
    );
  return [...findings].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
