/**
 * Rule: no public IAM member, except the invoker of a function or service reachable only through the load
 * balancer.
 */
import type { PolicyResource, StackValidationPolicy } from '@pulumi/policy';
import { GCP_TYPES, iamGrants, isGcpIamType, lastSegment, PUBLIC_MEMBERS } from '../gcp-resources';

/** The ingress of a 2nd gen (and 1st gen) function that admits only internal traffic and the load balancer. */
export const FUNCTION_LB_INGRESS = 'ALLOW_INTERNAL_AND_GCLB';
/** The ingress of a Cloud Run v2 service that admits only internal traffic and the load balancer. */
export const RUN_LB_INGRESS = 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER';

/** Something an invoker grant can target: a function or a Cloud Run service, as the stack declares it. */
interface Target {
  /** The names an IAM resource may use for it (the function's name, the Cloud Run service behind it). */
  readonly names: readonly string[];
  readonly location: string | undefined;
  readonly project: string | undefined;
  /** Whether its ingress admits only internal traffic and the load balancer. */
  readonly behindLoadBalancer: boolean;
  readonly kind: 'function' | 'run';
}

/** How the IAM resources of one service name their target, and the one public role they may grant. */
interface IamScope {
  readonly prefix: string;
  readonly targetProp: string;
  readonly invokerRole: string;
  /** The targets the grant can reach: a function, or a Cloud Run service (a gen2 function is one too). */
  readonly targetKinds: readonly Target['kind'][];
}

const SCOPES: readonly IamScope[] = [
  {
    prefix: 'gcp:cloudfunctionsv2/',
    targetProp: 'cloudFunction',
    invokerRole: 'roles/cloudfunctions.invoker',
    targetKinds: ['function'],
  },
  {
    prefix: 'gcp:cloudfunctions/',
    targetProp: 'cloudFunction',
    invokerRole: 'roles/cloudfunctions.invoker',
    targetKinds: ['function'],
  },
  { prefix: 'gcp:cloudrunv2/', targetProp: 'name', invokerRole: 'roles/run.invoker', targetKinds: ['run'] },
  { prefix: 'gcp:cloudrun/', targetProp: 'service', invokerRole: 'roles/run.invoker', targetKinds: ['run'] },
];

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The functions and Cloud Run services of the stack, with what their ingress allows. */
function targetsOf(resources: readonly PolicyResource[]): Target[] {
  const out: Target[] = [];
  for (const { type, props } of resources) {
    const name = str(props.name);
    if (!name) continue;
    const where = { location: str(props.location), project: str(props.project) };
    if (type === GCP_TYPES.functionV2) {
      const config = (props.serviceConfig ?? {}) as { ingressSettings?: unknown; service?: unknown };
      const behindLoadBalancer = config.ingressSettings === FUNCTION_LB_INGRESS;
      out.push({ names: [lastSegment(name)], ...where, behindLoadBalancer, kind: 'function' });
      // A gen2 function runs as a Cloud Run service (named after the function unless the provider reports
      // otherwise), and its invoker may be granted there as roles/run.invoker.
      const service = str(config.service);
      out.push({ names: [lastSegment(service ?? name)], ...where, behindLoadBalancer, kind: 'run' });
    } else if (type === GCP_TYPES.functionV1) {
      const behindLoadBalancer = props.ingressSettings === FUNCTION_LB_INGRESS;
      out.push({ names: [lastSegment(name)], ...where, behindLoadBalancer, kind: 'function' });
    } else if (type === GCP_TYPES.cloudRunV2) {
      out.push({
        names: [lastSegment(name)],
        ...where,
        behindLoadBalancer: props.ingress === RUN_LB_INGRESS,
        kind: 'run',
      });
    }
  }
  return out;
}

/** Whether `target` is the one an IAM resource names (location and project compared when both give them). */
function matches(target: Target, name: string, iamProps: Record<string, unknown>): boolean {
  const location = str(iamProps.location);
  const project = str(iamProps.project);
  return (
    target.names.includes(lastSegment(name)) &&
    (!location || !target.location || location === target.location) &&
    (!project || !target.project || project === target.project)
  );
}

/** Why a public grant of `iam` is not allowed, or `undefined` when it is the load-balanced invoker. */
function refusal(iam: PolicyResource, role: string, targets: readonly Target[]): string | undefined {
  const scope = SCOPES.find((s) => iam.type.startsWith(s.prefix));
  if (!scope) return 'only the invoker of a function or Cloud Run service may be public';
  if (role !== scope.invokerRole) return `the only role that may be public here is ${scope.invokerRole}`;
  const name = str(iam.props[scope.targetProp]);
  if (!name) return `it names no ${scope.targetProp}`;
  const found = targets.filter((t) => scope.targetKinds.includes(t.kind) && matches(t, name, iam.props));
  if (found.length === 0)
    return `no function or service '${name}' of this stack is limited to the load balancer`;
  if (found.some((t) => !t.behindLoadBalancer))
    return `'${name}' accepts traffic from the internet directly: set its ingress to ${FUNCTION_LB_INGRESS} (function) or ${RUN_LB_INGRESS} (Cloud Run)`;
  return undefined;
}

/**
 * No IAM member, binding or policy of the stack grants anything to `allUsers` or `allAuthenticatedUsers`,
 * except `roles/cloudfunctions.invoker` on a function (or `roles/run.invoker` on a Cloud Run service, a 2nd
 * gen function's included) whose ingress admits only internal traffic and the load balancer. A serverless
 * NEG calls the function unauthenticated, so the load-balanced function needs that grant; it is safe only
 * while the ingress keeps the direct URL closed. The two live in different resources, hence a stack policy.
 */
export const publicInvokerThroughLoadBalancer: StackValidationPolicy = {
  name: 'gcp-public-invoker-only-through-load-balancer',
  description:
    'No allUsers/allAuthenticatedUsers IAM grant, except the invoker role on a function (ingress ALLOW_INTERNAL_AND_GCLB) or Cloud Run service (ingress INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER) reached through the load balancer.',
  enforcementLevel: 'mandatory',
  validateStack: (args, reportViolation) => {
    const targets = targetsOf(args.resources);
    for (const resource of args.resources) {
      if (!isGcpIamType(resource.type)) continue;
      for (const { role, members } of iamGrants(resource.type, resource.props)) {
        const publicMembers = members.filter((m) => PUBLIC_MEMBERS.includes(m));
        if (publicMembers.length === 0) continue;
        const why = refusal(resource, role, targets);
        if (why)
          reportViolation(
            `${resource.type.slice(resource.type.lastIndexOf(':') + 1)} '${resource.name}' grants ${role} to ` +
              `${publicMembers.join(' and ')}: ${why}. Remove the public member or route the target through the load balancer.`,
            resource.urn,
          );
      }
    }
  },
};
