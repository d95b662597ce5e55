/**
 * The compliance packs of the AWS platform (the README's AWS section, "Compliance").
 */
import type { IPolicyValidationPlugin } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { TrackstackChecks } from './trackstack-checks';

export { TrackstackChecks } from './trackstack-checks';

/**
 * One instance of every pack that guards the AWS stacks: AWS Solutions, NIST 800-53 R5, PCI DSS 3.2.1,
 * HIPAA Security and the project's own. Attach with `Validations.of(app).addPlugins(...compliancePacks(app))`.
 */
export function compliancePacks(scope: IConstruct): IPolicyValidationPlugin[] {
  return [
    new AwsSolutionsChecks(scope),
    new NIST80053R5Checks(scope),
    new PCIDSS321Checks(scope),
    new HIPAASecurityChecks(scope),
    new TrackstackChecks(scope),
  ];
}
