/**
 * The regional KMS key: the master key of one location, wrapping the per-account data keys and encrypting
 * everything the location stores at rest.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { accountThroughDynamoDb, administratorsManageButDoNotUse } from '../private/key-policy';

export { KEY_ADMIN_ACTIONS } from '../private/key-policy';

/** Properties of {@link RegionalKey}. */
export interface RegionalKeyProps {
  /** The alias name without the `alias/` prefix, e.g. `names.keyAlias(stage, location)`. */
  readonly aliasName: string;
  /**
   * Description shown in the KMS console.
   * @default - a description naming the alias
   */
  readonly description?: string;
  /**
   * Waiting period before a scheduled deletion completes.
   * @default Duration.days(30), the longest KMS allows: deleting the key shreds every event of the region
   */
  readonly pendingWindow?: Duration;
}

/**
 * A customer-managed KMS key with rotation on, an alias, and a key policy written out in full: the account
 * (its administrators) may manage the key but not use it, DynamoDB may use it for the directory's
 * replica, and every other user is added by the construct that needs it, naming the role or service.
 *
 * No human role can decrypt stored events (the README's Compliance section; the project's own rule
 * `KMSKeyAdminCannotDecrypt` checks it): the only principals allowed cryptographic use are
 * service roles, services acting for this account through DynamoDB, and service
 * principals bound to this account's resources.
 */
export class RegionalKey extends Construct {
  /** The key. */
  public readonly key: kms.Key;
  /** The alias `alias/<aliasName>`. */
  public readonly alias: kms.IAlias;

  constructor(scope: Construct, id: string, props: RegionalKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const policy = new iam.PolicyDocument({
      statements: [
        administratorsManageButDoNotUse(),
        // DynamoDB decrypts the table key with the caller's identity (and re-checks IAM every few
        // minutes), so the account's principals are allowed, but only through DynamoDB in this region.
        // The directory holds wrapped data keys, which are useless without the key-context-bound Decrypt
        // that only the ingest role has.
        accountThroughDynamoDb('DirectoryTableEncryptionThroughDynamoDb', stack.account, stack.region),
      ],
    });

    this.key = new kms.Key(this, 'Key', {
      description: props.description ?? `Trackstack regional master key (alias/${props.aliasName})`,
      enableKeyRotation: true,
      policy,
      pendingWindow: props.pendingWindow ?? Duration.days(30),
      // Losing the key loses every event of the region; deleting it is a decision, never a side effect.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.alias = this.key.addAlias(`alias/${props.aliasName}`);
  }
}
