/**
 * Rule: every IAM role carries a permissions boundary (the README's AWS section, "Stacks" and "Compliance").
 */
import type { CfnResource } from 'aws-cdk-lib';
import { CfnRole } from 'aws-cdk-lib/aws-iam';
import { NagRuleCompliance, type NagRuleResult } from 'cdk-nag';
import { renderedProperties } from '../cfn';

/**
 * IAM roles have a permissions boundary, so that no policy attached to a role, now or later, can give it
 * more than the boundary allows. Read from the rendered template, because `iam.PermissionsBoundary`
 * applies the boundary as a property override.
 * @param node the CfnResource to check
 */
export default Object.defineProperty(
  (node: CfnResource): NagRuleResult => {
    if (!(node instanceof CfnRole)) return NagRuleCompliance.NOT_APPLICABLE;
    const boundary = renderedProperties(node).PermissionsBoundary;
    return boundary === undefined || boundary === ''
      ? NagRuleCompliance.NON_COMPLIANT
      : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: 'IAMRoleHasPermissionsBoundary' },
);
