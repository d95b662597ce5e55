/**
 * The GCP policy pack (`policies/gcp`) over every resource the mocked dev program registers, with the
 * pack's CLI-free harness: every rule is called with the arguments the analyzer would build from the
 * resources' inputs (what `pulumi preview --policy-pack policies/gcp` checks), without the CLI.
 */
import { policies } from '../../../../policies/gcp/policies';
import { evaluatePolicies, type ResourceSpec } from '../../../../policies/gcp/evaluate';
import { runProgram } from './support';

let specs: ResourceSpec[];

beforeAll(async () => {
  const { resources } = await runProgram('dev');
  specs = resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
});

test('the policy pack finds zero violations in the dev program', async () => {
  const violations = await evaluatePolicies(policies, specs);
  console.log(
    `policy pack: ${policies.length} rules over ${specs.length} resources, ${violations.length} violations`,
  );
  expect(policies.length).toBeGreaterThan(0);
  expect(violations).toEqual([]);
});

test('the same evaluation reports a bucket of the program stripped of its CMEK', async () => {
  const bucket = specs.find((r) => r.type === 'gcp:storage/bucket:Bucket');
  expect(bucket).toBeDefined();
  const { encryption: _omitted, ...withoutCmek } = bucket?.props ?? {};
  const stripped = specs.map((r) => (r === bucket ? { ...r, props: withoutCmek } : r));
  const violations = await evaluatePolicies(policies, stripped);
  // Resource rules report against the resource under validation, so the violation carries no URN of its own.
  expect(violations.map((v) => v.policy)).toEqual(['gcp-cmek-on-buckets-and-topics']);
});
