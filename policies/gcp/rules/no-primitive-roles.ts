/**
 * Rule: no IAM grant of a primitive role.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { iamGrants, isGcpIamType, PRIMITIVE_ROLES } from '../gcp-resources';

/**
 * No IAM member, binding or policy resource of GCP (the project's and every per-resource one: buckets,
 * topics, functions, Cloud Run services, KMS keys…) grants `roles/owner`, `roles/editor` or `roles/viewer`.
 * These roles span every service of the project; each identity gets the predefined roles of what it uses.
 */
export const noPrimitiveRoles: ResourceValidationPolicy = {
  name: 'gcp-no-primitive-roles',
  description:
    'No GCP IAM member, binding or policy grants a primitive role (roles/owner, roles/editor, roles/viewer).',
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    if (!isGcpIamType(args.type)) return;
    for (const { role, members } of iamGrants(args.type, args.props)) {
      if (PRIMITIVE_ROLES.includes(role))
        reportViolation(
          `${args.type.slice(args.type.lastIndexOf(':') + 1)} '${args.name}' grants the primitive role ${role}` +
            ` to ${members.join(', ') || 'no member'}: grant the predefined roles the identity needs instead.`,
        );
    }
  },
};
