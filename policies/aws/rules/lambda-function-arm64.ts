/**
 * Rule: Lambda functions run on ARM64 (the README's AWS section, "Compliance").
 */
import type { CfnResource } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NagRuleCompliance, type NagRuleResult } from 'cdk-nag';
import { renderedProperties } from '../cfn';

/**
 * Lambda functions use the `arm64` architecture, which costs less per GB-second than x86_64 for the same
 * bundle; every function of the project is a TrackstackFunction, which sets it.
 * @param node the CfnResource to check
 */
export default Object.defineProperty(
  (node: CfnResource): NagRuleResult => {
    if (!(node instanceof CfnFunction)) return NagRuleCompliance.NOT_APPLICABLE;
    const architectures = renderedProperties(node).Architectures;
    return Array.isArray(architectures) && architectures.length === 1 && architectures[0] === 'arm64'
      ? NagRuleCompliance.COMPLIANT
      : NagRuleCompliance.NON_COMPLIANT;
  },
  'name',
  { value: 'LambdaFunctionArm64' },
);
