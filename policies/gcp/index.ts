/**
 * The GCP policy pack's entry point for the Pulumi CLI (`pulumi preview --policy-pack policies/gcp`).
 * Constructing a PolicyPack starts the analyzer's gRPC server, so nothing imports this file: tests and the
 * program's mocks test import the rule list from `policies.ts`.
 */
import { PolicyPack } from '@pulumi/policy';
import { POLICY_PACK_NAME, policies } from './policies';

new PolicyPack(POLICY_PACK_NAME, { policies, enforcementLevel: 'mandatory' });
