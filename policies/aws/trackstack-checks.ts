/**
 * The project's own cdk-nag pack, attached to every stack beside the AWS Solutions, NIST 800-53 R5,
 * PCI DSS 3.2.1 and HIPAA Security packs.
 */
import type { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, type NagPackProps } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import iamRoleHasPermissionsBoundary from './rules/role-has-permissions-boundary';
import kmsKeyAdminCannotDecrypt from './rules/kms-key-admin-cannot-decrypt';
import kmsKeyRetained from './rules/kms-key-retained';
import lambdaFunctionArm64 from './rules/lambda-function-arm64';

/**
 * Trackstack's promises as rules: administrators cannot decrypt, every role has a permissions boundary,
 * keys are never deleted as a side effect, functions run on ARM64. Rule ids are `Trackstack-<RuleName>`.
 */
export class TrackstackChecks extends NagPack {
  /** The plugin's name in CDK's validation report. */
  public readonly name = 'Trackstack';

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = 'Trackstack';
  }

  protected checkResource(node: CfnResource): void {
    this.applyRule({
      info: 'The KMS key policy lets administrators decrypt: account-wide or public principals get cryptographic actions outside DynamoDB, or unconfined kms:CreateGrant.',
      explanation:
        'No human role may decrypt stored events. Administrators manage keys; only service roles, and services acting through kms:ViaService for data that holds no events, use them.',
      level: NagMessageLevel.ERROR,
      rule: kmsKeyAdminCannotDecrypt,
      node,
    });
    this.applyRule({
      info: 'The IAM role has no permissions boundary.',
      explanation:
        'Every role the platform creates carries the stack’s permissions boundary, so that no policy can grant it more than the services the platform uses.',
      level: NagMessageLevel.ERROR,
      rule: iamRoleHasPermissionsBoundary,
      node,
    });
    this.applyRule({
      info: 'The KMS key is not retained when removed from its stack or replaced.',
      explanation:
        'Deleting a key makes everything encrypted with it unreadable; destroying a regional key must be a deliberate act, not a side effect of a deployment.',
      level: NagMessageLevel.ERROR,
      rule: kmsKeyRetained,
      node,
    });
    this.applyRule({
      info: 'The Lambda function does not run on arm64.',
      explanation: 'Functions run on ARM64 for cost; use TrackstackFunction for every function.',
      level: NagMessageLevel.ERROR,
      rule: lambdaFunctionArm64,
      node,
    });
  }
}
