import { cmekOnBucketsAndTopics } from '../../../../policies/gcp/rules/cmek';
import { validateResource } from '../../../../policies/gcp/evaluate';
import { bucket, topic } from './support/fixtures';

// cdk-nag style: a "Compliance" case and one "Noncompliance N" case per way to break the rule.
describe('gcp-cmek-on-buckets-and-topics', () => {
  const check = (spec: Parameters<typeof validateResource>[1]) =>
    validateResource(cmekOnBucketsAndTopics, spec);

  test('Compliance', async () => {
    expect(await check(bucket())).toEqual([]);
    expect(await check(topic())).toEqual([]);
    // Other types are not its concern, even without a key.
    expect(await check({ type: 'gcp:compute/backendBucket:BackendBucket', name: 'b', props: {} })).toEqual(
      [],
    );
  });

  test('Noncompliance 1: a bucket without encryption', async () => {
    const violations = await check(bucket({ encryption: undefined }));
    expect(violations).toHaveLength(1);
    expect(violations[0]!.message).toMatch(/Bucket 'events'.*encryption\.defaultKmsKeyName/);
  });

  test('Noncompliance 2: a bucket whose encryption names no key', async () => {
    expect(await check(bucket({ encryption: { defaultKmsKeyName: '' } }))).toHaveLength(1);
  });

  test('Noncompliance 3: a topic without kmsKeyName', async () => {
    const violations = await check(topic({ kmsKeyName: undefined }));
    expect(violations.map((v) => v.message)).toEqual([expect.stringMatching(/Topic 'hits'.*set kmsKeyName/)]);
  });
});
