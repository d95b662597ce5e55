/**
 * The CloudFormation that deploy:local reads: the subset of a synthesized template it works with, where a
 * template is deployed, and what moto made of it. Every other module of deploy:local speaks these types.
 */
import { readFileSync } from 'node:fs';

/** A CloudFormation resource as CDK synthesizes it. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  [key: string]: unknown;
}

/** A CloudFormation template as CDK synthesizes it (JSON). */
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, { Default?: unknown }>;
  [key: string]: unknown;
}

/** Reads a synthesized template; the assembly holds JSON only, so no YAML reader is needed. */
export function readTemplate(file: string): CfnTemplate {
  return JSON.parse(readFileSync(file, 'utf8')) as CfnTemplate;
}

/** Where a template is deployed: what pseudo parameters and ARNs resolve to. */
export interface StackPlace {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
}

/** A deployed stack: its template and the physical ids moto reported. */
export interface DeployedStack extends StackPlace {
  readonly id: string;
  /** The template as synthesized (not the moto-patched copy). */
  readonly template: CfnTemplate;
  /** Logical id → physical id of every resource moto created. */
  readonly physical: ReadonlyMap<string, string>;
  /** Logical id → type of every resource moto did not create. */
  readonly skipped: ReadonlyMap<string, string>;
}

/**
 * The logical id and attribute of an `Fn::GetAtt`, in either of its forms (`[id, attr]` or `"id.attr"`);
 * undefined for anything else.
 */
export function getAttParts(value: unknown): [string, string] | undefined {
  if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string')
    return [value[0], value[1]];
  if (typeof value === 'string' && value.includes('.')) {
    const dot = value.indexOf('.');
    return [value.slice(0, dot), value.slice(dot + 1)];
  }
  return undefined;
}
