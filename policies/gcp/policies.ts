/**
 * The rules of the GCP policy pack, as a list: `index.ts` serves them to the Pulumi CLI, and the tests (the
 * rules' own and the program's mocks test) evaluate them directly, without the CLI or a server.
 */
import type { Policies } from '@pulumi/policy';
import { bucketAccess } from './rules/bucket-access';
import { cloudArmorOnPublicBackends } from './rules/cloud-armor';
import { cmekOnBucketsAndTopics } from './rules/cmek';
import { kmsKeyRotation } from './rules/kms-key-rotation';
import { noPrimitiveRoles } from './rules/no-primitive-roles';
import { publicInvokerThroughLoadBalancer } from './rules/public-invoker-through-load-balancer';

/** Every rule of the pack, all mandatory. */
export const policies: Policies = [
  cmekOnBucketsAndTopics,
  bucketAccess,
  kmsKeyRotation,
  noPrimitiveRoles,
  publicInvokerThroughLoadBalancer,
  cloudArmorOnPublicBackends,
];

/** The name the pack is served under (`pulumi preview --policy-pack policies/gcp` reports it). */
export const POLICY_PACK_NAME = 'trackstack-gcp';
