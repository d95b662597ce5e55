import { bucketAccess } from '../../../../policies/gcp/rules/bucket-access';
import { validateResource } from '../../../../policies/gcp/evaluate';
import { bucket } from './support/fixtures';

describe('gcp-bucket-uniform-access-and-public-access-prevention', () => {
  test('Compliance', async () => {
    expect(await validateResource(bucketAccess, bucket())).toEqual([]);
  });

  test('Noncompliance 1: uniform bucket-level access off or omitted', async () => {
    for (const uniformBucketLevelAccess of [false, undefined]) {
      const violations = await validateResource(bucketAccess, bucket({ uniformBucketLevelAccess }));
      expect(violations.map((v) => v.message)).toEqual([
        expect.stringMatching(/Bucket 'events'.*uniformBucketLevelAccess: true/),
      ]);
    }
  });

  test('Noncompliance 2: public access prevention inherited or omitted', async () => {
    for (const publicAccessPrevention of ['inherited', undefined]) {
      const violations = await validateResource(bucketAccess, bucket({ publicAccessPrevention }));
      expect(violations.map((v) => v.message)).toEqual([
        expect.stringMatching(/publicAccessPrevention: 'enforced'/),
      ]);
    }
  });

  test('Noncompliance 3: both missing reports both', async () => {
    const violations = await validateResource(bucketAccess, {
      type: 'gcp:storage/bucket:Bucket',
      name: 'bare',
      props: {},
    });
    expect(violations).toHaveLength(2);
  });
});
