/**
 * The KeyValueStore adapter of the edge store. moto implements no CloudFront KeyValueStore data plane
 * (DescribeKeyValueStore, GetKey, UpdateKeys), so this client alone is mocked with aws-sdk-client-mock:
 * these tests check the requests the adapter sends (the ETag it names, how it splits batches, how it
 * retries a conflict) and how it reads the answers.
 */
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ResourceNotFoundException,
  UpdateKeysCommand,
  type UpdateKeysCommandInput,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import { EdgeStoreValidationError, revokeKeyAtEdge } from '../../../../services/shared/edge-store/edge-store';
import {
  EdgeStoreRequestError,
  KVS_UPDATE_LIMITS,
  KvsEdgeStore,
} from '../../../../services/shared/edge-store/kvs-edge-store';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/327284aa-bcd5-499f-a3ff-26b9a9d31b58';
const kvs = mockClient(CloudFrontKeyValueStoreClient);
const sleeps: number[] = [];

function store(maxAttempts?: number): KvsEdgeStore {
  return new KvsEdgeStore({
    kvsArn: ARN,
    client: new CloudFrontKeyValueStoreClient({ region: 'us-east-1' }),
    maxAttempts,
    sleep: async (ms) => void sleeps.push(ms),
  });
}
const conflict = () =>
  new ConflictException({ message: 'ETag mismatch', $metadata: { httpStatusCode: 409 } });
const updates = () =>
  kvs.commandCalls(UpdateKeysCommand).map((c) => c.args[0].input as UpdateKeysCommandInput);

beforeEach(() => {
  kvs.reset();
  sleeps.length = 0;
});

describe('KvsEdgeStore', () => {
  it('reads a value, and a missing key as undefined', async () => {
    kvs.on(GetKeyCommand, { KvsARN: ARN, Key: 'down' }).resolves({ Key: 'down', Value: 'europe' });
    kvs
      .on(GetKeyCommand, { KvsARN: ARN, Key: 'home:acc_nohome001' })
      .rejects(
        new ResourceNotFoundException({ message: 'Key not found', $metadata: { httpStatusCode: 404 } }),
      );
    expect(await store().get('down')).toBe('europe');
    expect(await store().get('home:acc_nohome001')).toBeUndefined();
  });

  it('wraps any other read failure', async () => {
    kvs.on(GetKeyCommand).rejects(new Error('socket hang up'));
    await expect(store().get('down')).rejects.toThrow(EdgeStoreRequestError);
  });

  it('writes with the ETag DescribeKeyValueStore gives', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'etag-1', KvsARN: ARN });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'etag-2', ItemCount: 1, TotalSizeInBytes: 10 });
    await revokeKeyAtEdge(store(), 'k3yrevoked000001', new Date('2025-01-02T03:04:05Z'));
    expect(updates()).toEqual([
      {
        KvsARN: ARN,
        IfMatch: 'etag-1',
        Puts: [{ Key: 'revoked:k3yrevoked000001', Value: '2025-01-02T03:04:05.000Z' }],
      },
    ]);
    await store().delete(['down', 'down']);
    expect(updates()[1]).toEqual({ KvsARN: ARN, IfMatch: 'etag-1', Deletes: [{ Key: 'down' }] });
  });

  it('splits a large write into batches of 50, each naming the ETag the previous one returned', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'etag-0' });
    let n = 0;
    kvs.on(UpdateKeysCommand).callsFake(async () => ({ ETag: `etag-${++n}` }));
    const entries = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [`home:acc_${String(i).padStart(8, '0')}`, 'europe']),
    );
    await store().put(entries);
    const calls = updates();
    expect(calls.map((c) => c.Puts?.length)).toEqual([KVS_UPDATE_LIMITS.maxKeysPerRequest, 50, 20]);
    expect(calls.map((c) => c.IfMatch)).toEqual(['etag-0', 'etag-1', 'etag-2']);
    expect(kvs.commandCalls(DescribeKeyValueStoreCommand)).toHaveLength(1);
    expect(calls.flatMap((c) => c.Puts!.map((p) => p.Key))).toEqual(Object.keys(entries));
  });

  it('retries a conflict with the new ETag after a backoff', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolvesOnce({ ETag: 'stale' }).resolves({ ETag: 'fresh' });
    kvs.on(UpdateKeysCommand, { IfMatch: 'stale' }).rejects(conflict());
    kvs.on(UpdateKeysCommand, { IfMatch: 'fresh' }).resolves({ ETag: 'after' });
    await store().put({ down: 'apac' });
    expect(updates().map((c) => c.IfMatch)).toEqual(['stale', 'fresh']);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
  });

  it('treats a 412 precondition failure as a conflict too', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolvesOnce({ ETag: 'stale' }).resolves({ ETag: 'fresh' });
    kvs.on(UpdateKeysCommand, { IfMatch: 'stale' }).rejects(
      Object.assign(new Error('precondition failed'), {
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      }),
    );
    kvs.on(UpdateKeysCommand, { IfMatch: 'fresh' }).resolves({ ETag: 'after' });
    await store().put({ down: 'apac' });
    expect(updates()).toHaveLength(2);
  });

  it('gives up after maxAttempts conflicts, and does not retry other errors', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'e' });
    kvs.on(UpdateKeysCommand).rejects(conflict());
    await expect(store(3).put({ down: 'apac' })).rejects.toThrow(
      /after 3 attempts: its version kept changing/,
    );
    expect(updates()).toHaveLength(3);

    kvs.reset();
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'e' });
    kvs.on(UpdateKeysCommand).rejects(new Error('AccessDenied'));
    await expect(store(3).put({ down: 'apac' })).rejects.toThrow(EdgeStoreRequestError);
    expect(updates()).toHaveLength(1);
  });

  it('validates before sending anything', async () => {
    await expect(store().put({ down: 'x'.repeat(1025) })).rejects.toThrow(EdgeStoreValidationError);
    await expect(store().delete(['k'.repeat(513)])).rejects.toThrow(/a key is at most 512/);
    expect(kvs.calls()).toHaveLength(0);
    expect(() => new KvsEdgeStore({ kvsArn: 'arn:aws:s3:::bucket' })).toThrow(/is not a KeyValueStore ARN/);
  });
});
