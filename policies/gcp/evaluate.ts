/**
 * Evaluates the pack's policies without the Pulumi CLI, the way pulumi-policy-aws tests its own: build the
 * `ResourceValidationArgs` / `StackValidationArgs` the analyzer would pass, call `validateResource` /
 * `validateStack`, and collect what `reportViolation` receives. The rules' tests use it on hand-made
 * resources, and `npm run scan` on the resources the program registers under mocks.
 */
import type {
  Policies,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from '@pulumi/policy';

/** A resource as a test declares it: its type token, logical name and properties. */
export interface ResourceSpec {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
}

/** One violation a policy reported. */
export interface Violation {
  readonly policy: string;
  readonly message: string;
  readonly urn?: string;
}

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/** What `args.notApplicable()` throws: the analyzer records such a policy as not applicable, not violated. */
class NotApplicable extends Error {}

/** The URN the analyzer would give a resource of a stack (`test` unless named). */
export function urnOf({ type, name }: Pick<ResourceSpec, 'type' | 'name'>, stack = 'test'): string {
  return `urn:pulumi:${stack}::trackstack::${type}::${name}`;
}

function typeOf(resourceClass: unknown): string | undefined {
  return (resourceClass as { __pulumiType?: string }).__pulumiType;
}

/** The `ResourceValidationArgs` of one resource. */
export function resourceArgs(spec: ResourceSpec, stack = 'test'): ResourceValidationArgs {
  return {
    type: spec.type,
    props: spec.props,
    urn: urnOf(spec, stack),
    name: spec.name,
    opts: OPTIONS,
    stackTags: new Map(),
    isType: (cls) => typeOf(cls) === spec.type,
    asType: ((cls: unknown) =>
      typeOf(cls) === spec.type ? spec.props : undefined) as ResourceValidationArgs['asType'],
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason) => {
      throw new NotApplicable(reason);
    },
  };
}

/** The `PolicyResource` of one resource in a stack. */
function policyResource(spec: ResourceSpec, stack: string): PolicyResource {
  const args = resourceArgs(spec, stack);
  return { ...args, dependencies: [], propertyDependencies: {} };
}

/** The `StackValidationArgs` of a stack made of `specs`. */
export function stackArgs(specs: readonly ResourceSpec[], stack = 'test'): StackValidationArgs {
  return {
    resources: specs.map((spec) => policyResource(spec, stack)),
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason) => {
      throw new NotApplicable(reason);
    },
  };
}

async function collect(
  policy: string,
  run: (report: (message: string, urn?: string) => void) => Promise<void> | void,
): Promise<Violation[]> {
  const out: Violation[] = [];
  try {
    await run((message, urn) => out.push(urn === undefined ? { policy, message } : { policy, message, urn }));
  } catch (e) {
    if (!(e instanceof NotApplicable)) throw e;
  }
  return out;
}

/** The violations a resource policy reports for one resource. */
export async function validateResource(
  policy: ResourceValidationPolicy,
  spec: ResourceSpec,
  stack = 'test',
): Promise<Violation[]> {
  const validations = Array.isArray(policy.validateResource)
    ? policy.validateResource
    : policy.validateResource
      ? [policy.validateResource]
      : [];
  const out: Violation[] = [];
  for (const validate of validations)
    out.push(...(await collect(policy.name, (r) => validate(resourceArgs(spec, stack), r))));
  return out;
}

/** The violations a stack policy reports for a stack made of `specs`. */
export function validateStack(
  policy: StackValidationPolicy,
  specs: readonly ResourceSpec[],
  stack = 'test',
): Promise<Violation[]> {
  return collect(policy.name, (r) => policy.validateStack(stackArgs(specs, stack), r));
}

/**
 * The violations a whole pack reports for a stack, as `pulumi preview --policy-pack` would: every resource
 * policy on every resource, then every stack policy on the stack. Disabled policies are skipped. A resource
 * policy's violation carries the URN of the resource it was checking, as the analyzer reports it.
 */
export async function evaluatePolicies(
  policies: Policies,
  specs: readonly ResourceSpec[],
  stack = 'test',
): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const policy of policies) {
    if (policy.enforcementLevel === 'disabled') continue;
    if ('validateStack' in policy) out.push(...(await validateStack(policy, specs, stack)));
    else
      for (const spec of specs)
        out.push(
          ...(await validateResource(policy, spec, stack)).map((v) => ({
            ...v,
            urn: v.urn ?? urnOf(spec, stack),
          })),
        );
  }
  return out;
}
