/**
 * The whole local deploy, step by step: synth (the same as `npm run synth`), moto, `cdk bootstrap`, the
 * moto patch, `cdk deploy --all`, the inventory of what moto created, stand-ins and checks, and the data
 * path. Every step is timed; a failure stops the flow but still yields a result for the report. moto is
 * started and stopped through tooling/moto.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stage } from '../../platform';
import { assertMotoInstalled, startMoto, type MotoServer } from '../../tooling/moto';
import { timeStep, type StepTiming } from '../shared/steps';
import { synthStage, type SynthResult, type SynthesizedStack } from '../synth/synthesize';
import { cdkCliEnv, runCdk } from './cdk-cli';
import type { Check } from './check-list';
import { checkPurgeWiring, checkStack } from './checks';
import { ingestFunctions, sendHitThroughRegion, type DataPathResult } from './data-path';
import { getFunctionConfiguration, listStackResources } from './moto-clients';
import { prepareMotoAssembly, type StackPatch } from './moto-patch';
import { motoCloudFormationTypes } from './moto-types';
import type { StandIn } from './stand-ins';
import { TemplateResolver } from './template-resolver';
import { readTemplate, type DeployedStack } from './template';

/** The account moto reports (`MOTO_ACCOUNT_ID`); the stacks are synthesized for it. */
export const MOTO_ACCOUNT = '000000000000';

/** Options of {@link deployLocal}. */
export interface DeployLocalOptions {
  readonly stage: Stage;
  /** Leave moto running; the caller stops it (`result.moto.stop()`). */
  readonly keep?: boolean;
  /** Deploy the assembly as synthesized, without the moto patch (moto-patch.ts). */
  readonly unpatched?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** The CDK CLI's output as it comes. */
  readonly cliOutput?: (chunk: string) => void;
  /** Stops the CLI and moto early (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** Everything {@link deployLocal} found, for the report and the tests. */
export interface DeployLocalResult {
  readonly stage: Stage;
  readonly account: string;
  /** moto's endpoint (still running only with `keep`). */
  readonly endpoint: string;
  readonly moto?: MotoServer;
  /** With `keep`: the directory holding the synthesized and the deployed assembly; the caller removes it. */
  readonly scratchDir?: string;
  readonly synth: SynthResult;
  readonly motoTypesSource: string;
  readonly regions: readonly string[];
  readonly patches: readonly StackPatch[];
  readonly stacks: readonly DeployedStack[];
  readonly standIns: readonly StandIn[];
  readonly checks: readonly Check[];
  readonly dataPath: readonly DataPathResult[];
  readonly timings: readonly StepTiming[];
  readonly totalMs: number;
  /** Why the flow stopped early, if it did. */
  readonly failure?: string;
  /** No mismatch, no failed step, and every hit read back and decrypted. */
  readonly ok: boolean;
}

/**
 * What moto created for each stack (ListStackResources), beside its synthesized template. A resource is
 * skipped when moto lists no physical id for it, whatever the patch expected, so the report shows what
 * moto did rather than what it was supposed to do.
 */
async function inventory(
  stacks: readonly SynthesizedStack[],
  endpoint: string,
  expectedSkipped: ReadonlyMap<string, ReadonlyMap<string, string>>,
): Promise<DeployedStack[]> {
  const out: DeployedStack[] = [];
  for (const s of stacks) {
    const template = readTemplate(s.templateFile);
    const listed = await listStackResources(endpoint, s.region, s.stackName);
    const physical = new Map(listed.map((r) => [r.logicalId, r.physicalId]));
    const skipped = new Map<string, string>();
    for (const [id, r] of Object.entries(template.Resources)) if (!physical.has(id)) skipped.set(id, r.Type);
    for (const [id, type] of expectedSkipped.get(s.id) ?? []) if (!physical.has(id)) skipped.set(id, type);
    const { id, stackName, account, region } = s;
    out.push({ id, stackName, account, region, template, physical, skipped });
  }
  return out;
}

/**
 * Runs the whole local deploy. Stops moto at the end (unless `keep`), also when a step throws or the
 * signal aborts.
 * @throws only when synth itself cannot run (e.g. a ConfigError); every later failure is in the result
 */
export async function deployLocal(options: DeployLocalOptions): Promise<DeployLocalResult> {
  const log = options.log ?? (() => undefined);
  const start = performance.now();
  const timings: StepTiming[] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    if (options.signal?.aborted) throw new Error(`aborted before ${name}`);
    return timeStep(timings, name, run);
  };
  assertMotoInstalled();
  const scratch = mkdtempSync(join(tmpdir(), 'trackstack-deploy-local-'));
  const assemblyDir = join(scratch, 'assembly');
  let moto: MotoServer | undefined;
  let synth: SynthResult | undefined;
  let account = MOTO_ACCOUNT;
  let regions: string[] = [];
  let motoTypesSource = '';
  let patches: StackPatch[] = [];
  let stacks: DeployedStack[] = [];
  const standIns: StandIn[] = [];
  const checks: Check[] = [];
  const dataPath: DataPathResult[] = [];
  let failure: string | undefined;
  try {
    synth = await step('synth, cdk-nag, cfn-lint', () =>
      synthStage({ stage: options.stage, outdir: assemblyDir, account: MOTO_ACCOUNT, log }),
    );
    if (!synth.ok)
      throw new Error('synth failed (cdk-nag findings or cfn-lint errors); nothing was deployed');
    const accounts = [...new Set(synth.stacks.map((s) => s.account))];
    if (accounts.length !== 1 || !/^\d{12}$/.test(accounts[0] ?? ''))
      throw new Error(`the stacks must share one concrete account for moto; got ${accounts.join(', ')}`);
    account = accounts[0]!;
    regions = [...new Set(synth.stacks.map((s) => s.region))].sort();

    const server = await step('start moto', () => startMoto(account));
    moto = server;
    log(`moto_server ${server.endpoint} (account ${account})`);
    const cliEnv = cdkCliEnv(server.endpoint, scratch);
    const cli = { signal: options.signal, onOutput: options.cliOutput };
    const environments = regions.map((r) => `aws://${account}/${r}`);
    // --app names the synthesized assembly, so the CLI does not run the app a second time.
    await step('cdk bootstrap', () =>
      runCdk(['bootstrap', ...environments, '--app', assemblyDir, '--ci', '--no-notices'], cliEnv, cli),
    );
    log(`bootstrapped ${regions.join(', ')}`);

    const types = motoCloudFormationTypes();
    motoTypesSource = types.source;
    const deployDir = options.unpatched ? assemblyDir : join(scratch, 'assembly.moto');
    const prepared = prepareMotoAssembly(
      synth.stacks,
      assemblyDir,
      options.unpatched ? undefined : deployDir,
      types.types,
    );
    patches = prepared.patches;

    // --method=direct: with change sets, moto loses the stacks' outputs and exports (so Fn::ImportValue
    // fails) and a failed execution leaves the stack in REVIEW_IN_PROGRESS for good.
    // --no-previous-parameters: moto answers UsePreviousValue with HTTP 500 (KeyError).
    const deployArgs = ['--require-approval', 'never', '--method=direct', '--no-previous-parameters'];
    await step('cdk deploy --all', () =>
      runCdk(
        [
          'deploy',
          '--app',
          deployDir,
          '--all',
          ...deployArgs,
          '--ci',
          '--no-notices',
          '--progress',
          'events',
        ],
        cliEnv,
        cli,
      ),
    );
    log(`deployed ${synth.stacks.length} stacks`);

    stacks = await step('inventory', () => inventory(synth!.stacks, server.endpoint, prepared.skipped));
    const resolver = new TemplateResolver(stacks);
    await step('stand-ins and checks', async () => {
      for (const stack of stacks) {
        const found = await checkStack(stack, resolver, server.endpoint);
        checks.push(...found.checks);
        standIns.push(...found.standIns);
      }
      checks.push(...(await checkPurgeWiring(stacks, server.endpoint)));
    });
    await step('data path', async () => {
      for (const stack of stacks) {
        for (const name of ingestFunctions(stack)) {
          const fn = await getFunctionConfiguration(server.endpoint, stack.region, name);
          const d = await sendHitThroughRegion(stack, fn, server.endpoint, scratch);
          dataPath.push(d);
          const outcome = d.error ? `FAILED: ${d.error.split('\n')[0]}` : `→ ${d.object}`;
          log(`${d.location}: hit ${d.hitStatus} ${outcome}`);
        }
      }
    });
  } catch (err) {
    failure = (err as Error).message;
  } finally {
    if (!options.keep || failure) await moto?.stop();
    if (!options.keep || failure) rmSync(scratch, { recursive: true, force: true });
  }
  if (!synth) throw new Error(failure ?? 'synth did not run');
  const kept = options.keep && !failure;
  const ok =
    !failure &&
    checks.every((c) => c.status !== 'mismatch') &&
    dataPath.length > 0 &&
    dataPath.every((d) => !d.error && d.hitStatus === 200 && d.decrypted !== undefined);
  return {
    stage: options.stage,
    account,
    endpoint: moto?.endpoint ?? '',
    moto: kept ? moto : undefined,
    scratchDir: kept ? scratch : undefined,
    synth,
    motoTypesSource,
    regions,
    patches,
    stacks,
    standIns,
    checks,
    dataPath,
    timings,
    totalMs: performance.now() - start,
    failure,
    ok,
  };
}
