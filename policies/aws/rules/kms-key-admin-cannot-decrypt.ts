/**
 * Rule: no administrator can use a KMS key to decrypt, so no human role can decrypt stored events (the
 * README's AWS section, "Compliance").
 */
import { Stack, type CfnResource } from 'aws-cdk-lib';
import { CfnKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance, type NagRuleResult } from 'cdk-nag';
import { actionMatches, flatList, statementsOf, type PolicyStatementJson } from '../cfn';

/** Actions that produce or reveal plaintext, or re-wrap ciphertext under a key of the caller's choice. */
const CRYPTOGRAPHIC_ACTIONS = [
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/**
 * Services through which the account's principals may use the key: DynamoDB (the directory's table key;
 * its items are wrapped data keys, useless without the key-context-bound Decrypt of the service role). Never
 * S3 or Firehose, which hold the events.
 */
const DELEGABLE_SERVICES = /^dynamodb\.[^.]+\.amazonaws\.com$/;

/**
 * A KMS key policy lets the account (its root, meaning every IAM principal an administrator can
 * empower) or everyone (`*`) manage the key but not use it: cryptographic actions granted to them must be
 * confined by `kms:ViaService` to DynamoDB, and `kms:CreateGrant` (a grant can give
 * `kms:Decrypt`) must be confined to a service by `kms:ViaService` or `kms:GrantIsForAWSResource`.
 * Service roles and service principals named in the policy are not administrators.
 * @param node the CfnResource to check
 */
export default Object.defineProperty(
  (node: CfnResource): NagRuleResult => {
    if (!(node instanceof CfnKey)) return NagRuleCompliance.NOT_APPLICABLE;
    const policy: unknown = Stack.of(node).resolve(node.keyPolicy);
    for (const statement of statementsOf(policy)) {
      if (statement.Effect !== 'Allow' || !grantsAdministrators(statement.Principal)) continue;
      const actions = flatList(statement.Action);
      const services = viaServices(statement);
      const cryptographic = actions.some((a) => CRYPTOGRAPHIC_ACTIONS.some((c) => actionMatches(a, c)));
      if (cryptographic && (services.length === 0 || !services.every((s) => DELEGABLE_SERVICES.test(s)))) {
        return NagRuleCompliance.NON_COMPLIANT;
      }
      const createsGrants = actions.some((a) => actionMatches(a, 'kms:CreateGrant'));
      if (createsGrants && services.length === 0 && !grantIsForAwsResource(statement)) {
        return NagRuleCompliance.NON_COMPLIANT;
      }
    }
    return NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: 'KMSKeyAdminCannotDecrypt' },
);

/** Whether the principal is everyone, an account (root) or an account id: administrators' reach. */
function grantsAdministrators(principal: unknown): boolean {
  if (principal === '*') return true;
  const aws = (principal as { AWS?: unknown } | undefined)?.AWS;
  return flatList(aws).some((p) => p === '*' || /:root$/.test(p) || /^\d{12}$/.test(p));
}

/** The services a statement is confined to by `kms:ViaService`, flattened. */
function viaServices(statement: PolicyStatementJson): string[] {
  const condition = statement.Condition ?? {};
  return [
    ...flatList(condition.StringEquals?.['kms:ViaService']),
    ...flatList(condition.StringLike?.['kms:ViaService']),
  ].map((s) => s.replace(/<AWS::Region>/g, 'region'));
}

function grantIsForAwsResource(statement: PolicyStatementJson): boolean {
  const value = statement.Condition?.Bool?.['kms:GrantIsForAWSResource'];
  return value === true || value === 'true';
}
