/**
 * The edge's KMS key: encrypts the config bucket (the snippet and the published campaign configs) and the
 * CDN's access logs, in us-east-1.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { administratorsManageButDoNotUse } from '../../private/key-policy';

/** Properties of {@link EdgeKey}. */
export interface EdgeKeyProps {
  /** The alias name without the `alias/` prefix, e.g. `trackstack/dev/edge`. */
  readonly aliasName: string;
  /**
   * Waiting period before a scheduled deletion completes.
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;
}

/**
 * A customer-managed key (rotation on, retained) whose policy lets the account's administrators manage it
 * but not use it, like the regional keys. Each user is added by the construct that needs it, naming the
 * principal: CloudFront for one distribution and the config bucket's publishers (`ConfigBucket`), and
 * CloudFront's log delivery (`EdgeLogBuckets`).
 */
export class EdgeKey extends Construct {
  /** The key. */
  public readonly key: kms.Key;
  /** The alias `alias/<aliasName>`. */
  public readonly alias: kms.IAlias;

  constructor(scope: Construct, id: string, props: EdgeKeyProps) {
    super(scope, id);
    const policy = new iam.PolicyDocument({
      statements: [administratorsManageButDoNotUse()],
    });
    this.key = new kms.Key(this, 'Key', {
      description: `Trackstack edge key (alias/${props.aliasName}): config bucket and CDN access logs`,
      enableKeyRotation: true,
      policy,
      pendingWindow: props.pendingWindow ?? Duration.days(30),
      // The published configs can be rebuilt, but the access logs cannot: deleting the key is a decision.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.alias = this.key.addAlias(`alias/${props.aliasName}`);
  }
}
