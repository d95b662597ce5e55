/**
 * Shared by the CDK tests: the whole app built the way `cdk synth` builds it (cdk.json's feature flags and
 * stage configuration), in process, into a temporary directory; bare stacks holding only the constructs a
 * test file is about, wired as the regional stack wires them; templates normalized for snapshots; and
 * readers of synthesized templates (resources, policy statements, ARNs as deployed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cxapi from 'aws-cdk-lib/cx-api';
import {
  type Location,
  LOCATIONS,
  names,
  REGIONS,
  RETENTION,
  type Stage,
  type StageConfig,
} from '../../../../platform';
import { createApp, readCdkJsonContext, type TrackstackApp } from '../../../../infra/aws/lib/app';
import { AlarmTopic } from '../../../../infra/aws/lib/constructs/alarm-topic';
import { DirectoryTable, type IDirectoryTable } from '../../../../infra/aws/lib/constructs/directory-table';
import { EventStore } from '../../../../infra/aws/lib/constructs/event-store';
import { EventStream } from '../../../../infra/aws/lib/constructs/event-stream';
import { IngestService } from '../../../../infra/aws/lib/constructs/ingest-service';
import { PermissionsBoundary } from '../../../../infra/aws/lib/constructs/permissions-boundary';
import { PurgeAlarms } from '../../../../infra/aws/lib/constructs/purge-alarms';
import { type IPurgeReceipts, PurgeReceipts } from '../../../../infra/aws/lib/constructs/purge-receipts';
import { PurgeService } from '../../../../infra/aws/lib/constructs/purge-service';
import { RegionalKey } from '../../../../infra/aws/lib/constructs/regional-key';
import { awsNames } from '../../../../infra/aws/lib/naming';
import { purgeSchedule } from '../../../../infra/aws/lib/regional-stack';
import { readStageConfig, STAGES_CONTEXT_KEY } from '../../../../infra/aws/lib/stage-context';

// ---------------------------------------------------------------------------------------------------------
// The whole app
// ---------------------------------------------------------------------------------------------------------

/** A synthesized app and the template of each regional stack, by location. */
export interface SynthesizedApp extends TrackstackApp {
  /** The cloud assembly directory (removed by {@link SynthesizedApp.dispose}). */
  readonly outdir: string;
  /** Template of each regional stack, keyed by location. */
  readonly templates: Readonly<Record<string, Template>>;
  /** Template of the edge stack. */
  readonly edgeTemplate: Template;
  /** Removes the cloud assembly directory. */
  dispose(): void;
}

/**
 * Synthesizes every stack of a stage. aws-cdk-lib's built-in template validation is off (cfn-lint checks
 * the templates in `npm run synth`); the compliance packs run, and an error finding fails the synth.
 */
export function synthesizeStage(stage: Stage, context: Record<string, unknown> = {}): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), `trackstack-cdk-${stage}-`));
  const built = createApp({
    context: { ...readCdkJsonContext(), ...context, stage },
    outdir,
    builtinCloudFormationValidation: false,
  });
  built.app.synth();
  const templates: Record<string, Template> = {};
  for (const stack of built.regionalStacks) templates[stack.location] = Template.fromStack(stack);
  return {
    ...built,
    outdir,
    templates,
    edgeTemplate: Template.fromStack(built.edgeStack),
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/**
 * Synthesizes a stage with some options of its cdk.json entry replaced, without bundling functions: for
 * tests of the edge stack's variants (custom domains), which never read the functions' code. The compliance
 * packs run, and an error finding fails the synth.
 * @param options merged over the stage's cdk.json entry
 * @param outdir the cloud assembly directory, e.g. from {@link temporaryOutdir}
 */
export function synthesizeEdgeVariant(
  stage: Stage,
  options: Record<string, unknown>,
  outdir: string,
): TrackstackApp {
  const cdkJson = readCdkJsonContext();
  const stages = cdkJson[STAGES_CONTEXT_KEY] as Record<string, Record<string, unknown>>;
  const built = createApp({
    context: {
      ...cdkJson,
      ...SKIP_BUNDLING,
      [STAGES_CONTEXT_KEY]: { ...stages, [stage]: { ...stages[stage], ...options } },
      stage,
    },
    outdir,
    builtinCloudFormationValidation: false,
  });
  built.app.synth();
  return built;
}

/**
 * A template without what changes when the infrastructure does not: asset hashes and the S3 keys of
 * bundles, asset metadata, and the CDK version-reporting resource.
 */
export function normalizeTemplate(template: Template): unknown {
  const json = template.toJSON() as {
    Resources?: Record<string, { Metadata?: Record<string, unknown> }>;
    Conditions?: Record<string, unknown>;
  };
  delete json.Resources?.CDKMetadata;
  delete json.Conditions?.CDKMetadataAvailable;
  for (const resource of Object.values(json.Resources ?? {})) {
    for (const key of Object.keys(resource.Metadata ?? {})) {
      if (key.startsWith('aws:asset:')) delete resource.Metadata?.[key];
    }
  }
  return JSON.parse(JSON.stringify(json).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}

// ---------------------------------------------------------------------------------------------------------
// Bare stacks: only the constructs under test, wired as `RegionalStack` wires them
// ---------------------------------------------------------------------------------------------------------

/**
 * Context that leaves functions' code unbundled (their asset hash then comes from the construct path): for
 * tests that never read the code, and would otherwise build each bundle once more per test file. The whole
 * app ({@link synthesizeStage}) is always bundled for real.
 */
export const SKIP_BUNDLING: Record<string, unknown> = { [cxapi.BUNDLING_STACKS]: [] };

/** The stage of the bare stacks: dev, as cdk.json configures it. */
export const STAGE: Stage = 'dev';

/** The configuration of a stage, read from cdk.json's context and validated as the app reads it. */
export function stageConfig(stage: Stage = STAGE): StageConfig {
  const context: Record<string, unknown> = { ...readCdkJsonContext(), stage };
  return readStageConfig({ tryGetContext: (key) => context[key] });
}

/** A temporary directory for cloud assemblies, removed after the test file. */
export function temporaryOutdir(prefix: string): string {
  const outdir = mkdtempSync(join(tmpdir(), `trackstack-${prefix}-`));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  return outdir;
}

/**
 * An empty stack in a location's region, with cdk.json's feature flags (so constructs render exactly as
 * in the app) and, like the dev stage, no account: the account stays `AWS::AccountId`.
 */
export function bareStack(location: Location, outdir: string, id = `Bare-${location}`): Stack {
  const app = new App({ outdir, context: { ...readCdkJsonContext(), ...SKIP_BUNDLING } });
  return new Stack(app, id, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: REGIONS[location].aws },
  });
}

/** The regional key, event store and event stream of a location. */
export interface BareStorage {
  readonly stack: Stack;
  readonly key: RegionalKey;
  readonly eventStore: EventStore;
  readonly eventStream: EventStream;
}

/** The key, the event bucket (and its log bucket) and the Firehose stream into it, as in the app. */
export function bareStorage(location: Location, outdir: string, config = stageConfig()): BareStorage {
  const stack = bareStack(location, outdir);
  return { stack, ...addStorage(stack, location, config) };
}

function addStorage(stack: Stack, location: Location, config: StageConfig) {
  const { stage } = config;
  const key = new RegionalKey(stack, 'Key', { aliasName: names.keyAlias(stage, location) });
  const eventStore = new EventStore(stack, 'EventStore', {
    encryptionKey: key.key,
    bucketName: names.eventBucket(stage, location, stack.account),
  });
  const eventStream = new EventStream(stack, 'EventStream', {
    deliveryStreamName: names.eventStream(stage, location),
    destinationBucket: eventStore.bucket,
    encryptionKey: key.key,
    errorLogGroupName: awsNames.logGroup(stage, location, 'event-stream'),
    logRetentionDays: config.logRetentionDays,
  });
  return { key, eventStore, eventStream };
}

/**
 * The directory as a location sees it: in the directory home (americas), the global table with a replica
 * in each other location, each encrypted with its own region's key (named by alias); elsewhere, its replica.
 */
function addDirectory(stack: Stack, location: Location, key: RegionalKey, config: StageConfig) {
  const { stage } = config;
  const tableName = names.directoryTable(stage);
  if (location !== 'americas') {
    return { directoryTable: DirectoryTable.fromTableName(stack, 'Directory', tableName) };
  }
  const replicaKeyArns: Record<string, string> = {};
  for (const replica of config.locations.filter((l) => l !== location)) {
    replicaKeyArns[REGIONS[replica].aws] = stack.formatArn({
      service: 'kms',
      region: REGIONS[replica].aws,
      resource: 'alias',
      resourceName: names.keyAlias(stage, replica),
    });
  }
  const directory = new DirectoryTable(stack, 'Directory', {
    tableName,
    encryptionKey: key.key,
    replicaKeyArns,
    recoveryPeriodInDays: config.directoryRecoveryDays,
  });
  return { directory, directoryTable: directory as IDirectoryTable };
}

/** The directory home's key and global table. */
export function bareDirectory(
  outdir: string,
  config = stageConfig(),
): { stack: Stack; directory: DirectoryTable } {
  const stack = bareStack('americas', outdir);
  const key = new RegionalKey(stack, 'Key', { aliasName: names.keyAlias(config.stage, 'americas') });
  return { stack, directory: addDirectory(stack, 'americas', key, config).directory! };
}

/** A location's storage, its directory replica and the ingest service. */
export function bareIngest(location: Location, outdir: string, config = stageConfig()) {
  const stack = bareStack(location, outdir);
  const { stage } = config;
  const storage = addStorage(stack, location, config);
  const { directoryTable } = addDirectory(stack, location, storage.key, config);
  const ingest = new IngestService(stack, 'Ingest', {
    stage,
    location,
    encryptionKey: storage.key.key,
    eventStream: storage.eventStream,
    directoryTable,
    logGroupName: awsNames.logGroup(stage, location, 'ingest'),
    logRetentionDays: config.logRetentionDays,
    memorySize: config.ingestMemoryMb,
    reservedConcurrentExecutions: config.ingestReservedConcurrency,
  });
  return { stack, ...storage, directoryTable, ingest };
}

/**
 * A location's purge job: the key, the directory, the receipts bucket (in the directory home, with the
 * event store's log bucket for its access logs) or its reference, the purge service, its alarms and the
 * stack's permissions boundary.
 */
export function barePurge(location: Location, outdir: string, config = stageConfig()) {
  const stack = bareStack(location, outdir);
  const { stage } = config;
  const home: Location = 'americas';
  const boundary = new PermissionsBoundary(stack, 'PermissionsBoundary', {
    stage,
    location,
    locations: config.locations,
    receiptsLocation: home,
  });
  iam.PermissionsBoundary.of(stack).apply(boundary.policy);
  const storage = addStorage(stack, location, config);
  const { directoryTable } = addDirectory(stack, location, storage.key, config);
  const receiptsBucketName = names.purgeReceiptsBucket(stage, stack.account);
  let purgeReceipts: PurgeReceipts | undefined;
  let receipts: IPurgeReceipts;
  if (location === home) {
    purgeReceipts = new PurgeReceipts(stack, 'PurgeReceipts', {
      bucketName: receiptsBucketName,
      encryptionKey: storage.key.key,
      accessLogBucket: storage.eventStore.accessLogBucket,
      retentionDays: RETENTION.receiptRetentionDays,
    });
    receipts = purgeReceipts;
  } else {
    receipts = PurgeReceipts.fromBucketName(stack, 'PurgeReceipts', {
      bucketName: receiptsBucketName,
      region: REGIONS[home].aws,
      keyAlias: `alias/${names.keyAlias(stage, home)}`,
    });
  }
  const purge = new PurgeService(stack, 'Purge', {
    stage,
    location,
    locations: config.locations,
    encryptionKey: storage.key.key,
    directoryTable,
    receipts,
    receiptRetentionDays: RETENTION.receiptRetentionDays,
    schedule: purgeSchedule(location),
    logGroupName: awsNames.logGroup(stage, location, 'purge'),
    logRetentionDays: config.logRetentionDays,
  });
  purgeReceipts?.allowWriters(
    config.locations.map((l) =>
      l === location
        ? purge.function.grantPrincipal
        : new iam.ArnPrincipal(PurgeService.roleArn(stack, stage, l)),
    ),
  );
  const alarmTopic = new AlarmTopic(stack, 'AlarmTopic', { encryptionKey: storage.key.key });
  const alarms = new PurgeAlarms(stack, 'PurgeAlarms', { topic: alarmTopic.topic, purge });
  return { stack, ...storage, directoryTable, purgeReceipts, purge, alarms };
}

/** The template of each bare stack, by location. */
export function templatesByLocation(
  build: (location: Location) => { stack: Stack },
  locations: readonly Location[] = LOCATIONS,
): Record<Location, Template> {
  return Object.fromEntries(locations.map((l) => [l, Template.fromStack(build(l).stack)])) as Record<
    Location,
    Template
  >;
}

// ---------------------------------------------------------------------------------------------------------
// Reading templates
// ---------------------------------------------------------------------------------------------------------

/** The account the tests render deployed ARNs with. */
export const TEST_ACCOUNT = '123456789012';

export type Json = Record<string, unknown>;

/** A policy statement as a template holds it. */
export interface StatementJson {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The one resource of a type in the template (fails the test when there are none or several). */
export function only<T = Json>(template: Template, type: string): { id: string; props: T; resource: Json } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  const id = ids[0]!;
  const resource = found[id] as Json;
  return { id, props: resource.Properties as T, resource };
}

/** A statement's actions, as a list. */
export function actions(statement: StatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** The statements of the key policy of the template's one KMS key. */
export function keyPolicy(template: Template): StatementJson[] {
  return only<{ KeyPolicy: { Statement: StatementJson[] } }>(template, 'AWS::KMS::Key').props.KeyPolicy
    .Statement;
}

/** A `Ref` to the template's one resource of a type. */
export function ref(template: Template, type: string): { Ref: string } {
  return { Ref: only(template, type).id };
}

/** The logical id of the one resource of a type whose properties match (fails the test otherwise). */
export function logicalIdOf(template: Template, type: string, props: Json): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The function of a service (`Trackstack ingest (…)`, `Trackstack purge … (…)`). */
export function functionOf(template: Template, service: 'ingest' | 'purge'): { id: string; props: Json } {
  const id = logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp(`^Trackstack ${service} `),
  });
  return { id, props: template.toJSON().Resources[id].Properties as Json };
}

/** The statements of the customer-managed policy attached to a role. */
export function rolePolicy(template: Template, roleId: string): StatementJson[] {
  const policy = template.findResources('AWS::IAM::ManagedPolicy', {
    Properties: { Roles: [{ Ref: roleId }] },
  });
  expect(Object.keys(policy)).toHaveLength(1);
  return (Object.values(policy)[0] as { Properties: { PolicyDocument: { Statement: StatementJson[] } } })
    .Properties.PolicyDocument.Statement;
}

/** The statements of the stack's permissions boundary. */
export function boundaryOf(template: Template): StatementJson[] {
  const id = logicalIdOf(template, 'AWS::IAM::ManagedPolicy', {
    Description: Match.stringLikeRegexp('^Permissions boundary'),
  });
  return (template.toJSON().Resources[id].Properties as { PolicyDocument: { Statement: StatementJson[] } })
    .PolicyDocument.Statement;
}

/** A statement's resources, as a list. */
export function resourcesOf(statement: StatementJson): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** An IAM wildcard pattern (`*`, `?`) as a regular expression. */
export function iamPattern(pattern: string): RegExp {
  const parts = pattern
    .split(/([*?])/)
    .map((p) => (p === '*' ? '.*' : p === '?' ? '.' : p.replace(/[.+^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('')}$`);
}

/**
 * The `dynamodb:LeadingKeys` patterns under which a role's statements allow an action, sorted; `*` when a
 * statement allows it without a `ForAllValues:StringLike` condition on the partition key.
 */
export function partitionsAllowed(statements: StatementJson[], action: string): string[] {
  const patterns = statements
    .filter((s) => s.Effect === 'Allow' && actions(s).includes(action))
    .flatMap((s) => {
      const keys = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      return keys === undefined ? ['*'] : (keys as string[]);
    });
  return [...new Set(patterns)].sort();
}

/**
 * Renders a template value (an ARN built with `Fn::Join`, `Ref` and `Fn::GetAtt`) as the string it becomes
 * once deployed in `region` of account {@link TEST_ACCOUNT}; generated ids become the logical id.
 */
export function render(template: Template, value: unknown, region: string): string {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const prop = (id: string, name: string) => render(template, resources[id]!.Properties[name], region);
  const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${TEST_ACCOUNT}:${rest}`;
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: [string, string] };
  const pseudo: Record<string, string> = {
    'AWS::AccountId': TEST_ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (v.Ref !== undefined) {
    if (v.Ref in pseudo) return pseudo[v.Ref]!;
    const type = resources[v.Ref]?.Type;
    if (type === 'AWS::SecretsManager::Secret')
      return arn('secretsmanager', `secret:${prop(v.Ref, 'Name')}-AbCdEf`);
    if (type === 'AWS::Logs::LogStream') return prop(v.Ref, 'LogStreamName');
    if (type === 'AWS::DynamoDB::GlobalTable') return prop(v.Ref, 'TableName');
  }
  if (v['Fn::Join']) return v['Fn::Join'][1].map((p) => render(template, p, region)).join(v['Fn::Join'][0]);
  if (v['Fn::GetAtt']?.[1] === 'Arn') {
    const id = v['Fn::GetAtt'][0];
    switch (resources[id]?.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${prop(id, 'BucketName')}`;
      case 'AWS::KMS::Key':
        return arn('kms', `key/${id}`);
      case 'AWS::KinesisFirehose::DeliveryStream':
        return arn('firehose', `deliverystream/${prop(id, 'DeliveryStreamName')}`);
      case 'AWS::Logs::LogGroup':
        return arn('logs', `log-group:${prop(id, 'LogGroupName')}:*`);
      case 'AWS::SQS::Queue':
        return arn('sqs', prop(id, 'QueueName'));
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}
