/**
 * `npm run incident`: breach response from a terminal: open an incident, revoke (contain) a key, notify the
 * customer, issue a replacement key, close, list and show, against the local store of `npm run local` or,
 * with `--stage`, against AWS with the ambient credentials (or, with `--cloud gcp --project <id>`, the GCP
 * stage with Application Default Credentials). Every step is recorded with its actor.
 *
 * Exit status: 0 done; 1 failed (AWS refused a call, or the action took effect only in part: the message
 * says what to run next); 2 bad usage, or a request refused before anything changed.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ID_PATTERNS, LIMITS, parseIncidentEnv, type Stage } from '../../../platform';
import { UsageError, checkStageOnlyFlags, cloudFlags, stageFlag } from '../../shared/cli';
import type { ComputeRequest } from '../../shared/edge-store/armor-edge-store';
import type { EdgeStore } from '../../shared/edge-store/edge-store';
import { localActor } from './actor';
import { IncidentRefusedError } from './core/errors';
import { runCommand } from './commands';
import { CLOCK_LABEL } from './format';
import type { GcpIdentity } from './gcp-stage-env';
import { createIncidentRuntime, type IncidentRuntime } from './runtime';

const COMMON = `Options of every command:
  --data-dir <path>         the local store of npm run local (default TS_DATA_DIR or .data); it must exist
  --stage <dev|staging|prod>
                            run against AWS with the ambient credentials instead: the directory and
                            incident tables and the customer-notice topic of platform/names.ts, the edge
                            store from the edge stack's outputs (Trackstack-<stage>-edge, us-east-1);
                            the actor recorded is your AWS identity (STS GetCallerIdentity)
  --table <name>, --incident-table <name>, --kvs-arn <arn>, --topic-arn <arn>
                            with --stage on AWS: name the directory table, incident table, KeyValueStore
                            or notice topic instead (for tests, or resources deployed elsewhere)
  --cloud <aws|gcp>         with --stage: the cloud of the stage (default aws)
  --project <id>            with --cloud gcp (required there, refused otherwise): the GCP project; the
                            directory and the incidents collection in the Firestore database
                            trackstack-<stage>, the Cloud Armor policy trackstack-<stage>-ingest as the
                            edge, the Pub/Sub topic trackstack-<stage>-customer-notices; the actor
                            recorded is your Google identity (Application Default Credentials)
  --help                    show the usage of the command`;

/** Each command's usage. */
export const COMMAND_USAGE = {
  open: `Usage: npm run incident -- open --account <accountId> --summary "<text>" [--key <keyId>] [--detected-at <iso>] [--no-personal-data]

  Opens an incident and prints its id. The ${CLOCK_LABEL} starts at the detection time (now, or
  --detected-at, e.g. 2026-05-01T10:00:00Z); --no-personal-data when no personal data can be affected.`,
  'revoke-key': `Usage: npm run incident -- revoke-key <keyId> --reason "<text>" [--incident <incidentId>]

  Contains a compromised key: adds revoked:<keyId> to the edge store (the edge refuses it once the
  store propagates) and marks it revoked in the directory (every region's ingest refuses it within
  ${LIMITS.keyStatusCacheSeconds} s), then records the step on the incident given, or on a new incident for the
  key's account (its id is printed). A key already revoked is refused.`,
  notify: `Usage: npm run incident -- notify <incidentId>

  Sends the customer notice (what happened and when, which key, what was done, generate a new key,
  whom to contact) to the account's contact: the SNS customer-notice topic with --stage, the outbox
  folder <data dir>/outbox/ locally. Prints the message.`,
  'rotate-key': `Usage: npm run incident -- rotate-key <keyId> [--incident <incidentId>]

  Issues a replacement key for the key's account, printed once (only its hash is stored), and records
  it on the incident given, or on the one open incident that holds the key.`,
  close: `Usage: npm run incident -- close <incidentId> --summary "<text>"

  Closes the incident with a summary of what was resolved and what prevents a repeat.`,
  list: `Usage: npm run incident -- list [--open]

  Lists incidents, newest first, with where each stands on the ${CLOCK_LABEL}.`,
  show: `Usage: npm run incident -- show <incidentId>

  Prints the incident, its ${CLOCK_LABEL} and its timeline (each step with time and actor).`,
} as const;

/** A command of the tool. */
export type Command = keyof typeof COMMAND_USAGE;
const COMMANDS = Object.keys(COMMAND_USAGE) as Command[];

/** The tool's usage. */
export const USAGE = `Usage: npm run incident -- <command> [options]

Commands (detect → contain → notify → resolve):
  open --account <id> --summary "…" [--key <keyId>] [--detected-at <iso>]   open an incident
  revoke-key <keyId> --reason "…" [--incident <id>]                          contain a key
  notify <incidentId>                                                         tell the customer
  rotate-key <keyId> [--incident <id>]                                        issue a replacement key
  close <incidentId> --summary "…"                                            resolve
  list [--open]                                                               incidents and their clocks
  show <incidentId>                                                           timeline and clock

${COMMON}

Exit status: 0 done, 1 failed (or done in part: the message says what to run), 2 bad usage or
request refused (nothing changed).`;

/** What the command line asks for. */
export interface IncidentArgs {
  readonly command: Command;
  /** The key or incident id the command takes. */
  readonly target?: string;
  readonly account?: string;
  readonly key?: string;
  readonly summary?: string;
  readonly reason?: string;
  readonly incident?: string;
  readonly detectedAt?: string;
  readonly personalData: boolean;
  readonly openOnly: boolean;
  readonly dataDir: string;
  readonly stage?: Stage;
  readonly overrides: { table?: string; incidentTable?: string; kvsArn?: string; topicArn?: string };
  /** The stage's cloud (with a stage). */
  readonly cloud: 'aws' | 'gcp';
  /** The GCP project (with `--cloud gcp`). */
  readonly project?: string;
  readonly help?: boolean;
}

/** Which options each command takes besides the common ones. */
const OWN_OPTIONS: Readonly<Record<Command, readonly string[]>> = {
  open: ['account', 'key', 'summary', 'detected-at', 'no-personal-data'],
  'revoke-key': ['reason', 'incident'],
  notify: [],
  'rotate-key': ['incident'],
  close: ['summary'],
  list: ['open'],
  show: [],
};
/** What the command's positional argument is, if it takes one. */
const POSITIONAL: Readonly<Record<Command, 'key' | 'incident' | undefined>> = {
  open: undefined,
  'revoke-key': 'key',
  notify: 'incident',
  'rotate-key': 'key',
  close: 'incident',
  list: undefined,
  show: 'incident',
};

/**
 * Parses the command line.
 * @throws UsageError naming what is wrong (the message ends with the command's usage when it has one)
 */
export function parseIncidentArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): IncidentArgs | 'help' {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return 'help';
  if (!(COMMANDS as string[]).includes(first))
    throw new UsageError(`unknown command "${first}": one of ${COMMANDS.join(', ')}`);
  const command = first as Command;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: {
        account: { type: 'string' },
        key: { type: 'string' },
        summary: { type: 'string' },
        reason: { type: 'string' },
        incident: { type: 'string' },
        'detected-at': { type: 'string' },
        'no-personal-data': { type: 'boolean' },
        open: { type: 'boolean' },
        'data-dir': { type: 'string' },
        stage: { type: 'string' },
        table: { type: 'string' },
        'incident-table': { type: 'string' },
        'kvs-arn': { type: 'string' },
        'topic-arn': { type: 'string' },
        cloud: { type: 'string' },
        project: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`, { cause: err });
  }
  const { values, positionals } = parsed;
  const dataDir = resolve(values['data-dir'] ?? (env.TS_DATA_DIR || '.data'));
  const base = {
    command,
    personalData: true,
    openOnly: false,
    dataDir,
    overrides: {},
    cloud: 'aws' as const,
  };
  if (values.help) return { ...base, help: true };
  const given = Object.keys(values).filter((k) => values[k as keyof typeof values] !== undefined);
  const common = ['data-dir', 'stage', 'table', 'incident-table', 'kvs-arn', 'topic-arn', 'cloud', 'project'];
  const foreign = given.filter((k) => !common.includes(k) && !OWN_OPTIONS[command].includes(k));
  if (foreign.length) throw new UsageError(`${command} does not take --${foreign.join(', --')}`);
  const wants = POSITIONAL[command];
  if (positionals.length !== (wants ? 1 : 0))
    throw new UsageError(
      wants
        ? `${command} takes one ${wants === 'key' ? 'API key id' : 'incident id'}, got ${positionals.length ? positionals.join(' ') : 'none'}`
        : `${command} takes no argument, got ${positionals.join(' ')}`,
    );
  const target = positionals[0];
  const keyId = (name: string, v: string | undefined) => {
    if (v !== undefined && !ID_PATTERNS.apiKeyId.test(v))
      throw new UsageError(
        `${name} must be an API key id (16 lowercase letters or digits, the part after tsk_), got "${v}"`,
      );
  };
  const incidentId = (name: string, v: string | undefined) => {
    if (v !== undefined && !ID_PATTERNS.incident.test(v))
      throw new UsageError(
        `${name} must be an incident id (inc_<yyyymmdd>_<6 letters or digits>), got "${v}"`,
      );
  };
  if (wants === 'key') keyId('the key id', target);
  if (wants === 'incident') incidentId('the incident id', target);
  keyId('--key', values.key);
  incidentId('--incident', values.incident);
  if (command === 'open') {
    if (values.account === undefined) throw new UsageError('open needs --account <accountId>');
    if (!ID_PATTERNS.account.test(values.account))
      throw new UsageError(
        `--account must be an account id (acc_ and 8 to 32 lowercase letters or digits), got "${values.account}"`,
      );
  }
  if ((command === 'open' || command === 'close') && !values.summary?.trim())
    throw new UsageError(
      `${command} needs --summary "<text>" (what happened${command === 'close' ? ', what was done and what prevents a repeat' : ''})`,
    );
  if (command === 'revoke-key' && !values.reason?.trim())
    throw new UsageError(
      'revoke-key needs --reason "<text>" (why the key is revoked; kept in the directory and the incident)',
    );
  let stage: Stage | undefined;
  if (values.stage !== undefined) {
    stage = stageFlag(values.stage);
    if (values['data-dir'] !== undefined)
      throw new UsageError('--data-dir is for the local store; it cannot go with --stage');
  }
  const awsOnly = ['table', 'incident-table', 'kvs-arn', 'topic-arn'];
  checkStageOnlyFlags(values, awsOnly, stage !== undefined);
  const { cloud, project } = cloudFlags(values, { stageGiven: stage !== undefined, awsOnly });
  if (values['data-dir'] !== undefined && values['data-dir'].trim() === '')
    throw new UsageError('--data-dir must not be empty');
  return {
    ...base,
    ...(target !== undefined ? { target } : {}),
    ...(values.account !== undefined ? { account: values.account } : {}),
    ...(values.key !== undefined ? { key: values.key } : {}),
    ...(values.summary !== undefined ? { summary: values.summary } : {}),
    ...(values.reason !== undefined ? { reason: values.reason } : {}),
    ...(values.incident !== undefined ? { incident: values.incident } : {}),
    ...(values['detected-at'] !== undefined ? { detectedAt: values['detected-at'] } : {}),
    personalData: values['no-personal-data'] !== true,
    openOnly: values.open === true,
    ...(stage ? { stage } : {}),
    cloud,
    ...(project !== undefined ? { project } : {}),
    overrides: {
      ...(values.table !== undefined ? { table: values.table } : {}),
      ...(values['incident-table'] !== undefined ? { incidentTable: values['incident-table'] } : {}),
      ...(values['kvs-arn'] !== undefined ? { kvsArn: values['kvs-arn'] } : {}),
      ...(values['topic-arn'] !== undefined ? { topicArn: values['topic-arn'] } : {}),
    },
  };
}

/** Where the CLI writes, and what tests change. */
export interface IncidentIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** For tests: settings for every AWS SDK client (moto's endpoint). */
  readonly awsClientConfig?: Readonly<Record<string, unknown>>;
  /** For tests: the clock. */
  readonly now?: () => Date;
  /** For tests: the Compute REST requests of the Cloud Armor edge store (a stand-in). */
  readonly computeRequest?: ComputeRequest;
  /** For tests: the caller's Google identity. */
  readonly gcpIdentity?: GcpIdentity;
}

/** An edge store for commands that never write it, so they need not read the edge stack. */
const NO_EDGE: EdgeStore = {
  get: () => Promise.reject(new Error('this command does not use the edge store')),
  put: () => Promise.reject(new Error('this command does not use the edge store')),
  delete: () => Promise.reject(new Error('this command does not use the edge store')),
};

async function connect(args: IncidentArgs, io: IncidentIo): Promise<{ rt: IncidentRuntime; actor: string }> {
  const needsEdge = args.command === 'revoke-key';
  if (!args.stage) {
    // Checked, not created: a mistyped folder would otherwise read as a directory with no keys.
    const file = join(args.dataDir, 'directory.json');
    if (!(await stat(file).catch(() => undefined))?.isFile())
      throw new IncidentRefusedError(
        `the local store ${args.dataDir} has no directory file (${file}): \`npm run local\` creates it; ` +
          'point at the folder it uses with --data-dir or TS_DATA_DIR (default .data)',
      );
    const env = parseIncidentEnv({ TS_DATA_DIR: args.dataDir, TS_LOG_LEVEL: 'silent' });
    return { rt: await createIncidentRuntime(env, io.now ? { now: io.now } : {}), actor: localActor() };
  }
  if (args.cloud === 'gcp') {
    const { gcpStageTarget, googleIdentity } = await import('./gcp-stage-env');
    const target = await gcpStageTarget(args.stage, args.project!, io.gcpIdentity ?? googleIdentity);
    const rt = await createIncidentRuntime(parseIncidentEnv(target.env), {
      ...(io.now ? { now: io.now } : {}),
      ...(io.computeRequest ? { computeRequest: io.computeRequest } : {}),
      loadGcp: () => import('./gcp-adapters'),
      actor: target.actor,
      ...(needsEdge ? {} : { edge: NO_EDGE }),
    });
    return { rt, actor: target.actor };
  }
  const { stageTarget } = await import('./stage-env');
  const target = await stageTarget(args.stage, args.overrides, needsEdge, io.awsClientConfig);
  const rt = await createIncidentRuntime(parseIncidentEnv(target.env), {
    ...(io.awsClientConfig ? { awsClientConfig: io.awsClientConfig } : {}),
    ...(io.now ? { now: io.now } : {}),
    ...(needsEdge ? {} : { edge: NO_EDGE }),
  });
  return { rt, actor: target.actor };
}

/** Runs one command; resolves with the exit status. */
export async function runIncidentCli(argv: readonly string[], io: IncidentIo): Promise<number> {
  let args: IncidentArgs | 'help';
  try {
    args = parseIncidentArgs(argv, io.env ?? process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const command = argv[0] as Command;
    io.stderr(`${err.message}\n\n${COMMAND_USAGE[command] ?? USAGE}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (args.help) {
    io.stdout(`${COMMAND_USAGE[args.command]}\n\n${COMMON}`);
    return 0;
  }
  const now = io.now ?? (() => new Date());
  try {
    const { rt, actor } = await connect(args, io);
    try {
      await runCommand(args, rt, actor, { out: io.stdout, now });
    } finally {
      await rt.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof IncidentRefusedError) {
      io.stderr(`Refused, nothing was changed: ${err.message}`);
      return 2;
    }
    io.stderr(`incident ${args.command} failed: ${(err as Error).message}`);
    return 1;
  }
}

async function main(): Promise<void> {
  process.exitCode = await runIncidentCli(process.argv.slice(2), {
    stdout: (t) => console.log(t),
    stderr: (t) => console.error(t),
  });
}

if (require.main === module) void main();
