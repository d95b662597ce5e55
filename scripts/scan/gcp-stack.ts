/**
 * One GCP stack of the scan, in a process of its own (the program registers its resources when its module
 * loads, so a process runs one stack): runs the program under mocks, evaluates the policy pack over what it
 * registered, and prints the findings as JSON on stdout for gcp.ts.
 *
 * `node --import tsx scripts/scan/gcp-stack.ts <stack> [<extra module>]`; the extra module, loaded after the
 * program, lets a test add resources (e.g. a bucket without CMEK) to the stack the scan sees.
 */
import { resolve } from 'node:path';
import { policies, POLICY_PACK_NAME } from '../../policies/gcp/policies';
import { evaluatePolicies, urnOf } from '../../policies/gcp/evaluate';
import { runProgram, type Registered } from './gcp-program';
import type { ScanFinding } from './report';

/** What the process prints. */
export interface GcpStackResult {
  readonly stack: string;
  readonly resources: number;
  readonly findings: readonly ScanFinding[];
  /** Seconds the process spent on the program and the pack (its start-up excluded). */
  readonly seconds: number;
}

/** The resource's path: its parents' `type::name`, then its own, like a construct path. */
function pathOf(r: Registered, byKey: ReadonlyMap<string, Registered>): string {
  const parts = [`${r.type}::${r.name}`];
  for (let p = r.parent; p; p = byKey.get(`${p.type}::${p.name}`)?.parent)
    parts.unshift(`${p.type}::${p.name}`);
  return parts.join('/');
}

async function main(stack: string, extra: string | undefined): Promise<GcpStackResult> {
  const start = performance.now();
  const { resources } = await runProgram(stack, extra === undefined ? undefined : resolve(extra));
  const byKey = new Map(resources.map((r) => [`${r.type}::${r.name}`, r]));
  const byUrn = new Map(resources.map((r) => [urnOf(r, stack), r]));
  const violations = await evaluatePolicies(
    policies,
    resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs })),
    stack,
  );
  const findings = violations.map((v): ScanFinding => {
    const r = v.urn === undefined ? undefined : byUrn.get(v.urn);
    const policy = policies.find((p) => p.name === v.policy);
    return {
      tool: 'pulumi-policy',
      pack: POLICY_PACK_NAME,
      rule: v.policy,
      severity: policy?.enforcementLevel === 'advisory' ? 'warning' : 'error',
      message: v.message,
      cloud: 'gcp',
      stage: stack as ScanFinding['stage'],
      resource: r
        ? {
            logicalId: r.name,
            path: pathOf(r, byKey),
            type: r.type,
            stack,
            ...(r.source && { source: r.source }),
          }
        : { path: `stack ${stack}`, stack },
      status: 'violation',
      promises: [],
    };
  });
  return { stack, resources: resources.length, findings, seconds: (performance.now() - start) / 1000 };
}

const [stack, extra] = process.argv.slice(2);
if (!stack) {
  console.error('usage: gcp-stack.ts <stack> [<extra module>]');
  process.exitCode = 2;
} else {
  main(stack, extra).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
