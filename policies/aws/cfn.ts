/**
 * Reading synthesized CloudFormation from inside a cdk-nag rule.
 */
import { Stack, type CfnResource } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';

/**
 * The resource's properties as they will appear in the template, raw overrides included.
 *
 * Rules must read these rather than the L1's attributes: aspects such as `iam.PermissionsBoundary` set
 * properties through `addPropertyOverride`, which the attributes never show. `_toCloudFormation` is the
 * method CloudFormation synthesis itself calls to render the resource.
 */
export function renderedProperties(node: CfnResource): Record<string, unknown> {
  const render = (node as unknown as { _toCloudFormation(): unknown })._toCloudFormation();
  const rendered = Stack.of(node).resolve(render) as {
    Resources?: Record<string, { Properties?: Record<string, unknown> }>;
  };
  const [resource] = Object.values(rendered.Resources ?? {});
  return resource?.Properties ?? {};
}

/** A policy document statement, as CloudFormation renders it. */
export interface PolicyStatementJson {
  readonly Effect?: string;
  readonly Principal?: unknown;
  readonly Action?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a resolved policy document. */
export function statementsOf(document: unknown): PolicyStatementJson[] {
  const statements = (document as { Statement?: unknown } | undefined)?.Statement;
  if (statements === undefined) return [];
  return (Array.isArray(statements) ? statements : [statements]) as PolicyStatementJson[];
}

/** A value or list of values as a list of flat strings (references become `<LogicalId.Attr>`). */
export function flatList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => flattenCfnReference(v));
}

/** Whether an IAM action pattern (with `*` and `?` wildcards, case-insensitive) matches an action. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${regex}$`, 'i').test(action);
}
