/**
 * Compliant GCP resources, as the policy analyzer sees them, for the policy tests to start from and break
 * one property at a time.
 */
import type { ResourceSpec } from '../../../../../policies/gcp/evaluate';

/** A Cloud KMS key id as the provider reports it. */
export const KEY_ID = 'projects/p/locations/europe-west1/keyRings/trackstack/cryptoKeys/data';

/** A bucket with a customer-managed key, uniform access and public access prevention. */
export function bucket(props: Record<string, unknown> = {}, name = 'events'): ResourceSpec {
  return {
    type: 'gcp:storage/bucket:Bucket',
    name,
    props: {
      location: 'EUROPE-WEST1',
      encryption: { defaultKmsKeyName: KEY_ID },
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      ...props,
    },
  };
}

/** A topic with a customer-managed key. */
export function topic(props: Record<string, unknown> = {}): ResourceSpec {
  return { type: 'gcp:pubsub/topic:Topic', name: 'hits', props: { kmsKeyName: KEY_ID, ...props } };
}

/** A symmetric key rotated every 90 days. */
export function cryptoKey(props: Record<string, unknown> = {}): ResourceSpec {
  return {
    type: 'gcp:kms/cryptoKey:CryptoKey',
    name: 'data',
    props: {
      keyRing: 'projects/p/locations/europe-west1/keyRings/trackstack',
      rotationPeriod: '7776000s',
      purpose: 'ENCRYPT_DECRYPT',
      versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' },
      ...props,
    },
  };
}

/** A 2nd gen function reachable only through the load balancer. */
export function functionV2(
  serviceConfig: Record<string, unknown> = {},
  name = 'ingest-europe',
  location = 'europe-west1',
): ResourceSpec {
  return {
    type: 'gcp:cloudfunctionsv2/function:Function',
    name,
    props: {
      name,
      location,
      project: 'p',
      serviceConfig: { ingressSettings: 'ALLOW_INTERNAL_AND_GCLB', ...serviceConfig },
    },
  };
}

/** The unauthenticated invoker binding a load-balanced function needs. */
export function publicInvoker(
  props: Record<string, unknown> = {},
  name = 'ingest-europe-invoker',
): ResourceSpec {
  return {
    type: 'gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember',
    name,
    props: {
      cloudFunction: 'ingest-europe',
      location: 'europe-west1',
      project: 'p',
      role: 'roles/cloudfunctions.invoker',
      member: 'allUsers',
      ...props,
    },
  };
}

/** The global backend service of the external Application Load Balancer, with Cloud Armor. */
export function backendService(props: Record<string, unknown> = {}): ResourceSpec {
  return {
    type: 'gcp:compute/backendService:BackendService',
    name: 'ingest',
    props: {
      loadBalancingScheme: 'EXTERNAL_MANAGED',
      securityPolicy: 'projects/p/global/securityPolicies/trackstack',
      ...props,
    },
  };
}

/** The CDN backend bucket with an edge security policy. */
export function backendBucket(props: Record<string, unknown> = {}): ResourceSpec {
  return {
    type: 'gcp:compute/backendBucket:BackendBucket',
    name: 'static',
    props: {
      bucketName: 'trackstack-config',
      enableCdn: true,
      edgeSecurityPolicy: 'projects/p/global/securityPolicies/trackstack-edge',
      ...props,
    },
  };
}
