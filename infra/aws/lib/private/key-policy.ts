/**
 * The statement every key of the project starts its policy with: the account's administrators manage the
 * key, and never use it.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * What the account's administrators may do with the key: manage its lifecycle and policy, never use it.
 * Listed one by one because CDK's default administrator list holds `kms:Create*`, which includes
 * `kms:CreateGrant`, and a grant is a way to give oneself `kms:Decrypt`.
 */
export const KEY_ADMIN_ACTIONS: readonly string[] = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/** The key-policy statement that lets the account (its administrators) manage the key but not use it. */
export function administratorsManageButDoNotUse(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AccountAdministratorsManageButDoNotUse',
    principals: [new iam.AccountRootPrincipal()],
    actions: [...KEY_ADMIN_ACTIONS],
    resources: ['*'],
  });
}

/**
 * The key-policy statement that lets the account's principals use the key only through DynamoDB in the
 * key's region: DynamoDB decrypts a table key with the caller's identity, so callers are allowed, but never
 * directly.
 * @param sid names what the table holds, e.g. `DirectoryTableEncryptionThroughDynamoDb`
 */
export function accountThroughDynamoDb(sid: string, account: string, region: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    principals: [new iam.AccountRootPrincipal()],
    actions: [
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey*',
      'kms:ReEncrypt*',
      'kms:CreateGrant',
    ],
    resources: ['*'],
    conditions: {
      StringEquals: {
        'kms:CallerAccount': account,
        'kms:ViaService': `dynamodb.${region}.amazonaws.com`,
      },
    },
  });
}
