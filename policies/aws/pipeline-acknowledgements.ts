/**
 * Acknowledged compliance findings of the release pipeline (CDK Pipelines' generated CodePipeline, CodeBuild
 * projects, roles, artifact buckets and keys, in the pipeline stack and its cross-region support stacks),
 * one named helper per situation. Each names exactly one finding and gives a full-sentence reason, like
 * `acknowledgements.ts`. None of these resources ever holds a customer's event: they hold source code,
 * test reports and cloud assemblies.
 */
import { CfnResource, Stack, Stage } from 'aws-cdk-lib';
import { CfnProject } from 'aws-cdk-lib/aws-codebuild';
import { CfnPolicy, CfnRole } from 'aws-cdk-lib/aws-iam';
import { CfnKey } from 'aws-cdk-lib/aws-kms';
import { CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { acknowledge, acknowledgeInFrameworks, PACKS } from './acknowledgements';
import { flatList, renderedProperties, statementsOf, type PolicyStatementJson } from './cfn';

const GENERATED =
  'CDK Pipelines generates this resource and its policy from the pipeline definition on every synth, ';

/**
 * The pipeline's artifact buckets (in the pipeline's region and each cross-region support stack): build
 * inputs and outputs, reproducible from the commit.
 */
export function acknowledgePipelineArtifactBucket(bucket: IConstruct): void {
  const reproducible =
    'The pipeline artifact bucket holds only source archives and cloud assemblies of commits, each ' +
    'reproducible from the repository, and CodePipeline records every access to it in CloudTrail.';
  acknowledge(bucket, `${PACKS.awsSolutions}-S1`, reproducible);
  acknowledgeInFrameworks(bucket, 'S3BucketLoggingEnabled', reproducible);
  acknowledgeInFrameworks(
    bucket,
    'S3BucketReplicationEnabled',
    'The pipeline artifact bucket holds only build artifacts that the next run of the pipeline recreates ' +
      'from the repository, so replicating it to another region would protect nothing.',
  );
}

/** The customer-managed keys of the artifact buckets, which CodePipeline creates with the default key policy. */
export function acknowledgePipelineArtifactKey(key: IConstruct): void {
  acknowledge(
    key,
    'Trackstack-KMSKeyAdminCannotDecrypt',
    'This key encrypts only pipeline artifacts (source archives and cloud assemblies, never customer ' +
      'events), and CodePipeline gives it the account-wide default key policy so that the cross-account ' +
      'deployment roles can read the artifacts.',
  );
}

/** A CodeBuild project of the pipeline, whose source is always a CodePipeline artifact. */
export function acknowledgePipelineProject(project: IConstruct): void {
  acknowledgeInFrameworks(
    project,
    'CodeBuildProjectSourceRepoUrl',
    'The project takes its source from a CodePipeline artifact, fetched through the CodeConnections ' +
      'connection, so no repository URL and no credential is stored in the project.',
    [PACKS.pci, PACKS.hipaa],
  );
}

/** The synth step's project, which builds on a Debian image rather than one of CodeBuild's. */
export function acknowledgePipelineSynthImage(project: IConstruct): void {
  acknowledge(
    project,
    `${PACKS.awsSolutions}-CB5`,
    'The synth step runs the whole test suite, whose browser tests drive Debian’s Chromium, which ' +
      'CodeBuild’s Ubuntu and Amazon Linux images do not provide; the image is the official node image ' +
      'of Debian bookworm, pulled from the Amazon ECR Public mirror of Docker Official Images.',
  );
}

/** A role of the pipeline (pipeline, action, CodeBuild, asset publishing and self-mutation roles). */
export function acknowledgePipelineRole(role: IConstruct): void {
  acknowledge(
    role,
    'Trackstack-IAMRoleHasPermissionsBoundary',
    `${GENERATED}and what a deployment may change is bounded in each target account by the CDK ` +
      'bootstrap roles it assumes and their --cloudformation-execution-policies, not by this role.',
  );
}

/** The inline policy of a pipeline role: generated, so each wildcard finding is acknowledged as rendered. */
export function acknowledgePipelineRolePolicy(policy: CfnPolicy): void {
  acknowledgeInFrameworks(
    policy,
    'IAMNoInlinePolicy',
    `${GENERATED}as an inline policy of the one role it belongs to, so it cannot be attached elsewhere.`,
  );
  const document = Stack.of(policy).resolve(renderedProperties(policy).PolicyDocument);
  const findings = new Map<string, string>();
  // cfn.ts's statement type leaves out Resource, which only these acknowledgements read.
  for (const statement of statementsOf(document) as (PolicyStatementJson & { Resource?: unknown })[]) {
    for (const action of flatList(statement.Action).filter((a) => a.includes('*')))
      findings.set(`Action::${action}`, wildcardActionReason(action));
    for (const resource of flatList(statement.Resource).filter((r) => r.includes('*')))
      findings.set(`Resource::${resource}`, wildcardResourceReason(resource));
  }
  for (const [finding, reason] of findings)
    acknowledge(policy, `${PACKS.awsSolutions}-IAM5[${finding}]`, reason);
}

/** Why CDK Pipelines' wildcard action groups are acceptable. */
function wildcardActionReason(action: string): string {
  if (action.startsWith('kms:'))
    return `${GENERATED}granting ${action} as part of the artifact keys' encrypt and decrypt grant, on those keys only.`;
  return (
    `${GENERATED}granting ${action} as part of the artifact buckets' read or read-write grant, on those ` +
    'buckets and their objects only.'
  );
}

/** Why CDK Pipelines' wildcard resources are acceptable. */
function wildcardResourceReason(resource: string): string {
  if (resource === '*')
    return (
      `${GENERATED}with a wildcard resource only where the target cannot be named at synth: the artifact ` +
      'keys of the other regions, the stacks and buckets the self-mutation reads before updating the ' +
      'pipeline, and the builds of the asset publishing projects.'
    );
  if (resource.includes(':log-group:'))
    return `${GENERATED}naming the project's own log group; the wildcard is the log stream CodeBuild creates per build.`;
  if (resource.includes(':report-group/'))
    return `${GENERATED}naming the report groups by the project's name; the wildcard is the report group's suffix.`;
  if (resource.includes(':iam::'))
    return (
      `${GENERATED}letting the self-mutation assume the CDK bootstrap roles, restricted by the ` +
      'aws-cdk:bootstrap-role tag condition to the publishing and deploy roles.'
    );
  if (resource.includes(':cloudformation:'))
    return (
      'The smoke check reads the outputs of one stage stack named in full; CloudFormation appends a ' +
      'generated id to every stack ARN, which the wildcard stands for.'
    );
  return `${GENERATED}naming the objects of an artifact bucket, whose keys CodePipeline generates per run.`;
}

/**
 * Every acknowledgement of the pipeline: the pipeline stack's own resources (not those of the stages it
 * deploys, which carry their own) and the cross-region support stacks CodePipeline adds to the app.
 * Call after `buildPipeline()`, when the generated resources exist.
 */
export function acknowledgePipeline(pipelineStack: IConstruct): void {
  const stage = Stage.of(pipelineStack);
  const supportStacks = (stage?.node.children ?? []).filter((c) =>
    c.node.id.startsWith('cross-region-stack-'),
  );
  for (const scope of [pipelineStack, ...supportStacks]) {
    for (const c of scope.node.findAll()) {
      // The deployed stages are nested in the pipeline stack's tree but are stages of their own.
      if (!CfnResource.isCfnResource(c) || Stage.of(c) !== stage) continue;
      if (c instanceof CfnBucket) acknowledgePipelineArtifactBucket(c);
      else if (c instanceof CfnKey) acknowledgePipelineArtifactKey(c);
      else if (c instanceof CfnProject) acknowledgePipelineProject(c);
      else if (c instanceof CfnRole) acknowledgePipelineRole(c);
      else if (c instanceof CfnPolicy) acknowledgePipelineRolePolicy(c);
    }
  }
}
