/**
 * `publish-config --stage` end to end against moto: the DynamoDB directory table, the versioned config
 * bucket, a real CloudFront distribution and the edge stack (a CloudFormation stack whose outputs name
 * them), all in moto; the documents land in the bucket, one invalidation lists exactly the changed paths,
 * and refused requests write and invalidate nothing.
 *
 * moto does not implement the CloudFront KeyValueStore API, so that one client is mocked
 * (aws-sdk-client-mock) over an in-memory store; everything else is moto over HTTP. This file starts its
 * own moto: the edge stack's name is fixed by the stage, and another test file may deploy stacks to the
 * shared one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudFrontClient,
  CreateDistributionCommand,
  GetInvalidationCommand,
  ListInvalidationsCommand,
} from '@aws-sdk/client-cloudfront';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ResourceNotFoundException,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DynamoDBClient, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { EDGE_STACK_OUTPUTS, edgeStackName, names } from '../../../platform';
import { runPublishCli } from '../../../services/publisher/src/cli';
import { SNIPPET_FILE } from '../../../services/publisher/src/snippet';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import type { CampaignRecord } from '../../../services/shared/directory/directory';
import { motoClientConfig, startMoto, type MotoServer } from '../../../tooling/moto';
import { createVersionedBucket } from '../../support/purge-world';

const STAGE = 'staging';
const A = 'acc_stageshop01';
const B = 'acc_stageshop02';
const KVS_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-publish';

let moto: MotoServer;
let s3: S3Client;
let cloudFront: CloudFrontClient;
let directory: DynamoDirectory;
let bucket: string;
let table: string;
let distributionId: string;
const kvsEntries = new Map<string, string>();
const kvs = mockClient(CloudFrontKeyValueStoreClient);

const campaign = (accountId: string, campaignId: string, countAnonymous = true): CampaignRecord => ({
  accountId,
  campaignId,
  name: campaignId,
  countAnonymous,
  allowedOrigins: [],
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const { region: _region, ...settings } = motoClientConfig(moto.endpoint);
  const code = await runPublishCli(argv, {
    stdout: (t) => (out += `${t}\n`),
    stderr: (t) => (err += `${t}\n`),
    env: {},
    awsClientConfig: settings,
  });
  return { code, out, err };
}

async function bucketKeys(): Promise<string[]> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'config/' }));
  return (out.Versions ?? []).map((v) => `${v.Key}`).sort();
}

async function invalidations(): Promise<string[][]> {
  const list = await cloudFront.send(new ListInvalidationsCommand({ DistributionId: distributionId }));
  const out: string[][] = [];
  for (const i of list.InvalidationList?.Items ?? []) {
    const got = await cloudFront.send(
      new GetInvalidationCommand({ DistributionId: distributionId, Id: i.Id! }),
    );
    out.push([...(got.Invalidation?.InvalidationBatch?.Paths?.Items ?? [])].sort());
  }
  return out;
}

beforeAll(async () => {
  moto = await startMoto();
  const config = motoClientConfig(moto.endpoint);
  s3 = new S3Client(config);
  cloudFront = new CloudFrontClient(config);
  const suffix = randomBytes(3).toString('hex');
  bucket = `trackstack-staging-config-${suffix}`;
  table = `trackstack-staging-directory`;
  await createVersionedBucket(s3, bucket, 'us-east-1');
  const ddb = new DynamoDBClient(config);
  await ddb.send(new CreateTableCommand(directoryTableDefinition(table)));
  directory = new DynamoDirectory({ client: ddb, tableName: table });
  const dist = await cloudFront.send(
    new CreateDistributionCommand({
      DistributionConfig: {
        CallerReference: `publish-${suffix}`,
        Comment: 'publish-config test',
        Enabled: true,
        Origins: {
          Quantity: 1,
          Items: [
            {
              Id: 'config',
              DomainName: `${bucket}.s3.amazonaws.com`,
              S3OriginConfig: { OriginAccessIdentity: '' },
            },
          ],
        },
        DefaultCacheBehavior: {
          TargetOriginId: 'config',
          ViewerProtocolPolicy: 'https-only',
          MinTTL: 0,
          ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } },
          TrustedSigners: { Enabled: false, Quantity: 0 },
        },
      },
    }),
  );
  distributionId = dist.Distribution!.Id!;
  // The edge stack as the tool finds it: only its outputs matter here.
  await new CloudFormationClient(config).send(
    new CreateStackCommand({
      StackName: edgeStackName(STAGE),
      TemplateBody: JSON.stringify({
        Resources: { Placeholder: { Type: 'AWS::SNS::Topic' } },
        Outputs: {
          [EDGE_STACK_OUTPUTS.configBucket]: { Value: bucket },
          [EDGE_STACK_OUTPUTS.distributionId]: { Value: distributionId },
          [EDGE_STACK_OUTPUTS.keyValueStoreArn]: { Value: KVS_ARN },
        },
      }),
    }),
  );
  const createdAt = '2025-01-01T00:00:00.000Z';
  await directory.putAccount({ accountId: A, status: 'active', createdAt, homeLocation: 'apac' });
  await directory.putAccount({ accountId: B, status: 'active', createdAt });
  await directory.putCampaign(campaign(A, 'cmp_spring'));
  await directory.putCampaign(campaign(A, 'cmp_summer', false));
  await directory.putCampaign(campaign(B, 'cmp_spring'));
});
afterAll(() => moto?.stop());

beforeEach(() => {
  kvs.reset();
  let etag = 1;
  kvs.on(DescribeKeyValueStoreCommand).callsFake(async () => ({ ETag: `e${etag}` }));
  kvs.on(GetKeyCommand).callsFake(async (input: { Key: string }) => {
    const value = kvsEntries.get(input.Key);
    if (value === undefined) throw new ResourceNotFoundException({ message: 'no such key', $metadata: {} });
    return { Key: input.Key, Value: value };
  });
  kvs
    .on(UpdateKeysCommand)
    .callsFake(
      async (input: {
        IfMatch: string;
        Puts?: { Key: string; Value: string }[];
        Deletes?: { Key: string }[];
      }) => {
        expect(input.IfMatch).toBe(`e${etag}`);
        for (const p of input.Puts ?? []) kvsEntries.set(p.Key, p.Value);
        for (const d of input.Deletes ?? []) kvsEntries.delete(d.Key);
        etag += 1;
        return { ETag: `e${etag}` };
      },
    );
});

test('an ambiguous campaign id is refused, listing the accounts; nothing written or invalidated', async () => {
  const r = await run('cmp_spring', '--stage', STAGE);
  expect(r.code).toBe(2);
  expect(r.err).toContain(`campaign cmp_spring exists in 2 accounts (${A}, ${B})`);
  expect(await bucketKeys()).toEqual([]);
  expect(await invalidations()).toEqual([]);
  expect(kvs.commandCalls(UpdateKeysCommand)).toHaveLength(0);
});

test('an unknown campaign exits 2 and changes nothing', async () => {
  const r = await run('cmp_unheard-of', '--stage', STAGE);
  expect(r.code).toBe(2);
  expect(r.err).toContain('unknown campaign cmp_unheard-of: no account has it');
  expect(await bucketKeys()).toEqual([]);
  expect(await invalidations()).toEqual([]);
});

test('--all: created in the bucket from the stack outputs, one invalidation of exactly those paths, homes at the edge', async () => {
  const r = await run('--all', '--stage', STAGE);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain(`from dynamodb:${table} to s3://${bucket}`);
  expect(r.out).toContain('3 created, 0 updated, 0 unchanged');
  expect(await bucketKeys()).toEqual([
    `config/${A}/cmp_spring.json`,
    `config/${A}/cmp_summer.json`,
    `config/${B}/cmp_spring.json`,
  ]);
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `config/${A}/cmp_summer.json` }));
  expect(JSON.parse(await got.Body!.transformToString())).toMatchObject({ countAnonymous: false, v: 1 });
  expect(got.CacheControl).toBe('public, max-age=60');
  expect(await invalidations()).toEqual([
    [`/config/${A}/cmp_spring.json`, `/config/${A}/cmp_summer.json`, `/config/${B}/cmp_spring.json`],
  ]);
  expect(r.out).toMatch(new RegExp(`Invalidation \\w+ on distribution ${distributionId} for 3 path\\(s\\)`));
  expect(kvsEntries.get(`home:${A}`)).toBe('apac');
  expect(kvsEntries.has(`home:${B}`)).toBe(false);
  expect(r.out).toContain(`  ${A}  home: (none) → apac`);
});

test("the snippet's current version is uploaded once, under its content hash, with its headers", async () => {
  const code = await readFile(SNIPPET_FILE);
  const key = names.snippetObject(createHash('sha256').update(code).digest('hex'));
  // The --all run before this one uploaded it.
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(code);
  expect(got.ContentType).toBe('text/javascript; charset=utf-8');
  expect(got.CacheControl).toBe('public, max-age=300');
  const versions = async () =>
    (await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'snippet/' }))).Versions ?? [];
  expect((await versions()).map((v) => v.Key)).toEqual([key]);

  const r = await run('--snippet', '--stage', STAGE);
  expect(r.code).toBe(0);
  expect(r.out).toContain(`Snippet ${key}: already in the bucket`);
  expect(r.out).not.toContain('campaign config');
  expect(await versions()).toHaveLength(1);
});

test('unchanged: no write, no invalidation', async () => {
  const versionsBefore = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'config/' }));
  const r = await run('cmp_spring', '--account', B, '--stage', STAGE);
  expect(r.code).toBe(0);
  expect(r.out).toContain(`  ${B}/cmp_spring  unchanged`);
  expect(r.out).toContain('No invalidation: nothing changed.');
  const versionsAfter = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'config/' }));
  expect(versionsAfter.Versions).toHaveLength(versionsBefore.Versions!.length);
  expect(await invalidations()).toHaveLength(1);
  expect(kvs.commandCalls(UpdateKeysCommand)).toHaveLength(0);
});

test('updated: prints the field that changed and invalidates that one path', async () => {
  await directory.putCampaign(campaign(A, 'cmp_summer', true));
  const r = await run('cmp_summer', '--stage', STAGE);
  expect(r.code).toBe(0);
  expect(r.out).toContain(`  ${A}/cmp_summer  updated  countAnonymous: false → true`);
  const all = await invalidations();
  expect(all).toHaveLength(2);
  expect(all).toContainEqual([`/config/${A}/cmp_summer.json`]);
});

test('the override flags name the bucket, distribution and edge store without the stack', async () => {
  await directory.putCampaign(campaign(B, 'cmp_spring', false));
  const r = await run(
    'cmp_spring',
    '--account',
    B,
    '--stage',
    'dev',
    '--table',
    table,
    '--bucket',
    bucket,
    '--distribution-id',
    distributionId,
    '--kvs-arn',
    KVS_ARN,
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain(`  ${B}/cmp_spring  updated  countAnonymous: true → false`);
  expect(await invalidations()).toContainEqual([`/config/${B}/cmp_spring.json`]);
});

test('a stage whose edge stack does not exist is refused with what to do', async () => {
  const r = await run('--all', '--stage', 'prod', '--table', table);
  expect(r.code).toBe(2);
  expect(r.err).toContain(`the edge stack ${edgeStackName('prod')} does not exist in us-east-1`);
});
