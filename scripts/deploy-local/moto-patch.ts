/**
 * The moto patch: moto 5.2's CloudFormation cannot deploy the synthesized templates as they are, so
 * deploy:local deploys a copy of the cloud assembly adjusted where moto would fail, and reports every
 * adjustment. Nothing that moto would honour is changed; `--unpatched` skips all of this.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SynthesizedStack } from '../synth/synthesize';
import { MOTO_NULL_TYPE, skippedGetAtt, skippedRef } from './moto-types';
import { getAttParts, readTemplate, type CfnTemplate, type StackPlace } from './template';

/** One change {@link patchTemplateForMoto} made, for the report. */
export interface MotoPatch {
  readonly logicalId: string;
  readonly type: string;
  /** What changed and why. */
  readonly change: string;
}

/** Result of {@link patchTemplateForMoto}. */
export interface PatchedTemplate {
  readonly template: CfnTemplate;
  readonly patches: readonly MotoPatch[];
  /** Resources moto's CloudFormation will not create: logical id → type. */
  readonly skipped: ReadonlyMap<string, string>;
}

/**
 * Adjusts a template so that moto's CloudFormation can deploy it, changing nothing that moto would honour:
 * - `Ref` and `Fn::GetAtt` (also inside `Fn::Sub`) to a resource of a type moto skips become the literal
 *   value AWS would return (name, ARN built from the name) — moto fails the whole stack on a GetAtt to a
 *   skipped resource ("Template error: instance of Fn::GetAtt references undefined resource") and silently
 *   drops any property whose Ref points at one.
 * - `Custom::*` resources become no-ops: moto would invoke their provider Lambda in Docker and the stack
 *   would wait forever for the response.
 * - A KMS key's `KeyPolicy` object is wrapped in `Fn::ToJsonString`: moto keeps an object policy as a
 *   dict and then fails DescribeKey (HTTP 500) on the key.
 * - `Fn::GetStackOutput` (the app's weak cross-stack references), which moto does not know, becomes the
 *   producer's output when `outputOf` knows it as a literal (see {@link prepareMotoAssembly}); moto would
 *   keep the object as it is, and IAM refuses a policy whose resource is an object.
 */
export function patchTemplateForMoto(
  template: CfnTemplate,
  place: StackPlace,
  supportedTypes: ReadonlySet<string>,
  outputOf: (stackName: string, outputName: string) => string | undefined = () => undefined,
): PatchedTemplate {
  const out = structuredClone(template);
  const patches: MotoPatch[] = [];
  const skipped = new Map<string, string>();
  const stubbed = new Set<string>();
  for (const [id, r] of Object.entries(out.Resources)) {
    if (r.Type.startsWith('Custom::')) stubbed.add(id);
    else if (!supportedTypes.has(r.Type) && r.Type !== MOTO_NULL_TYPE) skipped.set(id, r.Type);
  }
  const original = template.Resources;
  const seen = new Set<string>();
  const note = (logicalId: string, change: string) => {
    const key = `${logicalId} ${change}`;
    if (seen.has(key)) return;
    seen.add(key);
    patches.push({ logicalId, type: original[logicalId]?.Type ?? '?', change });
  };
  const literalRef = (id: string): string | undefined => {
    const r = original[id];
    if (!r || !(skipped.has(id) || stubbed.has(id))) return undefined;
    const value = stubbed.has(id) ? `moto-stubbed-${id}` : skippedRef(id, r, place);
    note(id, `Ref → "${value}"`);
    return value;
  };
  const literalGetAtt = (id: string, attr: string): string | undefined => {
    const r = original[id];
    if (!r || !(skipped.has(id) || stubbed.has(id))) return undefined;
    const value = stubbed.has(id) ? `moto-stubbed-${id}-${attr}` : skippedGetAtt(id, r, attr, place);
    note(id, `GetAtt ${attr} → "${value}"`);
    return value;
  };
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && typeof obj.Ref === 'string') return literalRef(obj.Ref) ?? obj;
    if (keys.length === 1 && 'Fn::GetAtt' in obj) {
      const parts = getAttParts(obj['Fn::GetAtt']);
      const literal = parts ? literalGetAtt(parts[0], parts[1]) : undefined;
      if (literal !== undefined) return literal;
    }
    if (keys.length === 1 && 'Fn::GetStackOutput' in obj) {
      const ref = obj['Fn::GetStackOutput'] as { StackName?: unknown; OutputName?: unknown };
      const literal =
        typeof ref.StackName === 'string' && typeof ref.OutputName === 'string'
          ? outputOf(ref.StackName, ref.OutputName)
          : undefined;
      if (literal !== undefined) {
        note(`${String(ref.StackName)}.${String(ref.OutputName)}`, `GetStackOutput → "${literal}"`);
        return literal;
      }
    }
    if (keys.length === 1 && 'Fn::Sub' in obj) {
      const sub = obj['Fn::Sub'];
      const replace = (s: string) =>
        s.replace(
          /\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}/g,
          (whole, id: string, attr?: string) => (attr ? literalGetAtt(id, attr) : literalRef(id)) ?? whole,
        );
      if (typeof sub === 'string') return { 'Fn::Sub': replace(sub) };
      if (Array.isArray(sub) && typeof sub[0] === 'string')
        return { 'Fn::Sub': [replace(sub[0]), walk(sub[1])] };
    }
    return Object.fromEntries(keys.map((k) => [k, walk(obj[k])]));
  };
  out.Resources = walk(out.Resources) as CfnTemplate['Resources'];
  if (out.Outputs) out.Outputs = walk(out.Outputs) as CfnTemplate['Outputs'];
  if (out.Conditions) out.Conditions = walk(out.Conditions) as CfnTemplate['Conditions'];

  for (const id of stubbed) {
    const r = out.Resources[id];
    if (!r) continue;
    note(id, `replaced by ${MOTO_NULL_TYPE}: moto would run its provider Lambda in Docker and never finish`);
    out.Resources[id] = { Type: MOTO_NULL_TYPE, ...(r.DependsOn ? { DependsOn: r.DependsOn } : {}) };
  }
  for (const [id, r] of Object.entries(out.Resources)) {
    const policy = r.Properties?.KeyPolicy;
    if (
      r.Type === 'AWS::KMS::Key' &&
      policy &&
      typeof policy === 'object' &&
      !('Fn::ToJsonString' in policy)
    ) {
      r.Properties = { ...r.Properties, KeyPolicy: { 'Fn::ToJsonString': policy } };
      note(
        id,
        'KeyPolicy wrapped in Fn::ToJsonString (moto stores an object policy as a dict and DescribeKey fails)',
      );
    }
  }
  return { template: out, patches, skipped };
}

/** A {@link MotoPatch} with the stack it was made in, as the report lists it. */
export type StackPatch = MotoPatch & { readonly stack: string };

/**
 * Copies the assembly to `deployDir` and adjusts every template there for moto; returns the changes and,
 * per stack, the resources moto will skip. Without `deployDir` (`--unpatched`) nothing is copied or
 * changed, but the skipped resources are still worked out, for the inventory.
 */
export function prepareMotoAssembly(
  stacks: readonly SynthesizedStack[],
  assemblyDir: string,
  deployDir: string | undefined,
  supportedTypes: ReadonlySet<string>,
): { patches: StackPatch[]; skipped: Map<string, ReadonlyMap<string, string>> } {
  if (deployDir) cpSync(assemblyDir, deployDir, { recursive: true });
  const patches: StackPatch[] = [];
  const skipped = new Map<string, ReadonlyMap<string, string>>();
  // A first pass finds each stack's outputs as moto will see them; the second resolves the weak references
  // (`Fn::GetStackOutput`) whose producer output is then a literal.
  const outputs = new Map<string, string>();
  for (const s of stacks) {
    const first = patchTemplateForMoto(readTemplate(s.templateFile), s, supportedTypes);
    for (const [name, output] of Object.entries(first.template.Outputs ?? {})) {
      const value = (output as { Value?: unknown }).Value;
      if (typeof value === 'string') outputs.set(`${s.stackName}/${name}`, value);
    }
  }
  const outputOf = (stackName: string, outputName: string) => outputs.get(`${stackName}/${outputName}`);
  for (const s of stacks) {
    const patched = patchTemplateForMoto(readTemplate(s.templateFile), s, supportedTypes, outputOf);
    skipped.set(s.id, patched.skipped);
    if (!deployDir) continue;
    const file = join(deployDir, relative(assemblyDir, s.templateFile));
    writeFileSync(file, JSON.stringify(patched.template, null, 1));
    patches.push(...patched.patches.map((p) => ({ ...p, stack: s.id })));
  }
  return { patches, skipped };
}
