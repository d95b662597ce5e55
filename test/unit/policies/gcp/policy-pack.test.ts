import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICY_PACK_NAME, policies } from '../../../../policies/gcp/policies';
import { evaluatePolicies, type ResourceSpec } from '../../../../policies/gcp/evaluate';
import {
  backendBucket,
  backendService,
  bucket,
  cryptoKey,
  functionV2,
  publicInvoker,
  topic,
} from './support/fixtures';

const PACK = join(__dirname, '../../../../policies/gcp');

describe('trackstack-gcp policy pack', () => {
  test('every rule is mandatory, named once and described', () => {
    expect(policies).toHaveLength(6);
    expect(new Set(policies.map((p) => p.name)).size).toBe(policies.length);
    for (const p of policies) {
      expect(p.enforcementLevel).toBe('mandatory');
      expect(p.description.length).toBeGreaterThan(40);
    }
  });

  test('index.ts serves the list under the pack name, and PulumiPolicy.yaml declares the nodejs runtime', () => {
    // index.ts is read, not imported: constructing the PolicyPack starts the analyzer server.
    expect(readFileSync(join(PACK, 'index.ts'), 'utf8')).toMatch(
      /new PolicyPack\(POLICY_PACK_NAME, \{ policies/,
    );
    expect(POLICY_PACK_NAME).toBe('trackstack-gcp');
    expect(readFileSync(join(PACK, 'PulumiPolicy.yaml'), 'utf8')).toMatch(/^runtime:\n {2}name: nodejs$/m);
  });

  test('a compliant regional slice has no violation; each broken resource is reported by its rule', async () => {
    const compliant: ResourceSpec[] = [
      cryptoKey(),
      bucket(),
      bucket({}, 'config'),
      topic(),
      functionV2(),
      publicInvoker(),
      backendService(),
      backendBucket(),
    ];
    expect(await evaluatePolicies(policies, compliant)).toEqual([]);

    const broken: ResourceSpec[] = [
      cryptoKey({ rotationPeriod: undefined }),
      bucket({ publicAccessPrevention: 'inherited' }),
      topic({ kmsKeyName: undefined }),
      functionV2({ ingressSettings: 'ALLOW_ALL' }),
      publicInvoker(),
      backendService({ securityPolicy: undefined }),
      {
        type: 'gcp:projects/iAMMember:IAMMember',
        name: 'owner',
        props: { role: 'roles/owner', member: 'user:a@example.com' },
      },
    ];
    expect((await evaluatePolicies(policies, broken)).map((v) => v.policy).sort()).toEqual([
      'gcp-bucket-uniform-access-and-public-access-prevention',
      'gcp-cloud-armor-on-public-backends',
      'gcp-cmek-on-buckets-and-topics',
      'gcp-kms-key-symmetric-rotated-90-days',
      'gcp-no-primitive-roles',
      'gcp-public-invoker-only-through-load-balancer',
    ]);
  });
});
