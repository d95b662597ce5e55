/**
 * Runs the GCP Pulumi program (`infra/gcp/index.ts`) in-process under `pulumi.runtime.setMocks` and records
 * what it registers: type token, name, inputs as the engine would receive them, the parent, and the line of
 * `infra/` that declared each resource. There is no Pulumi CLI or GCP project here, so this is how both the
 * scan (`npm run scan`) and the program's tests see the resources `pulumi preview` would check.
 *
 * The program registers its resources when its module is imported, so one process runs one stack: the
 * scan starts a process per stack (gcp-stack.ts), and jest gives each test file its own module registry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../../infra/build/paths';
import { sourceLocation, type SourceLocation } from './source-location';
// The module object itself, not the read-only namespace copy that tsx makes of `import * as`: its export is
// replaced below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import runtimeResource = require('@pulumi/pulumi/runtime/resource');

/** One resource the program registered. */
export interface Registered {
  /** Type token, e.g. `gcp:storage/bucket:Bucket`. */
  readonly type: string;
  /** Pulumi name. */
  readonly name: string;
  /** Inputs with every output resolved, as the mocks saw them. */
  inputs: Record<string, unknown>;
  /** Type token and name of the parent; `undefined` for a root resource. */
  readonly parent?: { readonly type: string; readonly name: string };
  /** The resource object. */
  readonly resource: pulumi.Resource;
  /** The resources named in its `dependsOn` option. */
  readonly dependsOn: readonly pulumi.Resource[];
  /** The line of the repository's code that declared it, when the stack shows one. */
  readonly source?: SourceLocation;
}

/** The file of a stack's configuration: `Pulumi.<stack>.yaml` at the repository root. */
export function stackConfigFile(stack: string): string {
  return path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
}

/** The config of a stack file, as the Pulumi CLI hands it to the program (strings; lists and numbers as JSON). */
export function stackConfig(stack: string): Record<string, string> {
  const doc = load(fs.readFileSync(stackConfigFile(stack), 'utf8')) as { config?: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

/** Realistic ids for the resources whose id the program passes on (keys are named by their full path). */
function mockId(type: string, name: string, inputs: Record<string, unknown>): string {
  switch (type) {
    case 'gcp:kms/keyRing:KeyRing':
      return `projects/${String(inputs.project)}/locations/${String(inputs.location)}/keyRings/${String(inputs.name)}`;
    case 'gcp:kms/cryptoKey:CryptoKey':
      return `${String(inputs.keyRing)}/cryptoKeys/${String(inputs.name)}`;
    case 'gcp:pubsub/topic:Topic':
      return `projects/${String(inputs.project)}/topics/${String(inputs.name)}`;
    case 'gcp:firestore/database:Database':
      return `projects/${String(inputs.project)}/databases/${String(inputs.name)}`;
    default:
      return `${name}-id`;
  }
}

/** The mocks: every resource echoes its inputs plus an id; the lookups answer like a real project. */
const mocks: pulumi.runtime.Mocks = {
  newResource(args) {
    const state: Record<string, unknown> = { ...args.inputs };
    if (args.type === 'gcp:projects/serviceIdentity:ServiceIdentity')
      state.email = `service-123456789@gcp-sa-${String(args.inputs.service).split('.')[0]}.iam.gserviceaccount.com`;
    if (args.type === 'gcp:serviceaccount/account:Account')
      state.email = `${String(args.inputs.accountId)}@${String(args.inputs.project)}.iam.gserviceaccount.com`;
    if (args.type === 'gcp:cloudfunctionsv2/function:Function')
      state.url = `https://${String(args.inputs.name)}-abc123-uc.a.run.app`;
    if (args.type.startsWith('gcp:compute/')) state.selfLink = `https://compute.googleapis.com/${args.name}`;
    if (args.type === 'gcp:compute/globalAddress:GlobalAddress') state.address = '203.0.113.10';
    if (args.type === 'gcp:monitoring/notificationChannel:NotificationChannel')
      state.name = `projects/${String(args.inputs.project)}/notificationChannels/${args.name}`;
    return { id: mockId(args.type, args.name, args.inputs as Record<string, unknown>), state };
  },
  call(args) {
    if (args.token === 'gcp:storage/getProjectServiceAccount:getProjectServiceAccount')
      return {
        emailAddress: 'service-123456789@gs-project-accounts.iam.gserviceaccount.com',
        project: args.inputs.project,
        id: 'storage-agent',
      };
    if (args.token === 'gcp:organizations/getProject:getProject')
      return { number: '123456789', projectId: args.inputs.projectId, id: 'project' };
    throw new Error(`unexpected call ${args.token}`);
  },
};

const promiseOf = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

type RegisterResource = typeof runtimeResource.registerResource;

/**
 * Sets the mocks and the stack's config, runs `infra/gcp/index.ts` (then `extraModule`, when given, which
 * may declare more resources in the same stack), and resolves once every resource declared is registered.
 * Call it once per process (or jest module registry).
 * @throws Error when the stack file is missing or the program throws (e.g. a config error naming its key)
 */
export async function runProgram(
  stack: string,
  extraModule?: string,
): Promise<{
  resources: Registered[];
  outputs: Record<string, unknown>;
}> {
  if (!fs.existsSync(stackConfigFile(stack)))
    throw new Error(`No Pulumi stack file for stack "${stack}": ${stackConfigFile(stack)} does not exist.`);
  await pulumi.runtime.setMocks(mocks, 'trackstack', stack, false);
  pulumi.runtime.setAllConfig(stackConfig(stack));
  const seen: Registered[] = [];
  const byResource = new Map<pulumi.Resource, Registered>();
  // The mocks' newResource does not see parents or where a resource was declared, so the registration
  // itself is observed: the SDK calls it through the module's exports, which is what is replaced here.
  const original = runtimeResource.registerResource;
  (runtimeResource as { registerResource: RegisterResource }).registerResource = (
    res,
    parent,
    t,
    name,
    custom,
    remote,
    newDependency,
    props,
    opts,
    ...rest
  ) => {
    const p = parent === undefined ? undefined : byResource.get(parent);
    const dependsOn = opts.dependsOn;
    const source = sourceLocation(new Error().stack?.split('\n') ?? [], 'infra/');
    const entry: Registered = {
      type: t,
      name,
      inputs: {},
      resource: res,
      dependsOn: Array.isArray(dependsOn) ? (dependsOn as pulumi.Resource[]) : [],
      ...(p !== undefined && { parent: { type: p.type, name: p.name } }),
      ...(source !== undefined && { source }),
    };
    seen.push(entry);
    byResource.set(res, entry);
    return original(res, parent, t, name, custom, remote, newDependency, props, opts, ...rest);
  };
  const inputs = new Map<string, Record<string, unknown>>();
  const newResource = mocks.newResource.bind(mocks);
  mocks.newResource = (args) => {
    inputs.set(`${args.type}::${args.name}`, args.inputs as Record<string, unknown>);
    return newResource(args);
  };
  try {
    const program = (await import('../../infra/gcp/index')) as Record<string, unknown>;
    if (extraModule !== undefined) await import(extraModule);
    await Promise.all(seen.map((r) => promiseOf(r.resource.urn)));
    for (const r of seen) r.inputs = inputs.get(`${r.type}::${r.name}`) ?? {};
    const outputs = Object.fromEntries(
      await Promise.all(
        Object.entries(program).map(async ([k, v]) => [k, await promiseOf(pulumi.output(v))] as const),
      ),
    );
    return { resources: seen, outputs };
  } finally {
    (runtimeResource as { registerResource: RegisterResource }).registerResource = original;
    mocks.newResource = newResource;
  }
}
