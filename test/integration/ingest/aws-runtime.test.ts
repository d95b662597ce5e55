/**
 * The whole service configured for AWS, against a real moto_server: Firehose sink, KMS key provider,
 * DynamoDB directory, origin secret from Secrets Manager. A hit goes in over HTTP; the event is read back
 * from the bucket Firehose delivered it to, and its personal fields are decrypted with KMS.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DataKeyService } from '../../../services/ingest/src/crypto/data-keys';
import { KmsKeyProvider } from '../../../services/ingest/src/crypto/kms-key-provider';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { seedDemo } from '../../../services/ingest/src/local/seed';
import type { StoredEvent } from '../../../services/ingest/src/pipeline/pipeline';
import { createRuntime } from '../../../services/ingest/src/runtime';
import { startServer, type RunningServer } from '../../../services/ingest/src/server';
import { motoEndpoint } from '../../support/env';
import { motoClientConfig } from '../../../tooling/moto';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

const suffix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const names = {
  bucket: `events-${suffix}`,
  stream: `events-${suffix}`,
  table: `directory-${suffix}`,
  secret: `origin-${suffix}`,
};
const ORIGIN_SECRET = `origin-secret-${randomBytes(12).toString('hex')}`;

const endpoint = motoEndpoint();
const config = motoClientConfig(endpoint);
const s3 = new S3Client(config);
const kms = new KMSClient(config);
const ddb = new DynamoDBClient(config);
let keyId: string;
let dataDir: string;
let running: RunningServer;
let seed: Awaited<ReturnType<typeof seedDemo>>;
const savedEndpoint = process.env.AWS_ENDPOINT_URL;

beforeAll(async () => {
  keyId = (await kms.send(new CreateKeyCommand({ Description: 'ingest test' }))).KeyMetadata!.KeyId!;
  await ddb.send(new CreateTableCommand(directoryTableDefinition(names.table)));
  await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
  await new FirehoseClient(config).send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: names.stream,
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: {
        BucketARN: `arn:aws:s3:::${names.bucket}`,
        RoleARN: 'arn:aws:iam::123456789012:role/firehose',
      },
    }),
  );
  await new SecretsManagerClient(config).send(
    new CreateSecretCommand({ Name: names.secret, SecretString: ORIGIN_SECRET }),
  );
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-aws-'));
  seed = await seedDemo(new DynamoDirectory({ client: ddb, tableName: names.table }), dataDir);

  // The runtime builds its own SDK clients, as it does in Lambda; the SDK reads the endpoint from here.
  process.env.AWS_ENDPOINT_URL = endpoint;
  const env = parseIngestEnv({
    TS_STAGE: 'dev',
    TS_LOCATION: 'americas',
    TS_SINK: 'firehose',
    TS_FIREHOSE_STREAMS: names.stream,
    TS_KEY_PROVIDER: 'kms',
    TS_KMS_KEY_ID: keyId,
    TS_DIRECTORY: 'dynamodb',
    TS_TABLE_NAME: names.table,
    TS_ORIGIN_SECRET_ID: names.secret,
    TS_TRUST_PROXY: 'cloudfront',
    TS_DATA_DIR: dataDir,
    TS_LOG_LEVEL: 'silent',
  });
  running = await startServer({ env, port: 0, runtime: await createRuntime(env) });
});

afterAll(async () => {
  await running?.shutdown();
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = savedEndpoint;
  await rm(dataDir, { recursive: true, force: true });
});

async function deliveredEvents(): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  const list = await s3.send(new ListObjectsV2Command({ Bucket: names.bucket }));
  for (const o of list.Contents ?? []) {
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: names.bucket, Key: o.Key! }))
    ).Body!.transformToString();
    for (const line of body.split('\n')) if (line) out.push(JSON.parse(line) as StoredEvent);
  }
  return out;
}

test('readiness checks Firehose, KMS and DynamoDB', async () => {
  const res = await fetch(`${running.url}/readyz`, { headers: { 'x-origin-verify': ORIGIN_SECRET } });
  expect(await res.json()).toEqual({
    status: 'ready',
    checks: { sink: 'ok', keyProvider: 'ok', directory: 'ok' },
  });
});

test('without the origin secret from Secrets Manager, requests are refused', async () => {
  const res = await fetch(`${running.url}/p.gif?a=${seed.accountId}&c=${seed.campaignId}`);
  expect(res.status).toBe(403);
});

test('a hit reaches the bucket through Firehose, and its personal fields decrypt with KMS', async () => {
  const res = await fetch(
    `${running.url}/p.gif?a=${seed.accountId}&c=${seed.campaignId}&e=click&n=aws-e2e&cid=gclid-9`,
    {
      headers: {
        'x-origin-verify': ORIGIN_SECRET,
        'user-agent': BROWSER_USER_AGENT,
        'cloudfront-viewer-address': '198.51.100.7:51234',
        'cloudfront-viewer-country': 'FR',
      },
    },
  );
  expect(res.status).toBe(200);
  const ev = (await deliveredEvents()).find((e) => e.name === 'aws-e2e');
  expect(ev).toMatchObject({
    accountId: seed.accountId,
    dt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    country: 'FR',
  });
  expect(JSON.stringify(ev)).not.toContain('198.51.100.7');

  // A separate reader, as an analytics job would be: its own KMS client and directory.
  const reader = new DataKeyService({
    provider: new KmsKeyProvider({ client: kms, keyId }),
    directory: new DynamoDirectory({ client: ddb, tableName: names.table }),
    location: 'americas',
  });
  expect(await reader.decryptFields(seed.accountId, ev!.pii!)).toEqual({
    ip: '198.51.100.7',
    userAgent: BROWSER_USER_AGENT,
    clickId: 'gclid-9',
  });
  await expect(reader.decryptFields('acc_someoneelse', ev!.pii!)).rejects.toThrow();
});

test('a postback authenticates against the DynamoDB directory', async () => {
  const res = await fetch(
    `${running.url}/postback?campaignId=${seed.campaignId}&clickId=aws-order-1&value=10`,
    {
      headers: { 'x-origin-verify': ORIGIN_SECRET, authorization: `Bearer ${seed.apiKey}` },
    },
  );
  expect(res.status).toBe(202);
  expect((await deliveredEvents()).some((e) => e.type === 'conversion' && e.source === 'postback')).toBe(
    true,
  );
});
