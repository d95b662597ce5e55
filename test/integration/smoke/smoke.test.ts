/**
 * `npm run smoke` (and its `--setup`) against moto_server (its own, started here: the stacks' names are fixed by the stage, and
 * another file may create stacks of the same names in the shared one): the edge and regional stacks are
 * moto CloudFormation stacks with the outputs the real ones have, each region's event bucket a moto
 * bucket, and the CDN a local HTTP server that does what the real path does to a pixel hit of a smoke
 * account: route it to the account's home location and, after a buffering delay, write an object under
 * `account=<id>/dt=<day>/` of that location's bucket.
 *
 * What this does not prove: that CloudFront's router function sends the smoke accounts home (edge-router
 * tests do), that the ingest function stores the hit and Firehose delivers it (ingest and Firehose tests
 * do, against stand-ins), that the smoke accounts exist in a real directory, or that the pipeline's smoke
 * role may read the real stacks and buckets (the pipeline test checks the policy, not IAM's verdict).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isbot } from 'isbot';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import {
  EDGE_ACCOUNT_PARAM,
  EDGE_STACK_OUTPUTS,
  EVENT_OBJECTS,
  LOCATIONS,
  REGIONS,
  edgeStackName,
  names,
  type Location,
} from '../../../platform';
import { awsNames } from '../../../infra/aws/lib/naming';
import { runSmokeCli } from '../../../scripts/smoke/cli';
import { EVENT_BUCKET_OUTPUT, SMOKE_CAMPAIGN, smokeAccountId } from '../../../scripts/smoke/smoke';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import { motoClientConfig, startMoto, type MotoServer } from '../../../tooling/moto';

const STAGE = 'staging';
const bucketOf = (location: Location) => `trackstack-${STAGE}-${location}-events-123456789012`;
const homeOf = new Map(LOCATIONS.map((l) => [smokeAccountId(l), l]));

let moto: MotoServer;
let cdn: Server;
/** Locations whose stand-in delivery stream drops every hit (a broken region). */
const broken = new Set<Location>();
/** Every hit the stand-in CDN received, as `location account`. */
const hits: string[] = [];

function s3(location: Location): S3Client {
  const { region: _r, ...settings } = motoClientConfig(moto.endpoint);
  return new S3Client({ ...settings, region: REGIONS[location].aws });
}

async function createStack(region: string, stackName: string, outputs: Record<string, string>) {
  const { region: _r, forcePathStyle: _f, ...settings } = motoClientConfig(moto.endpoint);
  const cfn = new CloudFormationClient({ ...settings, region });
  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify({
        Resources: { Placeholder: { Type: 'AWS::SNS::Topic' } },
        Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
      }),
    }),
  );
  cfn.destroy();
}

beforeAll(async () => {
  moto = await startMoto();
  cdn = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cdn');
    const account = url.searchParams.get(EDGE_ACCOUNT_PARAM) ?? '';
    const home = homeOf.get(account);
    // The ingest service drops hits from bots (isbot on the user agent) without storing them.
    if (isbot(req.headers['user-agent'] ?? 'missing')) {
      res.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('GIF89a'));
      return;
    }
    if (url.pathname !== '/p.gif' || !home || url.searchParams.get('c') !== SMOKE_CAMPAIGN) {
      res.writeHead(400).end();
      return;
    }
    hits.push(`${home} ${account}`);
    res.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('GIF89a'));
    if (broken.has(home)) return;
    // Firehose writes a buffer some time after the hit; a second is enough to need more than one listing.
    const day = new Date().toISOString().slice(0, 10);
    setTimeout(() => {
      const client = s3(home);
      void client
        .send(
          new PutObjectCommand({
            Bucket: bucketOf(home),
            Key: `${EVENT_OBJECTS.partitionPrefix(account, day)}stand-in-${Date.now()}.json.gz`,
            Body: '{}',
          }),
        )
        .finally(() => client.destroy());
    }, 1_200);
  });
  await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
  const { port } = cdn.address() as AddressInfo;

  // A stand-in CDN has no host name of its own: its output is a whole URL, which the smoke check accepts.
  await createStack(REGIONS.americas.aws, edgeStackName(STAGE), {
    [EDGE_STACK_OUTPUTS.domainName]: `http://127.0.0.1:${port}`,
  });
  for (const location of LOCATIONS) {
    const region = REGIONS[location].aws;
    const client = s3(location);
    await client.send(
      new CreateBucketCommand({
        Bucket: bucketOf(location),
        CreateBucketConfiguration:
          region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint },
      }),
    );
    // An object of an earlier run must not count as this run's hit.
    await client.send(
      new PutObjectCommand({
        Bucket: bucketOf(location),
        Key: `${EVENT_OBJECTS.partitionPrefix(smokeAccountId(location), '2026-01-01')}earlier.json.gz`,
        Body: '{}',
      }),
    );
    client.destroy();
    await createStack(region, awsNames.regionalStack(STAGE, location), {
      [EVENT_BUCKET_OUTPUT]: bucketOf(location),
    });
  }
}, 60_000);

afterAll(async () => {
  await new Promise((r) => cdn?.close(r));
  await moto?.stop();
});

beforeEach(() => {
  broken.clear();
  hits.length = 0;
});

async function smoke(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { region: _r, ...settings } = motoClientConfig(moto.endpoint);
  const code = await runSmokeCli(['--stage', STAGE, '--poll', '1', ...argv], {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    awsClientConfig: settings,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('every region receives its hit: exit 0 with one ok line per region', async () => {
  const { code, out } = await smoke('--timeout', '20');
  expect(hits.sort()).toEqual(LOCATIONS.map((l) => `${l} ${smokeAccountId(l)}`).sort());
  for (const location of LOCATIONS)
    expect(out).toMatch(
      new RegExp(
        `^${location}\\s+ok\\s+[\\d.]+ s\\s+s3://${bucketOf(location)}/account=${smokeAccountId(location)}/dt=`,
        'm',
      ),
    );
  expect(out).toContain('smoke check of staging: passed');
  expect(code).toBe(0);
}, 60_000);

test('a region whose hit never lands fails alone, after the timeout: exit 1', async () => {
  broken.add('europe');
  const started = Date.now();
  const { code, out } = await smoke('--timeout', '4');
  expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
  expect(out).toMatch(
    /^europe\s+FAILED\s+[\d.]+ s\s+no new object under s3:\/\/\S+\/account=acc_smokeeurope\/ within 4 s$/m,
  );
  expect(out).toMatch(/^americas\s+ok/m);
  expect(out).toMatch(/^apac\s+ok/m);
  expect(out).toContain('smoke check of staging: FAILED');
  expect(code).toBe(1);
}, 60_000);

test('--location checks only the regions named', async () => {
  const { code, out } = await smoke('--timeout', '20', '--location', 'apac');
  expect(hits).toEqual([`apac ${smokeAccountId('apac')}`]);
  expect(out).not.toMatch(/^(americas|europe)\s/m);
  expect(code).toBe(0);
}, 60_000);

test('--role-arn reads through an assumed role (moto STS)', async () => {
  const role = 'arn:aws:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-us-east-1';
  const { code, out } = await smoke('--timeout', '20', '--location', 'europe', '--role-arn', role);
  expect(out).toMatch(/^europe\s+ok/m);
  expect(code).toBe(0);
}, 60_000);

test('--setup writes one active smoke account per location, home there, with its campaign', async () => {
  const { region: _r, forcePathStyle: _f, ...settings } = motoClientConfig(moto.endpoint);
  const client = new DynamoDBClient({ ...settings, region: REGIONS.americas.aws });
  await client.send(new CreateTableCommand(directoryTableDefinition(names.directoryTable(STAGE))));
  const { code, out } = await smoke('--setup');
  expect(code).toBe(0);
  expect(out).toContain(
    `npm run publish-config -- ${SMOKE_CAMPAIGN} --account acc_smokeapac --stage ${STAGE}`,
  );
  const directory = new DynamoDirectory({ client, tableName: names.directoryTable(STAGE) });
  for (const location of LOCATIONS) {
    const accountId = smokeAccountId(location);
    expect(await directory.getAccount(accountId)).toMatchObject({ status: 'active', homeLocation: location });
    expect(await directory.getCampaign(accountId, SMOKE_CAMPAIGN)).toMatchObject({ countAnonymous: true });
  }
  // Running it again keeps the accounts' creation time.
  const before = (await directory.getAccount(smokeAccountId('europe')))!.createdAt;
  expect(await smoke('--setup')).toMatchObject({ code: 0 });
  expect((await directory.getAccount(smokeAccountId('europe')))!.createdAt).toBe(before);
  client.destroy();
}, 60_000);

test('a stage whose stacks are missing fails with the stack named: exit 1', async () => {
  const { code, err } = await smoke('--stage', 'prod', '--timeout', '5');
  expect(err).toContain(`cannot describe stack ${edgeStackName('prod')} in us-east-1`);
  expect(hits).toEqual([]);
  expect(code).toBe(1);
}, 60_000);
