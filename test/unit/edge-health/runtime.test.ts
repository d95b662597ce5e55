/**
 * The edge health check's composition root with TS_EDGE_STORE=kvs: the KeyValueStore adapter is chosen and
 * a location that fails every probe is written through UpdateKeys with the store's ETag. moto has no
 * CloudFront KeyValueStore data plane, so that client alone is mocked (aws-sdk-client-mock).
 */
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ResourceNotFoundException,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import { parseEdgeHealthEnv } from '../../../platform';
import { createEdgeHealthRuntime } from '../../../services/edge-health/src/runtime';
import { KvsEdgeStore } from '../../../services/shared/edge-store/kvs-edge-store';
import { createLogger } from '../../../services/shared/logger';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/327284aa-bcd5-499f-a3ff-26b9a9d31b58';
const kvs = mockClient(CloudFrontKeyValueStoreClient);

it('writes a failed location to the KeyValueStore named by the environment', async () => {
  kvs.reset();
  kvs.on(GetKeyCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
  kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'etag-7' });
  kvs.on(UpdateKeysCommand).resolves({ ETag: 'etag-8' });
  const env = parseEdgeHealthEnv({
    TS_EDGE_URL: 'https://d111111abcdef8.cloudfront.net',
    TS_EDGE_STORE: 'kvs',
    TS_KVS_ARN: ARN,
    TS_LOCATIONS: 'americas,europe',
    TS_PROBES: '2',
  });
  const lines: string[] = [];
  const rt = await createEdgeHealthRuntime(env, {
    awsClientConfig: { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    logger: createLogger({
      service: 'edge-health',
      destination: { write: (l: string) => void lines.push(l) },
    }),
    check: {
      sleep: async () => undefined,
      fetch: (async (url: string | URL | Request) =>
        new Response(null, { status: String(url).endsWith('/_health/europe') ? 503 : 200 })) as typeof fetch,
    },
  });
  expect(rt.store).toBeInstanceOf(KvsEdgeStore);
  const report = await rt.run();
  expect(report.down).toEqual(['europe']);
  expect(kvs.commandCalls(UpdateKeysCommand).map((c) => c.args[0].input)).toEqual([
    { KvsARN: ARN, IfMatch: 'etag-7', Puts: [{ Key: 'down', Value: 'europe' }] },
  ]);
  const logged = lines.map((l) => JSON.parse(l) as { msg: string; level: number });
  expect(logged.map((l) => l.msg)).toEqual([
    'americas: 2/2 probes ok, up → up',
    'europe: 0/2 probes ok, up → down',
    'edge store updated: down = [europe]',
  ]);
  expect(logged[1]!.level).toBe(40);
});
