/**
 * Renders the pipeline's action configurations the way cfn-lint accepts them. CodePipeline's action
 * `Configuration` is a map of strings, and cfn-lint (E3703) refuses a `Fn::Join` with an empty delimiter
 * there, which is how CDK Pipelines renders the CloudFormation execution role of each deploy action
 * (`arn:` + `AWS::Partition` + the role). The same value as `Fn::Sub` is accepted and means the same.
 */
import { Lazy, Stack } from 'aws-cdk-lib';
import type { CfnPipeline } from 'aws-cdk-lib/aws-codepipeline';

/** Rewrites every empty-delimiter `Fn::Join` of literals and `Ref`s in the pipeline's stages as `Fn::Sub`. */
export function preferSubInActionConfigurations(pipeline: CfnPipeline): void {
  const original: unknown = pipeline.stages;
  const stack = Stack.of(pipeline);
  pipeline.stages = Lazy.any({ produce: () => rewriteJoins(stack.resolve(original)) });
}

/** The value with each `{ "Fn::Join": ["", [...literals and Refs]] }` replaced by its `Fn::Sub` equivalent. */
export function rewriteJoins(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteJoins);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const join = record['Fn::Join'];
  if (Object.keys(record).length === 1 && Array.isArray(join) && join[0] === '' && Array.isArray(join[1])) {
    const parts = join[1] as unknown[];
    const sub = parts.map((p) => {
      if (typeof p === 'string') return p.includes('${') ? undefined : p;
      const ref = (p as { Ref?: unknown } | null)?.Ref;
      return typeof ref === 'string' && Object.keys(p as object).length === 1 ? `\${${ref}}` : undefined;
    });
    if (sub.every((s) => s !== undefined)) return { 'Fn::Sub': sub.join('') };
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, rewriteJoins(v)]));
}
