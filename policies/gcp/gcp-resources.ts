/**
 * What the GCP rules share: the type tokens they check and the reading of IAM resources (role, members,
 * policy data), so every rule sees an IAM grant the same way whatever its resource type.
 */

/** Pulumi type tokens of the resources the rules inspect. */
export const GCP_TYPES = {
  bucket: 'gcp:storage/bucket:Bucket',
  topic: 'gcp:pubsub/topic:Topic',
  cryptoKey: 'gcp:kms/cryptoKey:CryptoKey',
  backendService: 'gcp:compute/backendService:BackendService',
  backendBucket: 'gcp:compute/backendBucket:BackendBucket',
  functionV2: 'gcp:cloudfunctionsv2/function:Function',
  functionV1: 'gcp:cloudfunctions/function:Function',
  cloudRunV2: 'gcp:cloudrunv2/service:Service',
} as const;

/** The member strings that make a grant public: anyone on the internet, or any Google account. */
export const PUBLIC_MEMBERS: readonly string[] = ['allUsers', 'allAuthenticatedUsers'];

/** The basic roles that grant broad access to every service of a project or resource. */
export const PRIMITIVE_ROLES: readonly string[] = ['roles/owner', 'roles/editor', 'roles/viewer'];

/** One role and the members it is granted to, as read from an IAM member, binding or policy resource. */
export interface IamGrant {
  readonly role: string;
  readonly members: readonly string[];
}

// Type names differ in case across the provider (`IamMember`, `IAMMember`, `BucketIAMBinding`): match the
// last segment of the token case-insensitively.
const IAM_TYPE = /:[A-Za-z]*iam(member|binding|policy)$/i;

/** Whether a type token is a GCP IAM member, binding or policy resource (project or per-resource). */
export function isGcpIamType(type: string): boolean {
  return type.startsWith('gcp:') && IAM_TYPE.test(type);
}

/**
 * The grants an IAM resource makes: its `role` with `member` or `members`, or for a policy resource the
 * bindings of its `policyData` JSON. A policy whose data is not valid JSON yields no grants (the provider
 * rejects it at deployment anyway).
 */
export function iamGrants(type: string, props: Record<string, unknown>): IamGrant[] {
  const kind = IAM_TYPE.exec(type)?.[1]?.toLowerCase();
  if (kind === 'member' && typeof props.role === 'string' && typeof props.member === 'string')
    return [{ role: props.role, members: [props.member] }];
  if (kind === 'binding' && typeof props.role === 'string')
    return [{ role: props.role, members: strings(props.members) }];
  if (kind === 'policy' && typeof props.policyData === 'string') return policyGrants(props.policyData);
  return [];
}

function policyGrants(policyData: string): IamGrant[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policyData);
  } catch {
    return [];
  }
  const bindings = (parsed as { bindings?: unknown } | null)?.bindings;
  if (!Array.isArray(bindings)) return [];
  return bindings.flatMap((b: { role?: unknown; members?: unknown }) =>
    typeof b?.role === 'string' ? [{ role: b.role, members: strings(b.members) }] : [],
  );
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The last segment of a resource name or id (`projects/p/locations/l/functions/f` → `f`). */
export function lastSegment(nameOrId: string): string {
  return nameOrId.slice(nameOrId.lastIndexOf('/') + 1);
}
