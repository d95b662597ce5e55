/**
 * `npm run publish-config`: renders campaigns' config documents from the directory, validates them, writes
 * those that changed where the CDN serves them (the local config folder of `npm run local`, or with
 * `--stage` the edge stack's config bucket, or with `--cloud gcp` the stage's GCS config bucket), invalidates
 * the changed paths on the CDN (the distribution, or the URL map's Cloud CDN), and prints what changed.
 *
 * Exit status: 0 done; 1 failed part-way (AWS refused a call; what was written is printed); 2 bad usage or
 * a request refused before anything was written (unknown, ambiguous or inactive campaign or account).
 */
import { parseArgs } from 'node:util';
import { ID_PATTERNS, type Stage } from '../../../platform';
import { formatFieldChange } from '../../shared/campaign-config/render';
import { UsageError, checkStageOnlyFlags, cloudFlags, stageFlag } from '../../shared/cli';
import {
  PublishRefusedError,
  publishCampaigns,
  selectCampaigns,
  type PublishOutcome,
  type Selection,
} from './publish';
import { formatHome, syncHomes } from './home';
import type { GcpTargetOptions } from './gcp-target';
import { createTarget, type PublishTarget, type TargetOptions } from './target';

/** The usage text, printed by `--help` and after a mistake. */
export const USAGE = `Usage: npm run publish-config -- (<campaignId> [--account <accountId>] | --all [--account <accountId>] | --snippet) [options]

  <campaignId>              publish one campaign's config; campaign ids are unique per account only,
                            so when several accounts have it, --account says which
  --all                     publish every campaign of every active account (or of --account); removes
                            nothing
  --account <accountId>     the account of the campaign(s)
  --snippet                 with --stage: publish only the snippet's current version (every --stage
                            run also does, before the campaigns); the edge stack serves the version it
                            was deployed with, so publish a new snippet before deploying the edge stack
  --dry-run                 print what would change; write and invalidate nothing
  --data-dir <path>         the local store of npm run local (default TS_DATA_DIR or .data); the
                            documents go to <path>/config/<account>/<campaign>.json
  --stage <dev|staging|prod>
                            publish on AWS with the ambient credentials instead: read the directory
                            table (us-east-1), write the config bucket and invalidate the distribution
                            named by the edge stack's outputs (stack Trackstack-<stage>-edge, us-east-1)
  --table <name>            with --stage: the directory table (default trackstack-<stage>-directory)
  --bucket <name>           with --stage: the config bucket, instead of the edge stack's output
  --distribution-id <id>    with --stage: the distribution, instead of the edge stack's output
  --cloud <aws|gcp>         with --stage: the stage's cloud (default aws)
  --project <id>            with --cloud gcp (required there, refused otherwise): the GCP project; read
                            the Firestore directory (database trackstack-<stage>), write the config
                            bucket trackstack-<stage>-config-<project> (same object keys as on AWS) and
                            invalidate the changed paths on the URL map trackstack-<stage>-lb (Cloud
                            CDN); no home locations are written: on GCP the ingest service enforces them
  --kvs-arn <arn>           with --stage: the edge store (CloudFront KeyValueStore), instead of the
                            edge stack's output; each published account's home location (data
                            residency) is written there as home:<accountId>
                            (--bucket, --distribution-id and --kvs-arn together skip the stack: for
                            tests and for an edge deployed outside this repository)
  --help                    show this message

Exit status: 0 done, 1 failed part-way, 2 bad usage or request refused (nothing written).`;

/** What the command line asks for. */
export interface PublishArgs {
  readonly selection: Selection;
  /** Publish the snippet alone, no campaign. */
  readonly snippetOnly?: boolean;
  readonly dryRun: boolean;
  readonly dataDir: string;
  readonly stage?: Stage;
  readonly table?: string;
  readonly bucket?: string;
  readonly distributionId?: string;
  readonly kvsArn?: string;
  /** With a stage: its cloud (default aws). */
  readonly cloud?: 'aws' | 'gcp';
  /** With `--cloud gcp`: the GCP project. */
  readonly project?: string;
  readonly help?: boolean;
}

/**
 * Parses the command line.
 * @param env where the default data folder comes from (`TS_DATA_DIR`)
 * @throws UsageError naming what is wrong
 */
export function parsePublishArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): PublishArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        all: { type: 'boolean' },
        snippet: { type: 'boolean' },
        account: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'data-dir': { type: 'string' },
        stage: { type: 'string' },
        table: { type: 'string' },
        bucket: { type: 'string' },
        'distribution-id': { type: 'string' },
        'kvs-arn': { type: 'string' },
        cloud: { type: 'string' },
        project: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  const { values, positionals } = parsed;
  const dataDir = values['data-dir'] ?? (env.TS_DATA_DIR || '.data');
  if (values.help) return { selection: { kind: 'all' }, dryRun: true, dataDir, help: true };
  if (positionals.length > 1)
    throw new UsageError(
      `give one campaign id (or --all), got ${positionals.length}: ${positionals.join(' ')}`,
    );
  const campaignId = positionals[0];
  if (values.snippet) {
    if (campaignId !== undefined || values.all || values.account !== undefined)
      throw new UsageError(
        '--snippet publishes only the snippet: give it without a campaign, --all or --account',
      );
    if (values.stage === undefined)
      throw new UsageError(
        '--snippet goes only with --stage: npm run local serves the snippet from the repository',
      );
  }
  if (campaignId !== undefined && values.all)
    throw new UsageError(`give a campaign id or --all, not both (got ${campaignId} and --all)`);
  if (campaignId === undefined && !values.all && !values.snippet)
    throw new UsageError('say what to publish: <campaignId>, --all or --snippet');
  if (campaignId !== undefined && !ID_PATTERNS.campaign.test(campaignId))
    throw new UsageError(
      `not a campaign id: "${campaignId}" (cmp_ and 4 to 32 lowercase letters, digits or dashes)`,
    );
  const accountId = values.account;
  if (accountId !== undefined && !ID_PATTERNS.account.test(accountId))
    throw new UsageError(
      `--account must be an account id (acc_ and 8 to 32 lowercase letters or digits), got "${accountId}"`,
    );
  let stage: Stage | undefined;
  if (values.stage !== undefined) {
    stage = stageFlag(values.stage);
    if (values['data-dir'] !== undefined)
      throw new UsageError('--data-dir is for the local store; it cannot go with --stage');
  }
  const awsOnly = ['table', 'bucket', 'distribution-id', 'kvs-arn'];
  checkStageOnlyFlags(values, awsOnly, stage !== undefined);
  const { cloud, project } = cloudFlags(values, { stageGiven: stage !== undefined, awsOnly });
  if (values['data-dir'] !== undefined && values['data-dir'].trim() === '')
    throw new UsageError('--data-dir must not be empty');
  if (dataDir.trim() === '') throw new UsageError('TS_DATA_DIR must not be empty');
  const selection: Selection =
    campaignId !== undefined
      ? { kind: 'one', campaignId, ...(accountId ? { accountId } : {}) }
      : { kind: 'all', ...(accountId ? { accountId } : {}) };
  return {
    selection,
    snippetOnly: values.snippet === true,
    dryRun: values['dry-run'] === true,
    dataDir,
    ...(stage ? { stage } : {}),
    ...(stage ? { cloud } : {}),
    ...(project !== undefined ? { project } : {}),
    ...(values.table !== undefined ? { table: values.table } : {}),
    ...(values.bucket !== undefined ? { bucket: values.bucket } : {}),
    ...(values['distribution-id'] !== undefined ? { distributionId: values['distribution-id'] } : {}),
    ...(values['kvs-arn'] !== undefined ? { kvsArn: values['kvs-arn'] } : {}),
  };
}

/** One line per campaign: `acc_…/cmp_…  updated  countAnonymous: true → false`. */
export function formatOutcome(o: PublishOutcome): string {
  const detail = o.replacedInvalid
    ? 'replaced a stored document that was not valid'
    : o.changes.map(formatFieldChange).join(', ');
  return `  ${o.accountId}/${o.campaignId}  ${o.result}${detail ? `  ${detail}` : ''}`;
}

/** Where the CLI writes, and what tests change. */
export interface PublishIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** For tests: settings for every AWS SDK client (moto's endpoint). */
  readonly awsClientConfig?: TargetOptions['awsClientConfig'];
  /** For tests: the GCP config bucket (a stand-in). */
  readonly gcsBucket?: GcpTargetOptions['bucket'];
  /** For tests: the Compute REST requests of the CDN invalidation (a stand-in). */
  readonly computeRequest?: GcpTargetOptions['computeRequest'];
}

/** The stage's target on the cloud the arguments name, with what to close at the end. */
async function target(
  args: PublishArgs,
  io: PublishIo,
): Promise<PublishTarget & { close?: () => Promise<void> }> {
  if (args.stage && args.cloud === 'gcp') {
    const { createGcpTarget } = await import('./gcp-target');
    return createGcpTarget({
      stage: args.stage,
      project: args.project!,
      ...(io.gcsBucket ? { bucket: io.gcsBucket } : {}),
      ...(io.computeRequest ? { computeRequest: io.computeRequest } : {}),
    });
  }
  return createTarget({
    dataDir: args.dataDir,
    ...(args.stage ? { stage: args.stage } : {}),
    ...(args.table ? { table: args.table } : {}),
    ...(args.bucket ? { bucket: args.bucket } : {}),
    ...(args.distributionId ? { distributionId: args.distributionId } : {}),
    ...(args.kvsArn ? { kvsArn: args.kvsArn } : {}),
    ...(io.awsClientConfig ? { awsClientConfig: io.awsClientConfig } : {}),
  });
}

/** Runs the CLI; resolves with the exit status. */
export async function runPublishCli(argv: readonly string[], io: PublishIo): Promise<number> {
  let args: PublishArgs;
  try {
    args = parsePublishArgs(argv, io.env ?? process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout(USAGE);
    return 0;
  }

  const written: PublishOutcome[] = [];
  let close: (() => Promise<void>) | undefined;
  try {
    const t = await target(args, io);
    close = t.close;
    return await publish(args, t, io, written);
  } catch (err) {
    if (err instanceof PublishRefusedError) {
      io.stderr(`Refused, nothing was written: ${err.message}`);
      return 2;
    }
    const done = written.filter((o) => o.result !== 'unchanged');
    io.stderr(
      `publish-config failed: ${(err as Error).message}` +
        (done.length ? `\nWritten before the failure: ${done.map((o) => o.path).join(', ')}` : ''),
    );
    return 1;
  } finally {
    await close?.();
  }
}

/** Publishes to the target and reports; resolves with the exit status. */
async function publish(
  args: PublishArgs,
  target: PublishTarget,
  io: PublishIo,
  written: PublishOutcome[],
): Promise<number> {
  if (target.publishSnippet) {
    const s = await target.publishSnippet(args.dryRun);
    io.stdout(
      `Snippet ${s.key}: ${s.result === 'unchanged' ? 'already in the bucket' : args.dryRun ? 'would be uploaded (dry run)' : 'uploaded'}`,
    );
  }
  if (args.snippetOnly) return 0;
  const { accounts, campaigns } = await selectCampaigns(target.directory, args.selection);
  const outcomes = await publishCampaigns(campaigns, target.store, {
    dryRun: args.dryRun,
    onOutcome: (o) => written.push(o),
  });
  const changed = outcomes.filter((o) => o.result !== 'unchanged');
  io.stdout(
    `${args.dryRun ? 'Dry run, nothing written: would publish' : 'Published'} ${outcomes.length} campaign config(s) ` +
      `from ${target.directoryName} to ${target.store.description}`,
  );
  for (const o of outcomes) io.stdout(formatOutcome(o));
  const count = (r: PublishOutcome['result']) => outcomes.filter((o) => o.result === r).length;
  io.stdout(`${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged`);
  if (!target.invalidate) {
    io.stdout('No CDN cache to invalidate locally: npm run local serves the folder as it is.');
  } else if (args.dryRun || changed.length === 0) {
    io.stdout(`No invalidation${args.dryRun ? ' (dry run)' : ': nothing changed'}.`);
  } else {
    const id = await target.invalidate(changed.map((o) => o.path));
    io.stdout(
      `Invalidation ${id} on ${target.cdnName ?? `distribution ${target.distributionId}`} for ${changed.length} path(s).`,
    );
  }
  if (!target.edge) {
    io.stdout(
      'Home locations: not written at the GCP edge (its load balancer cannot route by account); the ingest ' +
        "service refuses a hit outside the account's home location (421) from the directory.",
    );
    return 0;
  }
  const homes = await syncHomes(target.edge, accounts, { dryRun: args.dryRun });
  const moved = homes.filter((h) => h.result !== 'unchanged');
  io.stdout(
    `Home locations in the edge store ${target.edgeName ?? ''}: ${moved.length} changed, ` +
      `${homes.length - moved.length} unchanged${args.dryRun && moved.length ? ' (dry run: not written)' : ''}`,
  );
  for (const h of moved) io.stdout(formatHome(h));
  return 0;
}

async function main(): Promise<void> {
  process.exitCode = await runPublishCli(process.argv.slice(2), {
    stdout: (t) => console.log(t),
    stderr: (t) => console.error(t),
  });
}

if (require.main === module) void main();
