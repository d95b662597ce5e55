/**
 * The incident service's AWS adapters on a real moto_server, and `npm run incident -- --stage` over them:
 * the DynamoDB incident store (conditional writes on the version), the revoke in the DynamoDB directory
 * (conditional on the key being active), the SNS notifier with its message read back through an SQS
 * subscription, the actor from STS GetCallerIdentity, and the edge stack's outputs from CloudFormation.
 *
 * moto does not implement two APIs, so only their clients are mocked (aws-sdk-client-mock): the CloudFront
 * KeyValueStore (over an in-memory map) and CloudWatch's GetInsightRuleReport. Everything else is moto
 * over HTTP. This file starts its own moto: the edge stack's and the tables' names are fixed by the stage.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { CloudWatchClient, GetInsightRuleReportCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { EDGE_STACK_OUTPUTS, EDGE_STORE, edgeStackName, names, parseIncidentEnv } from '../../../platform';
import { generateApiKey } from '../../../services/shared/api-keys';
import {
  DynamoDirectory,
  directoryTableDefinition,
} from '../../../services/shared/directory/dynamo-directory';
import { callerArn } from '../../../services/incident/src/aws/caller-identity';
import {
  DynamoIncidentStore,
  incidentTableDefinition,
} from '../../../services/incident/src/aws/dynamo-incident-store';
import { REPORT_WINDOW_MS, topContributorKey } from '../../../services/incident/src/aws/insight-rule';
import { SnsNotifier } from '../../../services/incident/src/aws/sns-notifier';
import { runIncidentCli } from '../../../services/incident/src/cli';
import type { Incident } from '../../../services/incident/src/core/model';
import { ItemKeyDirectory } from '../../../services/incident/src/directory-store';
import { contain } from '../../../services/incident/src/lambda';
import { createIncidentRuntime } from '../../../services/incident/src/runtime';
import { motoClientConfig, startMoto, type MotoServer } from '../../../tooling/moto';

const STAGE = 'dev';
const ACCOUNT = 'acc_awsshop0001';
const KVS_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-incident';

let moto: MotoServer;
let config: ReturnType<typeof motoClientConfig>;
let settings: Record<string, unknown>;
let directory: DynamoDirectory;
let sqs: SQSClient;
let queueUrl: string;
const kvsEntries = new Map<string, string>();
const kvs = mockClient(CloudFrontKeyValueStoreClient);

async function newKey(): Promise<string> {
  const k = generateApiKey();
  await directory.putApiKey({
    keyId: k.keyId,
    accountId: ACCOUNT,
    secretHash: k.secretHash,
    status: 'active',
    createdAt: '2026-01-01T00:00:00Z',
  });
  return k.keyId;
}

/** The SNS envelopes delivered to the queue so far. */
async function delivered(): Promise<Record<string, unknown>[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body!) as Record<string, unknown>);
}

beforeAll(async () => {
  moto = await startMoto();
  config = motoClientConfig(moto.endpoint);
  const { region: _region, ...rest } = config;
  settings = rest;
  const ddb = new DynamoDBClient(config);
  await ddb.send(new CreateTableCommand(directoryTableDefinition(names.directoryTable(STAGE))));
  await ddb.send(new CreateTableCommand(incidentTableDefinition(names.incidentTable(STAGE))));
  directory = new DynamoDirectory({ client: ddb, tableName: names.directoryTable(STAGE) });
  await directory.putAccount({
    accountId: ACCOUNT,
    status: 'active',
    contactEmail: 'ops@awsshop.example',
    createdAt: '2026-01-01T00:00:00Z',
  });
  // The notice topic by its platform name, with a queue subscribed to read what subscribers receive.
  const sns = new SNSClient(config);
  const topic = await sns.send(new CreateTopicCommand({ Name: names.customerNoticeTopic(STAGE) }));
  sqs = new SQSClient(config);
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'notice-reader' }))).QueueUrl!;
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn!, Protocol: 'sqs', Endpoint: queueArn }));
  // The edge stack as the tool finds it: only its outputs matter here.
  await new CloudFormationClient(config).send(
    new CreateStackCommand({
      StackName: edgeStackName(STAGE),
      TemplateBody: JSON.stringify({
        Resources: { Placeholder: { Type: 'AWS::SNS::Topic' } },
        Outputs: { [EDGE_STACK_OUTPUTS.keyValueStoreArn]: { Value: KVS_ARN } },
      }),
    }),
  );
});
afterAll(() => moto?.stop());

beforeEach(() => {
  kvs.reset();
  kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'e1' });
  kvs.on(GetKeyCommand).callsFake(async (input: { Key: string }) => ({ Value: kvsEntries.get(input.Key) }));
  kvs
    .on(UpdateKeysCommand)
    .callsFake(async (input: { KvsARN: string; Puts?: { Key: string; Value: string }[] }) => {
      if (input.KvsARN !== KVS_ARN) throw new Error(`unexpected store ${input.KvsARN}`);
      for (const p of input.Puts ?? []) kvsEntries.set(p.Key, p.Value);
      return { ETag: 'e2' };
    });
});

describe('the DynamoDB incident store', () => {
  const incident = (id: string, detectedAt: string): Incident => ({
    id,
    accountId: ACCOUNT,
    keyIds: [],
    summary: 's',
    affectsPersonalData: true,
    detectedAt,
    status: 'open',
    timeline: [{ step: 'detected', at: detectedAt, actor: 'a', detail: 's' }],
    version: 1,
  });

  test('creates once, replaces only over the expected version, lists newest first', async () => {
    const store = new DynamoIncidentStore({ client: new DynamoDBClient(config), tableName: 'incidents-cas' });
    await new DynamoDBClient(config).send(new CreateTableCommand(incidentTableDefinition('incidents-cas')));
    const a = incident('inc_20260401_aaaaaa', '2026-04-01T00:00:00.000Z');
    const b = incident('inc_20260402_bbbbbb', '2026-04-02T00:00:00.000Z');
    expect(await store.create(a)).toBe(true);
    expect(await store.create({ ...a, summary: 'overwrite?' })).toBe(false);
    expect(await store.create(b)).toBe(true);
    expect(await store.get(a.id)).toEqual(a);
    const next = { ...a, status: 'closed' as const, resolution: 'r', version: 2 };
    expect(await store.update(next, 1)).toBe(true);
    expect(await store.update({ ...a, summary: 'stale', version: 2 }, 1)).toBe(false);
    expect(await store.get(a.id)).toEqual(next);
    expect((await store.list()).map((i) => i.id)).toEqual([b.id, a.id]);
    expect(await store.get('inc_20260101_nonexi')).toBeUndefined();
  });
});

describe('the DynamoDB directory', () => {
  test('revokes an active key once (conditional write) and never overwrites a key id', async () => {
    const keys = new ItemKeyDirectory(directory, 'dynamodb');
    const keyId = await newKey();
    const at = new Date('2026-05-01T10:00:00Z');
    expect(await keys.revokeApiKey(keyId, at, 'leaked')).toBe(true);
    expect(await keys.revokeApiKey(keyId, new Date(), 'again')).toBe(false);
    expect(await directory.getApiKey(keyId)).toMatchObject({
      status: 'revoked',
      revokedAt: at.toISOString(),
      revokedReason: 'leaked',
    });
    const taken = (await directory.getApiKey(keyId))!;
    expect(await keys.createApiKey({ ...taken, status: 'active', secretHash: 'ff' })).toBe(false);
    expect((await directory.getApiKey(keyId))?.secretHash).toBe(taken.secretHash);
  });
});

describe('the SNS notifier and the STS actor', () => {
  test('publishes subject, message and attributes, read back through an SQS subscription', async () => {
    await delivered();
    const topicArn = `arn:aws:sns:us-east-1:123456789012:${names.customerNoticeTopic(STAGE)}`;
    const notifier = new SnsNotifier(new SNSClient(config), topicArn);
    const where = await notifier.send({
      incidentId: 'inc_20260501_abcdef',
      accountId: ACCOUNT,
      to: 'ops@awsshop.example',
      subject: 'Security incident inc_20260501_abcdef affecting your Trackstack account',
      body: 'Dear customer,\n\nWhat happened\n',
      sequence: 1,
    });
    expect(where).toMatch(/^sns message \S+$/);
    const [message] = await delivered();
    expect(message).toMatchObject({
      Type: 'Notification',
      TopicArn: topicArn,
      Subject: 'Security incident inc_20260501_abcdef affecting your Trackstack account',
      Message: 'Dear customer,\n\nWhat happened\n',
      MessageAttributes: {
        accountId: { Type: 'String', Value: ACCOUNT },
        contactEmail: { Type: 'String', Value: 'ops@awsshop.example' },
        incidentId: { Type: 'String', Value: 'inc_20260501_abcdef' },
      },
    });
  });

  test('the actor is the caller ARN that STS GetCallerIdentity reports', async () => {
    expect(await callerArn(new STSClient(config))).toMatch(/^arn:aws:(sts|iam)::123456789012:\S+$/);
  });
});

describe('npm run incident -- --stage (in-process) against the stage resources', () => {
  async function run(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await runIncidentCli(argv, {
      stdout: (t) => (out += `${t}\n`),
      stderr: (t) => (err += `${t}\n`),
      env: {},
      awsClientConfig: settings,
    });
    return { code, out, err };
  }

  test('revoke-key, notify and show by the platform names, the edge store from the edge stack, actor from STS', async () => {
    const keyId = await newKey();
    await delivered();
    const revoked = await run('revoke-key', keyId, '--reason', 'leaked in a ticket', '--stage', STAGE);
    expect(revoked.err).toBe('');
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain(`edge store: ${KVS_ARN}: revoked:${keyId}`);
    expect(kvsEntries.get(EDGE_STORE.revokedKey(keyId))).toBeDefined();
    expect((await directory.getApiKey(keyId))?.status).toBe('revoked');
    const id = /Opened incident (inc_\d{8}_[a-z0-9]{6})/.exec(revoked.out)![1]!;
    const stored = await new DynamoIncidentStore({
      client: new DynamoDBClient(config),
      tableName: names.incidentTable(STAGE),
    }).get(id);
    const actor = await callerArn(new STSClient(config));
    expect(stored?.timeline.map((s) => [s.step, s.actor])).toEqual([
      ['detected', actor],
      ['contained', actor],
    ]);

    const notified = await run('notify', id, '--stage', STAGE);
    expect(notified.code).toBe(0);
    const [message] = await delivered();
    expect(message?.Message).toContain(`we revoked API key ${keyId}`);
    expect(message?.MessageAttributes).toMatchObject({ contactEmail: { Value: 'ops@awsshop.example' } });

    const again = await run('revoke-key', keyId, '--reason', 'again', '--stage', STAGE);
    expect(again.code).toBe(2);
    expect(kvs.commandCalls(UpdateKeysCommand)).toHaveLength(1);
    const shown = await run('show', id, '--stage', STAGE);
    expect(shown.out).toContain(`notified   ${actor}`);
  });
});

describe('automatic containment on AWS', () => {
  test('an alarm on a Contributor Insights rule revokes its top key, recorded as the function', async () => {
    const keyId = await newKey();
    const cloudWatch = mockClient(CloudWatchClient);
    cloudWatch.on(GetInsightRuleReportCommand).resolves({
      Contributors: [{ Keys: [keyId, '203.0.113.7'], ApproximateAggregateValue: 900, Datapoints: [] }],
    });
    const runtime = await createIncidentRuntime(
      parseIncidentEnv({
        TS_STAGE: STAGE,
        TS_DIRECTORY: 'dynamodb',
        TS_TABLE_NAME: names.directoryTable(STAGE),
        TS_INCIDENT_STORE: 'dynamodb',
        TS_INCIDENT_TABLE: names.incidentTable(STAGE),
        TS_EDGE_STORE: 'kvs',
        TS_KVS_ARN: KVS_ARN,
        TS_NOTIFIER: 'sns',
        TS_NOTICE_TOPIC_ARN: `arn:aws:sns:us-east-1:123456789012:${names.customerNoticeTopic(STAGE)}`,
      }),
      { awsClientConfig: settings },
    );
    const at = new Date('2026-05-01T10:00:00Z');
    const event = {
      source: 'aws.cloudwatch',
      alarmData: {
        alarmName: 'trackstack-dev-key-distinct-ips',
        state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: at.toISOString() },
        configuration: {
          metrics: [
            { id: 'm1', expression: "INSIGHT_RULE_METRIC('trackstack-dev-key-ips', 'UniqueContributors')" },
          ],
        },
      },
    };
    const cw = new CloudWatchClient(config);
    const r = await contain(event, {
      runtime,
      topContributor: (rule, when) => topContributorKey(cw, rule, when),
      actor: 'lambda:trackstack-dev-incident-contain',
    });
    expect(r).toMatchObject({ outcome: 'contained', keyId });
    expect(cloudWatch.commandCalls(GetInsightRuleReportCommand)[0]?.args[0].input).toEqual({
      RuleName: 'trackstack-dev-key-ips',
      StartTime: new Date(at.getTime() - REPORT_WINDOW_MS),
      EndTime: new Date(at.getTime() + 60_000),
      Period: 60,
      MaxContributorCount: 100,
      OrderBy: 'Sum',
    });
    expect((await directory.getApiKey(keyId))?.status).toBe('revoked');
    const incident = await runtime.incidents.get((r as { incidentId: string }).incidentId);
    expect(incident?.timeline.map((s) => s.actor)).toEqual([
      'lambda:trackstack-dev-incident-contain',
      'lambda:trackstack-dev-incident-contain',
    ]);
    cloudWatch.restore();
  });
});
