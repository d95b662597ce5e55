/**
 * The record of a local deploy's checks: each comparison of a deployed property with its template, and
 * whether a difference is a failure or moto's known gap. The checks (checks.ts) and the stand-ins
 * (stand-ins.ts) write it; the report and the tests read it.
 */
import type { DeployedStack } from './template';

/** `ok`: as the template says; `not-applied`: a property moto is known to ignore; `mismatch`: a failure. */
export type CheckStatus = 'ok' | 'not-applied' | 'mismatch';

/** One comparison of a deployed property with its template. */
export interface Check {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  /** The template property (or aspect) checked. */
  readonly property: string;
  readonly expected: string;
  readonly actual: string;
  readonly status: CheckStatus;
  /** For stand-ins: deploy-local created the resource, not CloudFormation. */
  readonly standIn?: boolean;
}

/**
 * Template properties that moto 5.2's CloudFormation does not apply (found by deploying and reading back;
 * its S3 handler applies only BucketName, BucketEncryption and Tags, so not Object Lock either; its Lambda
 * handler ignores Architectures, TracingConfig, LoggingConfig and DeadLetterConfig). A difference here is
 * moto's, not the template's.
 */
export const MOTO_IGNORED_PROPERTIES: ReadonlySet<string> = new Set([
  'AWS::S3::Bucket BucketKeyEnabled',
  'AWS::S3::Bucket VersioningConfiguration',
  'AWS::S3::Bucket LifecycleConfiguration',
  'AWS::S3::Bucket LoggingConfiguration',
  'AWS::S3::Bucket PublicAccessBlockConfiguration',
  'AWS::S3::Bucket ObjectLockConfiguration',
  'AWS::Lambda::Function Architectures',
  'AWS::Lambda::Function TracingConfig',
  'AWS::Lambda::Function LoggingConfig',
  'AWS::Lambda::Function DeadLetterConfig',
]);

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The call's result, or undefined when it fails: a check records a failed read as a difference from the
 * template instead of stopping the other checks.
 */
export async function attempt<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch {
    return undefined;
  }
}

/** The checks of one resource: each {@link CheckList.add} records one {@link Check}, labelled with it. */
export class CheckList {
  readonly items: Check[] = [];
  constructor(
    private readonly stack: DeployedStack,
    private readonly logicalId: string,
    private readonly type: string,
    private readonly standIn = false,
  ) {}
  /** Records one comparison; by default it passes when both sides are equal as JSON. */
  add(property: string, expected: unknown, actual: unknown, pass = sameJson(expected, actual)): void {
    const ignored = MOTO_IGNORED_PROPERTIES.has(`${this.type} ${property}`);
    this.items.push({
      stack: this.stack.id,
      logicalId: this.logicalId,
      type: this.type,
      property,
      expected: show(expected),
      actual: show(actual),
      status: pass ? 'ok' : ignored ? 'not-applied' : 'mismatch',
      ...(this.standIn ? { standIn: true } : {}),
    });
  }
}
