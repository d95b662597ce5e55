/**
 * Rule: KMS keys survive their stack.
 */
import { CfnDeletionPolicy, type CfnResource } from 'aws-cdk-lib';
import { CfnKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance, type NagRuleResult } from 'cdk-nag';

/**
 * KMS keys have the deletion and update-replace policy `Retain`: removing a key from a stack, or a change
 * that replaces it, would otherwise schedule its deletion and, once the waiting period ends, make every
 * event and data key it protects unreadable. Destroying a key must be a deliberate act.
 * @param node the CfnResource to check
 */
export default Object.defineProperty(
  (node: CfnResource): NagRuleResult => {
    if (!(node instanceof CfnKey)) return NagRuleCompliance.NOT_APPLICABLE;
    const { deletionPolicy, updateReplacePolicy } = node.cfnOptions;
    return deletionPolicy === CfnDeletionPolicy.RETAIN && updateReplacePolicy === CfnDeletionPolicy.RETAIN
      ? NagRuleCompliance.COMPLIANT
      : NagRuleCompliance.NON_COMPLIANT;
  },
  'name',
  { value: 'KMSKeyRetained' },
);
