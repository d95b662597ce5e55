/**
 * Builds the whole CDK app of one stage: used by `bin/app.ts`, the synth script and the tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnOutput, Fn, Stage as CdkStage, Validations, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  edgeStackName,
  PRIMARY_LOCATION,
  PRODUCT,
  REGIONS,
  type Location,
  type StageConfig,
} from '../../../platform';
import { compliancePacks } from '../../../policies/aws';
import { REPO_ROOT } from '../../build/paths';
import { EdgeStack } from './edge-stack';
import { awsNames } from './naming';
import { RegionalStack } from './regional-stack';
import { securityNames } from './constructs/security/security-names';
import { SecurityStack } from './security-stack';
import { readStageConfig } from './stage-context';

/** Properties of {@link createApp}. */
export interface CreateAppProps {
  /**
   * Context to start the app with, e.g. `{ ...readCdkJsonContext(), stage: 'dev' }` in tests.
   * @default - the context the CDK CLI passes (cdk.json and `-c`)
   */
  readonly context?: Record<string, unknown>;
  /**
   * Directory of the cloud assembly.
   * @default - the CLI's `cdk.out`, or a temporary directory outside the CLI
   */
  readonly outdir?: string;
  /**
   * Whether aws-cdk-lib's built-in CloudFormation template validation runs at synth (it costs seconds;
   * cfn-lint checks the same templates in `npm run synth`).
   * @default true, unless `CDK_VALIDATION=false` or `cdk synth --no-validation`
   */
  readonly builtinCloudFormationValidation?: boolean;
  /**
   * The AWS account of the stacks when the stage configuration names none.
   * @default process.env.CDK_DEFAULT_ACCOUNT, else environment-agnostic in the account only
   */
  readonly defaultAccount?: string;
}

/** The app and what it holds. */
export interface TrackstackApp {
  /** The CDK app, with every compliance pack attached. */
  readonly app: App;
  /** The validated configuration of the stage. */
  readonly config: StageConfig;
  /** The regional stacks, one per location of the stage, in the stage's order. */
  readonly regionalStacks: readonly RegionalStack[];
  /** The edge stack (us-east-1), deployed after every regional stack. */
  readonly edgeStack: EdgeStack;
  /** The security stack (us-east-1): audit trail, alarms, incident store, containment; after the edge stack. */
  readonly securityStack: SecurityStack;
}

/**
 * Creates the app of the stage named by the `stage` context: one regional stack per location of the
 * stage (ids `Trackstack-<stage>-<location>`, each with an explicit account and region), the edge stack
 * (`Trackstack-<stage>-edge`, us-east-1) in front of them, the security stack (`Trackstack-<stage>-security`,
 * us-east-1), and the compliance packs (AWS Solutions, NIST 800-53 R5, PCI DSS 3.2.1, HIPAA Security, Trackstack).
 * @throws ConfigError naming the key when the stage or its configuration is missing or malformed
 */
export function createApp(props: CreateAppProps = {}): TrackstackApp {
  const app = new App({
    context: props.context,
    outdir: props.outdir,
    builtinCloudFormationValidation: props.builtinCloudFormationValidation,
  });
  const config = readStageConfig(app.node);
  const account = config.awsAccount ?? props.defaultAccount ?? process.env.CDK_DEFAULT_ACCOUNT;
  const stacks = buildStageStacks(app, config, account);
  Validations.of(app).addPlugins(...compliancePacks(app));
  return { app, config, ...stacks };
}

/** The stacks of one stage, as {@link buildStageStacks} wires them. */
export interface StageStacks {
  /** The regional stacks, one per location of the stage, in the stage's order. */
  readonly regionalStacks: readonly RegionalStack[];
  /** The edge stack (us-east-1), deployed after every regional stack. */
  readonly edgeStack: EdgeStack;
  /** The security stack (us-east-1), deployed after the edge stack. */
  readonly securityStack: SecurityStack;
}

/**
 * Builds every stack of one stage in `scope`: the App for `cdk deploy` of a stage, or a `cdk.Stage` of the
 * release pipeline (`TrackstackStage`). Stack names are set explicitly (equal to the ids) because a Stage
 * would otherwise prefix them with its own path, and the tools find the stacks by these names.
 * @param account the stacks' AWS account; `undefined` leaves them environment-agnostic in the account
 */
export function buildStageStacks(
  scope: Construct,
  config: StageConfig,
  account: string | undefined,
): StageStacks {
  const home = directoryHome(config);
  const replicas = config.locations.filter((l) => l !== home);

  const regionalStacks = config.locations.map((location) => {
    const id = awsNames.regionalStack(config.stage, location);
    return new RegionalStack(scope, id, {
      stackName: id,
      env: { account, region: REGIONS[location].aws },
      description: `Trackstack ${config.stage}: ingest, keys, event store and directory in ${location}`,
      // Production holds customers' events: deleting its stacks takes a deliberate extra step.
      terminationProtection: config.stage === 'prod',
      tags: { product: PRODUCT, stage: config.stage, location },
      config,
      location,
      directoryHome: home,
      replicaLocations: location === home ? replicas : [],
      homeLocations: config.homeLocations,
      // The edge stack (us-east-1) reads each Function URL's host name from this stack (see
      // ingestOriginDomain); allowed across regions, as Fn::GetStackOutput with cdk.json's weak references.
      crossRegionReferences: true,
    });
  });
  // The home stack creates the table's replicas, encrypted with the other regions' keys: those keys
  // (and their aliases) must exist first.
  const homeStack = regionalStacks.find((s) => s.location === home);
  for (const stack of regionalStacks) if (stack !== homeStack) homeStack?.addStackDependency(stack);

  const edgeId = edgeStackName(config.stage);
  const edgeStack = new EdgeStack(scope, edgeId, {
    stackName: edgeId,
    env: { account, region: REGIONS[PRIMARY_LOCATION].aws },
    description: `Trackstack ${config.stage}: CloudFront, WAF, edge routing and the config bucket`,
    terminationProtection: config.stage === 'prod',
    tags: { product: PRODUCT, stage: config.stage, location: 'edge' },
    crossRegionReferences: true,
    config,
    ingestOrigins: new Map(regionalStacks.map((s) => [s.location, ingestOriginDomain(s)])),
  });
  // The edge's origins, and the Lambda permissions that let CloudFront call them, must exist before the
  // distribution does; Fn::GetStackOutput also needs the regional outputs in place.
  for (const stack of regionalStacks) edgeStack.addStackDependency(stack);

  const securityId = securityNames.stack(config.stage);
  const securityStack = new SecurityStack(scope, securityId, {
    stackName: securityId,
    env: { account, region: REGIONS[PRIMARY_LOCATION].aws },
    description: `Trackstack ${config.stage}: audit trail, security alarms, incident store and containment`,
    terminationProtection: config.stage === 'prod',
    tags: { product: PRODUCT, stage: config.stage, location: 'security' },
    config,
    keyValueStore: edgeStack.keyValueStore,
  });
  // The containment function revokes keys in the edge store and reads the per-key rules of every region.
  securityStack.addStackDependency(edgeStack);
  return { regionalStacks, edgeStack, securityStack };
}

/** Properties of {@link TrackstackStage}. */
export interface TrackstackStageProps extends StageProps {
  /** The validated configuration of the stage to deploy. */
  readonly config: StageConfig;
  /**
   * The stacks' AWS account.
   * @default config.awsAccount, else the pipeline's account
   */
  readonly account?: string;
}

/**
 * One stage of the platform (its regional, edge and security stacks) as a `cdk.Stage`: what the release
 * pipeline deploys as a wave. The stacks keep the ids and names `createApp` gives them.
 */
export class TrackstackStage extends CdkStage {
  /** The validated configuration of the stage. */
  public readonly config: StageConfig;
  /** The regional stacks, one per location of the stage, in the stage's order. */
  public readonly regionalStacks: readonly RegionalStack[];
  /** The edge stack (us-east-1). */
  public readonly edgeStack: EdgeStack;
  /** The security stack (us-east-1). */
  public readonly securityStack: SecurityStack;

  constructor(scope: Construct, id: string, props: TrackstackStageProps) {
    super(scope, id, props);
    this.config = props.config;
    const stacks = buildStageStacks(this, props.config, props.account ?? props.config.awsAccount);
    this.regionalStacks = stacks.regionalStacks;
    this.edgeStack = stacks.edgeStack;
    this.securityStack = stacks.securityStack;
  }
}

/** Name of the regional stacks' output that holds the ingest Function URL's host name. */
export const INGEST_ORIGIN_DOMAIN_OUTPUT = 'IngestOriginDomain';

/**
 * Outputs the host name of a regional stack's ingest Function URL, and returns a reference to it for the
 * edge stack (`Fn::GetStackOutput`, across regions). The host name is computed in the regional stack: a
 * token reference would carry only the URL and leave `Fn::Split` over `Fn::GetStackOutput` in the edge
 * template, which CloudFormation's list of functions allowed inside `Fn::Split` (and cfn-lint) do not include.
 */
export function ingestOriginDomain(stack: RegionalStack): string {
  const output = new CfnOutput(stack, INGEST_ORIGIN_DOMAIN_OUTPUT, {
    description: 'Host name of the ingest Function URL: the edge stack origin of this location',
    value: stack.ingest.functionUrlDomain,
  });
  return Fn.getStackOutput(stack.stackName, output.node.id, stack.region);
}

/**
 * The location whose stack creates the directory table: the platform's primary location, or the stage's
 * first location when a (dev) stage leaves the primary one out.
 */
export function directoryHome(config: StageConfig): Location {
  const [first] = config.locations;
  return config.locations.includes(PRIMARY_LOCATION) || first === undefined ? PRIMARY_LOCATION : first;
}

/** The `context` of the repository's `cdk.json`: the feature flags and stage configuration. */
export function readCdkJsonContext(cdkJson = join(REPO_ROOT, 'cdk.json')): Record<string, unknown> {
  const parsed = JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> };
  return parsed.context ?? {};
}
