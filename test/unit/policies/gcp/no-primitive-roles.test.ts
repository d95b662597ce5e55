import { noPrimitiveRoles } from '../../../../policies/gcp/rules/no-primitive-roles';
import { validateResource, type ResourceSpec } from '../../../../policies/gcp/evaluate';

const SA = 'serviceAccount:ingest@p.iam.gserviceaccount.com';

const member = (type: string, role: string): ResourceSpec => ({
  type,
  name: 'grant',
  props: { role, member: SA },
});

describe('gcp-no-primitive-roles', () => {
  test('Compliance', async () => {
    const grants: ResourceSpec[] = [
      member('gcp:projects/iAMMember:IAMMember', 'roles/datastore.user'),
      member('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', 'roles/cloudkms.cryptoKeyEncrypterDecrypter'),
      member('gcp:pubsub/topicIAMMember:TopicIAMMember', 'roles/pubsub.publisher'),
      {
        type: 'gcp:storage/bucketIAMBinding:BucketIAMBinding',
        name: 'readers',
        props: { role: 'roles/storage.objectViewer', members: [SA] },
      },
      {
        type: 'gcp:projects/iAMPolicy:IAMPolicy',
        name: 'policy',
        props: {
          policyData: JSON.stringify({ bindings: [{ role: 'roles/logging.logWriter', members: [SA] }] }),
        },
      },
      // Not an IAM resource: a `role` property elsewhere is not a grant.
      { type: 'gcp:projects/iAMCustomRole:IAMCustomRole', name: 'custom', props: { role: 'roles/owner' } },
    ];
    for (const grant of grants) expect(await validateResource(noPrimitiveRoles, grant)).toEqual([]);
  });

  test('Noncompliance 1: a project IAM member with roles/owner', async () => {
    const violations = await validateResource(
      noPrimitiveRoles,
      member('gcp:projects/iAMMember:IAMMember', 'roles/owner'),
    );
    expect(violations.map((v) => v.message)).toEqual([
      `IAMMember 'grant' grants the primitive role roles/owner to ${SA}: grant the predefined roles the identity needs instead.`,
    ]);
  });

  test('Noncompliance 2: roles/editor on a project IAM binding', async () => {
    const spec = {
      type: 'gcp:projects/iAMBinding:IAMBinding',
      name: 'editors',
      props: { role: 'roles/editor', members: [SA, 'group:ops@example.com'] },
    };
    expect(await validateResource(noPrimitiveRoles, spec)).toHaveLength(1);
  });

  test('Noncompliance 3: roles/viewer on per-resource members of every service', async () => {
    for (const type of [
      'gcp:storage/bucketIAMMember:BucketIAMMember',
      'gcp:pubsub/topicIAMMember:TopicIAMMember',
      'gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember',
      'gcp:cloudrunv2/serviceIamMember:ServiceIamMember',
      'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
    ]) {
      expect(await validateResource(noPrimitiveRoles, member(type, 'roles/viewer'))).toHaveLength(1);
    }
  });

  test('Noncompliance 4: a primitive role inside an IAM policy document', async () => {
    const spec = {
      type: 'gcp:storage/bucketIAMPolicy:BucketIAMPolicy',
      name: 'policy',
      props: {
        policyData: JSON.stringify({
          bindings: [
            { role: 'roles/storage.objectViewer', members: [SA] },
            { role: 'roles/editor', members: [SA] },
          ],
        }),
      },
    };
    const violations = await validateResource(noPrimitiveRoles, spec);
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringMatching(/BucketIAMPolicy 'policy'.*roles\/editor/),
    ]);
  });
});
