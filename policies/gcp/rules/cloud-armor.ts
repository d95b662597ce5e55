/**
 * Rule: Cloud Armor in front of every public backend.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { GCP_TYPES } from '../gcp-resources';

/** The load-balancing schemes of backends reachable from the internet. */
export const PUBLIC_SCHEMES: readonly string[] = ['EXTERNAL', 'EXTERNAL_MANAGED'];

/**
 * Every backend service of an external load balancer (`loadBalancingScheme` EXTERNAL_MANAGED, or EXTERNAL,
 * the provider's default when omitted) has a Cloud Armor `securityPolicy`; when it also serves from Cloud
 * CDN it needs an `edgeSecurityPolicy` too, because a backend policy does not see cache hits. Every backend
 * bucket with Cloud CDN has an `edgeSecurityPolicy` for the same reason.
 */
export const cloudArmorOnPublicBackends: ResourceValidationPolicy = {
  name: 'gcp-cloud-armor-on-public-backends',
  description:
    'External backend services have a Cloud Armor securityPolicy (and an edgeSecurityPolicy with CDN); CDN backend buckets have an edgeSecurityPolicy.',
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    const { props } = args;
    if (args.type === GCP_TYPES.backendService) {
      const scheme = typeof props.loadBalancingScheme === 'string' ? props.loadBalancingScheme : 'EXTERNAL';
      if (!PUBLIC_SCHEMES.includes(scheme)) return;
      if (!set(props.securityPolicy))
        reportViolation(
          `BackendService '${args.name}' is public (${scheme}) without Cloud Armor: set securityPolicy to the backend security policy.`,
        );
      if (props.enableCdn === true && !set(props.edgeSecurityPolicy))
        reportViolation(
          `BackendService '${args.name}' serves from Cloud CDN without an edge policy: set edgeSecurityPolicy (the backend policy does not see cache hits).`,
        );
    } else if (args.type === GCP_TYPES.backendBucket) {
      if (props.enableCdn === true && !set(props.edgeSecurityPolicy))
        reportViolation(
          `BackendBucket '${args.name}' serves from Cloud CDN without Cloud Armor: set edgeSecurityPolicy to an edge security policy.`,
        );
    }
  },
};

function set(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}
