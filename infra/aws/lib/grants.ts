/**
 * Grants with statement ids, for the `grant*` methods of the project's constructs.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

/** What {@link grantOnPrincipal} grants: `iam.Grant.addToPrincipal`'s options and the statement's id. */
export interface NamedGrantOptions {
  /** The statement id: says what the permission is for, in the grantee's policy. */
  readonly sid: string;
  /** The actions, each one the grantee's code calls. */
  readonly actions: string[];
  /** The resources, as narrow as the grantee's use of them. */
  readonly resourceArns: string[];
  /**
   * Conditions that narrow the grant further.
   * @default - none
   */
  readonly conditions?: Record<string, Record<string, unknown>>;
}

/**
 * Adds one statement to the grantee's identity policy, as `iam.Grant.addToPrincipal` does, and names it.
 * The id documents the statement and keeps it whole: the `@aws-cdk/aws-iam:minimizePolicies` flag merges
 * statements without one, and a merged statement could no longer be found (or reviewed) by its purpose.
 */
export function grantOnPrincipal(grantee: iam.IGrantable, options: NamedGrantOptions): iam.Grant {
  const { sid, ...grant } = options;
  return withSid(sid, iam.Grant.addToPrincipal({ grantee, ...grant }));
}

/**
 * Names the one statement that a grant added to its grantee's policy (see {@link grantOnPrincipal}).
 * @throws Error when the grant added more than one statement, which would share the id
 */
export function withSid(sid: string, grant: iam.Grant): iam.Grant {
  if (grant.principalStatements.length > 1) {
    throw new Error(`withSid(${sid}): the grant added ${grant.principalStatements.length} statements`);
  }
  for (const statement of grant.principalStatements) statement.sid = sid;
  return grant;
}
