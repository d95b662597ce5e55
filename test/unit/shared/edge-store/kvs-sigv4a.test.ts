/**
 * The KeyValueStore API accepts only SigV4A signatures; the adapter loads the SigV4A signer itself, so a
 * request it sends is signed with ECDSA for every region (`*`). No server: the client's request handler
 * captures the signed request and answers it.
 */
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { Readable } from 'node:stream';
import { KvsEdgeStore } from '../../../../services/shared/edge-store/kvs-edge-store';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/327284aa-bcd5-499f-a3ff-26b9a9d31b58';

it('signs its requests with SigV4A', async () => {
  const headers: Record<string, string>[] = [];
  const client = new CloudFrontKeyValueStoreClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async (request: { headers: Record<string, string> }) => {
        headers.push(request.headers);
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/json' },
            body: Readable.from([
              JSON.stringify({ Key: 'down', Value: 'apac', ItemCount: 1, TotalSizeInBytes: 8 }),
            ]),
          },
        };
      },
    },
  });
  expect(await new KvsEdgeStore({ kvsArn: ARN, client }).get('down')).toBe('apac');
  expect(headers[0]!.authorization).toMatch(
    /^AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/cloudfront-keyvaluestore\/aws4_request/,
  );
  expect(headers[0]!['x-amz-region-set']).toBe('*');
});
