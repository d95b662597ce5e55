import { cloudArmorOnPublicBackends } from '../../../../policies/gcp/rules/cloud-armor';
import { validateResource } from '../../../../policies/gcp/evaluate';
import { backendBucket, backendService } from './support/fixtures';

describe('gcp-cloud-armor-on-public-backends', () => {
  const messages = async (spec: Parameters<typeof validateResource>[1]) =>
    (await validateResource(cloudArmorOnPublicBackends, spec)).map((v) => v.message);

  test('Compliance', async () => {
    expect(await messages(backendService())).toEqual([]);
    expect(await messages(backendBucket())).toEqual([]);
    // Internal backends are not reachable from the internet; a bucket without CDN has no cache to bypass.
    expect(
      await messages(backendService({ loadBalancingScheme: 'INTERNAL_MANAGED', securityPolicy: undefined })),
    ).toEqual([]);
    expect(await messages(backendBucket({ enableCdn: false, edgeSecurityPolicy: undefined }))).toEqual([]);
    expect(
      await messages(
        backendService({ enableCdn: true, edgeSecurityPolicy: 'projects/p/global/securityPolicies/edge' }),
      ),
    ).toEqual([]);
  });

  test('Noncompliance 1: an EXTERNAL_MANAGED backend service without a security policy', async () => {
    expect(await messages(backendService({ securityPolicy: undefined }))).toEqual([
      expect.stringMatching(/BackendService 'ingest' is public \(EXTERNAL_MANAGED\).*securityPolicy/),
    ]);
  });

  test('Noncompliance 2: the scheme omitted (EXTERNAL by default) without a security policy', async () => {
    expect(
      await messages(backendService({ loadBalancingScheme: undefined, securityPolicy: undefined })),
    ).toEqual([expect.stringMatching(/public \(EXTERNAL\)/)]);
  });

  test('Noncompliance 3: a CDN backend bucket without an edge security policy', async () => {
    expect(await messages(backendBucket({ edgeSecurityPolicy: undefined }))).toEqual([
      expect.stringMatching(/BackendBucket 'static'.*edgeSecurityPolicy/),
    ]);
  });

  test('Noncompliance 4: a CDN backend service with only a backend policy', async () => {
    expect(await messages(backendService({ enableCdn: true }))).toEqual([
      expect.stringMatching(/does not see cache hits/),
    ]);
  });
});
