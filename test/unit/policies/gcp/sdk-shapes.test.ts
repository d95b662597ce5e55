import * as pulumi from '@pulumi/pulumi';
import { policies } from '../../../../policies/gcp/policies';
import { evaluatePolicies, type ResourceSpec } from '../../../../policies/gcp/evaluate';

// The rules read properties by name; this test declares resources through the real @pulumi/gcp classes
// under pulumi.runtime.setMocks, so a property the SDK spells differently would show up as a violation.
const registered: ResourceSpec[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state = { ...args.inputs, name: args.inputs.name ?? `${args.name}-1a2b` };
        registered.push({ type: args.type, name: args.name, props: state });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    'trackstack',
    'test',
    false,
  );
});

test('resources declared through @pulumi/gcp pass the pack; the same ones broken fail it', async () => {
  const gcp = await import('@pulumi/gcp');
  const declared: pulumi.Resource[] = [];
  const add = <T extends pulumi.Resource>(r: T): T => (declared.push(r), r);
  const ring = add(new gcp.kms.KeyRing('ring', { location: 'europe-west1' }));
  const key = add(
    new gcp.kms.CryptoKey('key', {
      keyRing: ring.id,
      rotationPeriod: '7776000s',
      purpose: 'ENCRYPT_DECRYPT',
      versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
    }),
  );
  add(
    new gcp.storage.Bucket('events', {
      location: 'EUROPE-WEST1',
      encryption: { defaultKmsKeyName: key.id },
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
    }),
  );
  add(new gcp.pubsub.Topic('hits', { kmsKeyName: key.id }));
  const fn = add(
    new gcp.cloudfunctionsv2.Function('ingest', {
      location: 'europe-west1',
      serviceConfig: { ingressSettings: 'ALLOW_INTERNAL_AND_GCLB' },
    }),
  );
  add(
    new gcp.cloudfunctionsv2.FunctionIamMember('ingest-invoker', {
      cloudFunction: fn.name,
      location: fn.location,
      role: 'roles/cloudfunctions.invoker',
      member: 'allUsers',
    }),
  );
  add(
    new gcp.compute.BackendService('ingest', {
      loadBalancingScheme: 'EXTERNAL_MANAGED',
      securityPolicy: 'projects/p/global/securityPolicies/armor',
    }),
  );
  add(
    new gcp.compute.BackendBucket('static', {
      bucketName: 'config',
      enableCdn: true,
      edgeSecurityPolicy: 'projects/p/global/securityPolicies/edge',
    }),
  );
  add(
    new gcp.projects.IAMMember('logs', {
      project: 'p',
      role: 'roles/logging.logWriter',
      member: 'user:a@example.com',
    }),
  );
  // A URN resolves once the mock has registered the resource (the invoker's after the function's name).
  await Promise.all(declared.map((r) => new Promise((resolve) => r.urn.apply(resolve))));

  expect(registered).toHaveLength(declared.length);
  expect(await evaluatePolicies(policies, registered)).toEqual([]);
  const broken = registered.map(({ type, name, props }) => {
    const p = { ...props };
    if (type === 'gcp:storage/bucket:Bucket') delete p.encryption;
    if (type === 'gcp:cloudfunctionsv2/function:Function') p.serviceConfig = {};
    if (type === 'gcp:projects/iAMMember:IAMMember') p.role = 'roles/editor';
    return { type, name, props: p };
  });
  expect((await evaluatePolicies(policies, broken)).map((v) => v.policy).sort()).toEqual([
    'gcp-cmek-on-buckets-and-topics',
    'gcp-no-primitive-roles',
    'gcp-public-invoker-only-through-load-balancer',
  ]);
});
