/**
 * The release pipeline app, synthesized once, offline, with the placeholder connection: its compliance
 * (every pack, cfn-lint), its structure (synth commands, the scan's SARIF artifact, staging → smoke →
 * approval → prod, each wave deploying the stage's three regions, edge and security stack) and the
 * validation of its context. Deploying it is not exercised here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IPolicyValidationPlugin, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS, CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { ConfigError, EDGE_STACK_OUTPUTS, edgeStackName, LOCATIONS } from '../../../../platform';
import { compliancePacks } from '../../../../policies/aws';
import { readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { pipelineNames } from '../../../../infra/aws/lib/naming';
import { createPipelineApp, type PipelineApp } from '../../../../infra/aws/lib/pipeline-app';
import {
  PIPELINE_CONTEXT_KEY,
  PLACEHOLDER_CONNECTION_ARN,
  wantsPipelineApp,
} from '../../../../infra/aws/lib/pipeline-context';
import { SCAN_REPORT_DIRECTORY } from '../../../../infra/aws/lib/pipeline-stack';
import { PIPELINE_SYNTH_IMAGE } from '../../../../infra/aws/lib/constructs/pipeline/toolchain';
import { securityNames } from '../../../../infra/aws/lib/constructs/security/security-names';
import { lintTemplates } from '../../../../scripts/synth/cfn-lint';
import { EVENT_BUCKET_OUTPUT } from '../../../../scripts/smoke/smoke';
import { withEnv } from '../../../../scripts/shared/env';

const PIPELINE_ACCOUNT = '111122223333';

function context(pipeline: Record<string, unknown>): Record<string, unknown> {
  const cdkJson = readCdkJsonContext();
  return {
    ...cdkJson,
    pipeline: 'true',
    [PIPELINE_CONTEXT_KEY]: { ...(cdkJson[PIPELINE_CONTEXT_KEY] as object), ...pipeline },
  };
}

interface NagPackLike extends IPolicyValidationPlugin {
  validateScope(scope: IConstruct): PolicyValidationPluginReport;
}

interface PipelineAction {
  Name: string;
  ActionTypeId: { Category: string };
  RunOrder: number;
  Configuration?: Record<string, unknown>;
  Region?: string;
}
interface PipelineStage {
  Name: string;
  Actions: PipelineAction[];
}

let built: PipelineApp;
let outdir: string;
let template: Template;
let stages: PipelineStage[];
let templateFiles: string[];

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-pipeline-'));
  built = createPipelineApp({ context: context({ pipelineAccount: PIPELINE_ACCOUNT }), outdir });
  const assembly = await withEnv({ CDK_VALIDATION: 'false' }, () => Promise.resolve(built.app.synth()));
  template = Template.fromStack(built.pipelineStack);
  const pipeline = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as {
    Properties: { Stages: PipelineStage[] };
  };
  stages = pipeline.Properties.Stages;
  // The pipeline's own templates: its stack and CodePipeline's cross-region support stacks.
  templateFiles = new CloudAssembly(assembly.directory).stacks.map((s) => s.templateFullPath);
}, 180_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function stage(name: string): PipelineStage {
  const found = stages.find((s) => s.Name === name);
  if (!found) throw new Error(`no pipeline stage ${name}; got ${stages.map((s) => s.Name).join(', ')}`);
  return found;
}

/** The statements of a smoke step's role, other than those CDK Pipelines adds to every CodeBuild role. */
function smokeStatements(t: Template, step: string): { Action: unknown; Resource: unknown }[] {
  const policies = t.findResources('AWS::IAM::Policy');
  const policy = Object.entries(policies).find(([id]) => id.includes(step.replace('-', '')));
  const statements = (
    policy?.[1] as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }
  ).Properties.PolicyDocument.Statement;
  return statements.filter((s) => {
    const actions = ([] as unknown[]).concat(s.Action).map(String);
    return actions.some((a) => /^(sts|cloudformation):|^s3:ListBucket$/.test(a));
  });
}

function buildCommands(actionName: string): string[] {
  const projects = template.findResources('AWS::CodeBuild::Project');
  const action = stages.flatMap((s) => s.Actions).find((a) => a.Name === actionName);
  const projectRef = (action?.Configuration?.ProjectName as { Ref: string } | undefined)?.Ref;
  const project = projectRef ? projects[projectRef] : undefined;
  const spec = JSON.parse((project?.Properties as { Source: { BuildSpec: string } }).Source.BuildSpec) as {
    phases: { build: { commands: string[] } };
  };
  return spec.phases.build.commands;
}

describe('the pipeline app', () => {
  test('synthesizes offline with the placeholder connection, in the pipeline account', () => {
    expect(built.settings.placeholderConnection).toBe(true);
    const source = stage('Source').Actions[0]!;
    expect(source.Configuration).toMatchObject({
      ConnectionArn: PLACEHOLDER_CONNECTION_ARN,
      FullRepositoryId: 'trackstack/trackstack',
      BranchName: 'main',
    });
    expect(built.pipelineStack.stackName).toBe(pipelineNames.stack);
    expect(built.pipelineStack.account).toBe(PIPELINE_ACCOUNT);
  });

  test('no pack reports an unacknowledged finding on the pipeline stack or its support stacks', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
    const findings = (compliancePacks(built.app) as NagPackLike[]).flatMap((pack) =>
      pack.validateScope(built.pipelineStack).violations.map((v) => v.ruleName),
    );
    expect(findings).toEqual([]);
  });

  test('cfn-lint reports no error on the pipeline templates', () => {
    expect(templateFiles.length).toBeGreaterThanOrEqual(3);
    expect(lintTemplates(templateFiles).errors).toEqual([]);
  });

  test('the synth step runs npm ci, npm test and the scan to SARIF, then synthesizes the pipeline app', () => {
    const commands = buildCommands('Synth');
    const at = (prefix: string) => commands.findIndex((c) => c.startsWith(prefix));
    expect(at('npm ci')).toBeGreaterThanOrEqual(0);
    expect(at('npm test')).toBeGreaterThan(at('npm ci'));
    expect(at('npm run scan -- --format sarif --out reports/')).toBeGreaterThan(at('npm test'));
    expect(at('npx cdk synth -c pipeline=true')).toBeGreaterThan(at('npm run scan'));
  });

  test('the synth step installs what npm test needs, on a Debian image', () => {
    const project = Object.values(template.findResources('AWS::CodeBuild::Project')).find((p) =>
      JSON.stringify(p).includes('npm run scan'),
    ) as { Properties: { Environment: { Image: string }; Source: { BuildSpec: string } } };
    expect(project.Properties.Environment.Image).toBe(PIPELINE_SYNTH_IMAGE);
    const spec = JSON.parse(project.Properties.Source.BuildSpec) as {
      phases: { install: { commands: string[] } };
    };
    const install = spec.phases.install.commands.join('\n');
    for (const tool of [
      'chromium',
      'openjdk-17',
      'moto[server]',
      'cfn-lint',
      'pubsub-emulator',
      'firestore-emulator',
    ])
      expect(install).toContain(tool);
  });

  test('the SARIF report is an artifact of the synth step', () => {
    expect(built.pipelineStack.scanReport.producer).toBe(built.pipelineStack.synth);
    const synth = stage('Build').Actions.find((a) => a.Name === 'Synth') as unknown as {
      OutputArtifacts: { Name: string }[];
    };
    expect(synth.OutputArtifacts.map((o) => o.Name)).toEqual(
      expect.arrayContaining(['Synth_Output', `Synth_${SCAN_REPORT_DIRECTORY}`]),
    );
  });

  test('staging deploys, then the smoke check, then the approval, then prod', () => {
    const names = stages.map((s) => s.Name);
    expect(names.indexOf('staging')).toBeGreaterThan(names.indexOf('Build'));
    expect(names.indexOf('prod')).toBeGreaterThan(names.indexOf('staging'));
    const staging = stage('staging').Actions;
    const smoke = staging.find((a) => a.Name === 'Smoke-staging')!;
    expect(smoke.RunOrder).toBe(Math.max(...staging.map((a) => a.RunOrder)));
    expect(buildCommands('Smoke-staging')).toContain('npm run smoke -- --stage staging');
    const prod = stage('prod').Actions;
    const approval = prod.find((a) => a.ActionTypeId.Category === 'Approval')!;
    expect(approval.Name).toBe('PromoteToProd');
    const deploys = prod.filter((a) => a.ActionTypeId.Category === 'Deploy');
    expect(deploys.length).toBeGreaterThan(0);
    for (const d of deploys) expect(d.RunOrder).toBeGreaterThan(approval.RunOrder);
    expect(buildCommands('Smoke-prod')).toContain('npm run smoke -- --stage prod');
  });

  test.each(['staging', 'prod'] as const)(
    'the %s wave deploys the three regions, then the edge, then the security stack, by name',
    (name) => {
      const deployed = (suffix: string) =>
        stage(name)
          .Actions.filter((a) => a.Name.endsWith(suffix))
          .map((a) => ({ stack: a.Configuration?.StackName as string, runOrder: a.RunOrder }));
      const deploys = deployed('.Deploy');
      const order = (stack: string) => deploys.find((d) => d.stack === stack)?.runOrder ?? NaN;
      const regional = LOCATIONS.map((l) => `Trackstack-${name}-${l}`);
      expect(deploys.map((d) => d.stack).sort()).toEqual(
        [...regional, edgeStackName(name), securityNames.stack(name)].sort(),
      );
      for (const stack of regional) expect(order(edgeStackName(name))).toBeGreaterThan(order(stack));
      expect(order(securityNames.stack(name))).toBeGreaterThan(order(edgeStackName(name)));
      // The directory home (americas) creates the table's replicas, with the other regions' keys.
      expect(order(`Trackstack-${name}-americas`)).toBeGreaterThan(order(`Trackstack-${name}-europe`));
    },
  );
});

describe('what the smoke check reads', () => {
  test('each regional stack outputs its event bucket, and the edge stack its domain', () => {
    const stage = built.pipelineStack.stagingStage;
    for (const stack of stage.regionalStacks) Template.fromStack(stack).hasOutput(EVENT_BUCKET_OUTPUT, {});
    Template.fromStack(stage.edgeStack).hasOutput(EDGE_STACK_OUTPUTS.domainName, {});
  });

  test('in the pipeline account, the smoke role may describe the stage stacks and list the event buckets', () => {
    const statements = smokeStatements(template, 'Smoke-staging');
    expect(statements.map((s) => s.Action)).toEqual(
      expect.arrayContaining(['cloudformation:DescribeStacks', 's3:ListBucket']),
    );
    expect(JSON.stringify(statements)).not.toContain('sts:AssumeRole');
  });
});

describe('a cross-account release', () => {
  const STAGING = '444455556666';
  let crossTemplate: Template;
  let cross: PipelineApp;
  beforeAll(() => {
    cross = createPipelineApp({
      // No function bundling: this app is only read for its pipeline stack, never deployed.
      context: {
        ...context({ pipelineAccount: PIPELINE_ACCOUNT, stagingAccount: STAGING }),
        [BUNDLING_STACKS]: [],
      },
    });
    crossTemplate = Template.fromStack(cross.pipelineStack);
  }, 120_000);

  test('deploys staging into its account, prod into the pipeline account', () => {
    for (const stack of cross.pipelineStack.stagingStage.regionalStacks) expect(stack.account).toBe(STAGING);
    expect(cross.pipelineStack.prodStage.edgeStack.account).toBe(PIPELINE_ACCOUNT);
  });

  test("the staging smoke check reads through the staging account's CDK lookup role", () => {
    const role = `arn:aws:iam::${STAGING}:role/cdk-hnb659fds-lookup-role-${STAGING}-us-east-1`;
    const project = Object.values(crossTemplate.findResources('AWS::CodeBuild::Project')).find((p) =>
      JSON.stringify(p).includes('npm run smoke -- --stage staging'),
    );
    expect(JSON.stringify(project)).toContain(`npm run smoke -- --stage staging --role-arn ${role}`);
    const statements = smokeStatements(crossTemplate, 'Smoke-staging');
    expect(statements).toEqual([
      expect.objectContaining({ Action: 'sts:AssumeRole', Resource: expect.anything() }),
    ]);
  });

  test('no pack reports an unacknowledged finding', () => {
    const findings = (compliancePacks(cross.app) as NagPackLike[]).flatMap((pack) =>
      pack.validateScope(cross.pipelineStack).violations.map((v) => v.ruleName),
    );
    expect(findings).toEqual([]);
  });
});

describe('the pipeline context', () => {
  test.each([
    [{ repository: 'not a repository' }, `${PIPELINE_CONTEXT_KEY}.repository`],
    [{ connectionArn: 'arn:aws:s3:::bucket' }, `${PIPELINE_CONTEXT_KEY}.connectionArn`],
    [{ stagingAccount: '12' }, `${PIPELINE_CONTEXT_KEY}.stagingAccount`],
    [{ bogus: true }, PIPELINE_CONTEXT_KEY],
  ])('%j fails with a ConfigError naming %s', (bad, key) => {
    let error: unknown;
    try {
      createPipelineApp({ context: context({ pipelineAccount: PIPELINE_ACCOUNT, ...bad }) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(key);
  });

  test('a missing pipeline entry fails naming the key', () => {
    const { [PIPELINE_CONTEXT_KEY]: _omitted, ...rest } = readCdkJsonContext();
    expect(() => createPipelineApp({ context: rest })).toThrow(PIPELINE_CONTEXT_KEY);
  });

  test('a released stage with a bad configuration fails naming the stage key', () => {
    const cdkJson = readCdkJsonContext();
    const stages = cdkJson['trackstack:stages'] as Record<string, object>;
    const bad = {
      ...context({ pipelineAccount: PIPELINE_ACCOUNT }),
      'trackstack:stages': { ...stages, prod: { ingestMemoryMb: 'lots' } },
    };
    expect(() => createPipelineApp({ context: bad })).toThrow('trackstack:stages.prod.ingestMemoryMb');
  });

  test('-c pipeline=true (a string from the CLI) or true selects the pipeline app', () => {
    expect(wantsPipelineApp({ tryGetContext: () => 'true' })).toBe(true);
    expect(wantsPipelineApp({ tryGetContext: () => true })).toBe(true);
    expect(wantsPipelineApp({ tryGetContext: () => undefined })).toBe(false);
    expect(wantsPipelineApp({ tryGetContext: () => 'false' })).toBe(false);
  });
});
