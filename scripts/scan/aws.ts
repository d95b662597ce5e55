/**
 * The AWS half of the scan: synthesizes one CDK app (a stage's stacks, or the release pipeline), evaluates
 * every cdk-nag pack over its resources with acknowledgements switched off, and sorts each finding into a
 * violation or an acknowledgement with its reason. cdk-nag 3 drops acknowledged findings from its own
 * report, so reading that report alone could never list them; evaluating without them and matching each
 * finding to the acknowledgement that covers it (the same walk up the construct tree cdk-nag does) can.
 */
import { basename } from 'node:path';
import type { App } from 'aws-cdk-lib';
import {
  CfnResource,
  Stack,
  Stage as CdkStage,
  Validations,
  type IPolicyValidationPlugin,
  type PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { compliancePacks } from '../../policies/aws';
import { withEnv } from '../shared/env';
import { shortRuleDescription } from '../synth/nag-report';
import type { Acknowledgement, FindingResource, ScanFinding, ScanStage } from './report';
import { sourceLocation } from './source-location';

/** Builds the app of one target into a cloud assembly directory. */
export type AwsAppBuilder = (outdir: string) => App;

/** A CloudFormation resource of the scanned app, by construct path. */
export interface AwsResource extends FindingResource {
  readonly logicalId: string;
  readonly template: string;
}

/** One synthesized template of the target, for cfn-lint. */
export interface AwsTemplate {
  readonly stack: string;
  /** Absolute path. */
  readonly file: string;
}

/** What one AWS target yields. */
export interface AwsScan {
  readonly stage: ScanStage;
  readonly stacks: readonly string[];
  readonly templates: readonly AwsTemplate[];
  /** Every resource, keyed by construct path. */
  readonly resources: ReadonlyMap<string, AwsResource>;
  readonly findings: readonly ScanFinding[];
  /** Acknowledgements that cover no finding: stale, and reported as violations by the scan. */
  readonly unusedAcknowledgements: readonly Acknowledgement[];
}

interface NagPackLike extends IPolicyValidationPlugin {
  validateScope(scope: IConstruct): PolicyValidationPluginReport;
}

/** The metadata type under which `Validations.acknowledge` records an acknowledgement. */
const ACKNOWLEDGED = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;

/** aws-cdk-lib before 2.262.1 prefixed acknowledged ids with `annotation::`; cdk-nag strips it too. */
const normalizeId = (id: string) => id.replace(/^annotation::/i, '');

/**
 * Synthesizes the target's app and evaluates every pack over the stacks directly in it (for the pipeline
 * app, the stacks of the stages it deploys are nested stages: the stage targets scan those).
 */
export async function scanAwsApp(stage: ScanStage, build: AwsAppBuilder, outdir: string): Promise<AwsScan> {
  const app = build(outdir);
  // aws-cdk-lib's own template validation is off: cfn-lint checks the same templates right after.
  const assembly = await withEnv({ CDK_VALIDATION: 'false' }, () => app.synth());
  const stacks = app.node.children.filter((c): c is Stack => Stack.isStack(c));
  const templates = stacks.map((s) => {
    const artifact = assembly.getStackArtifact(s.artifactId);
    return { stack: s.stackName, file: artifact.templateFullPath };
  });
  const own = ownResources(app, stacks);
  const resources = describeResources(own, new Map(templates.map((t) => [t.stack, t.file])));
  const acknowledgements = collectAcknowledgements(app);
  // Resource by resource rather than stack by stack: a stack of the pipeline app holds the stages it
  // deploys, whose resources the stage targets scan.
  const raw = withoutAcknowledgements(() =>
    (compliancePacks(app) as NagPackLike[]).flatMap((pack) => own.flatMap((r) => rawFindings(pack, r))),
  );

  const used = new Set<Acknowledgement>();
  const findings = raw.map((f): ScanFinding => {
    const resource = resources.get(f.path) ?? { path: f.path, stack: f.path.split('/')[0] ?? '' };
    const ack = coveringAcknowledgement(acknowledgements, f.path, f.rule);
    if (ack) used.add(ack);
    return {
      tool: 'cdk-nag',
      pack: f.pack,
      rule: f.rule,
      severity: f.severity === 'warning' ? 'warning' : 'error',
      message: f.message,
      cloud: 'aws',
      stage,
      resource,
      status: ack ? 'acknowledged' : 'violation',
      ...(ack && { acknowledgement: ack }),
      promises: [],
    };
  });
  return {
    stage,
    stacks: stacks.map((s) => s.stackName),
    templates,
    resources,
    findings,
    unusedAcknowledgements: [...acknowledgements.values()].flat().filter((a) => !used.has(a)),
  };
}

/** The app of one stage of the platform, as `npx cdk synth -c stage=<stage>` builds it. */
export function stageApp(
  createApp: (props: { context: Record<string, unknown>; outdir: string }) => { app: App },
  context: Record<string, unknown>,
  customize?: (app: App) => void,
): AwsAppBuilder {
  return (outdir) => {
    const { app } = createApp({ context, outdir });
    customize?.(app);
    return app;
  };
}

interface RawFinding {
  readonly pack: string;
  readonly rule: string;
  readonly severity: string;
  readonly message: string;
  readonly path: string;
}

function rawFindings(pack: NagPackLike, scope: IConstruct): RawFinding[] {
  return pack.validateScope(scope).violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      pack: pack.name,
      rule: v.ruleName,
      severity: v.severity ?? 'error',
      message: shortRuleDescription(v.description),
      path: r.constructPath ?? '(unknown construct)',
    })),
  );
}

/**
 * Runs `fn` while cdk-nag cannot see any acknowledgement. cdk-nag looks them up under the metadata type
 * `Validations.ACKNOWLEDGED_RULES_METADATA_KEY`, read at every check; pointing that key elsewhere for the
 * duration makes every pack report every finding, acknowledged or not. The scan's tests check that the
 * acknowledged findings really appear, so a cdk-nag release that reads acknowledgements differently fails
 * them rather than silently hiding findings.
 */
function withoutAcknowledgements<T>(fn: () => T): T {
  const holder = Validations as unknown as { ACKNOWLEDGED_RULES_METADATA_KEY: string };
  holder.ACKNOWLEDGED_RULES_METADATA_KEY = 'trackstack:scan:acknowledgements-hidden';
  try {
    return fn();
  } finally {
    holder.ACKNOWLEDGED_RULES_METADATA_KEY = ACKNOWLEDGED;
  }
}

/** The CloudFormation resources of the app's own stacks, without those of stages nested in them. */
function ownResources(app: App, stacks: readonly Stack[]): CfnResource[] {
  return stacks.flatMap((s) =>
    s.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c) && CdkStage.of(c) === app),
  );
}

function describeResources(
  own: readonly CfnResource[],
  templateOf: ReadonlyMap<string, string>,
): Map<string, AwsResource> {
  const resources = new Map<string, AwsResource>();
  for (const c of own) {
    const stack = Stack.of(c);
    // The assembly is temporary: the template is named as `cdk synth` writes it into cdk.out.
    const template = basename(templateOf.get(stack.stackName) ?? stack.templateFile);
    const creation = c.node.metadata.find((m) => m.type === 'aws:cdk:creationStack')?.data;
    const source = Array.isArray(creation) ? sourceLocation(creation as string[], 'infra/') : undefined;
    resources.set(c.node.path, {
      logicalId: stack.resolve(c.logicalId) as string,
      path: c.node.path,
      type: c.cfnResourceType,
      stack: stack.stackName,
      template,
      ...(source && { source }),
    });
  }
  return resources;
}

/** Every acknowledgement of the app, keyed by the construct path it was declared on. */
function collectAcknowledgements(app: App): Map<string, Acknowledgement[]> {
  const byPath = new Map<string, Acknowledgement[]>();
  for (const c of app.node.findAll()) {
    // The stages a pipeline deploys are nested in its app: their own targets report their acknowledgements.
    if (CdkStage.of(c) !== app) continue;
    for (const entry of c.node.metadata) {
      if (entry.type !== ACKNOWLEDGED || typeof entry.data !== 'object' || entry.data === null) continue;
      // The declaring line: the construct beside the resource, not the named helper in policies/.
      const source = sourceLocation(entry.trace ?? [], 'infra/');
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const ack: Acknowledgement = {
          id: normalizeId(id),
          reason,
          declaredAt: c.node.path,
          ...(source && { source }),
        };
        byPath.set(c.node.path, [...(byPath.get(c.node.path) ?? []), ack]);
      }
    }
  }
  return byPath;
}

/** The acknowledgement cdk-nag would apply: the nearest one naming exactly this id on the path or above it. */
function coveringAcknowledgement(
  acks: ReadonlyMap<string, readonly Acknowledgement[]>,
  path: string,
  rule: string,
): Acknowledgement | undefined {
  for (
    let p: string | undefined = path;
    p;
    p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : undefined
  ) {
    const found = acks.get(p)?.find((a) => a.id === rule);
    if (found) return found;
  }
  return undefined;
}
