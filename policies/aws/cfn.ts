/**
 * Reading synthesized CloudFormation from inside a cdk-nag rule.
 */
import { Stack, type CfnResource } from 'aws-cdk-lib';

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
  return (Array.isArray(value) ? value : [value]).map((v) => flattenReference(v));
}

/**
 * A resolved CloudFormation value as one flat string, the way cdk-nag writes it into finding ids such as
 * `AwsSolutions-IAM5[Resource::<Bucket1234.Arn>/*]`: `Fn::Join` joined, `Fn::Sub` with `${…}` written
 * `<…>`, `Ref` as `<LogicalId>`, `Fn::GetAtt` as `<LogicalId.Attribute>`, `Fn::ImportValue` as its name,
 * anything else as JSON.
 *
 * cdk-nag does this in a module it does not export (`lib/utils/flatten-cfn-reference`), so it is written
 * out here rather than imported from its internals, which any release may move. Finding ids must match
 * cdk-nag's exactly for an acknowledgement to apply: test/unit/infra/aws/cfn.test.ts compares the two on
 * real findings, and the compliance test fails on any acknowledgement that no longer silences a finding.
 */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const intrinsic = value as Record<string, unknown>;
    if (intrinsic['Fn::Join']) {
      const [delimiter, items] = intrinsic['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (intrinsic['Fn::Sub']) return flattenReference(intrinsic['Fn::Sub']);
    if (intrinsic['Fn::GetAtt']) {
      const [resource, attribute] = intrinsic['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (intrinsic['Fn::ImportValue']) return flattenReference(intrinsic['Fn::ImportValue']);
    if (intrinsic.Ref) return `<${flattenReference(intrinsic.Ref)}>`;
  }
  return JSON.stringify(value);
}

/** Whether an IAM action pattern (with `*` and `?` wildcards, case-insensitive) matches an action. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${regex}$`, 'i').test(action);
}
