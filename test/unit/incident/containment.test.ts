/**
 * The containment handler's logic over the local adapters: both alarm event shapes, the key from the event
 * or from the Contributor Insights rule's top contributor (a fake here; the AWS lookup is tested against
 * its mock in the integration tier), idempotence, and the actors recorded.
 */
import { hostname, userInfo } from 'node:os';
import { EDGE_STORE } from '../../../platform';
import { lambdaActor, localActor } from '../../../services/incident/src/actor';
import { InvalidAlarmEventError, parseAlarmEvent } from '../../../services/incident/src/alarm-event';
import { contain, type ContainDeps } from '../../../services/incident/src/lambda';
import type { IncidentRuntime } from '../../../services/incident/src/runtime';
import { createWorld, SHOP, type World } from './world';

let w: World;
let asked: { rule: string; at: Date; region: string | undefined }[];
let deps: ContainDeps;
beforeEach(async () => {
  w = await createWorld();
  asked = [];
  deps = {
    runtime: { service: w.service } as unknown as IncidentRuntime,
    topContributor: async (rule, at, region) => {
      asked.push({ rule, at, region });
      return w.keys.shop;
    },
    actor: lambdaActor({ AWS_LAMBDA_FUNCTION_NAME: 'trackstack-dev-incident-contain' }),
  };
});
afterEach(() => w.close());

const eventBridge = (detail: Record<string, unknown>) => ({
  version: '0',
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  time: '2026-05-01T10:00:00Z',
  detail: {
    alarmName: 'trackstack-dev-key-failures',
    state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-05-01T10:00:00.000+0000' },
    ...detail,
  },
});
const alarmAction = {
  source: 'aws.cloudwatch',
  alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:trackstack-dev-key-rate',
  time: '2026-05-01T10:00:00.000+0000',
  alarmData: {
    alarmName: 'trackstack-dev-key-rate',
    state: {
      value: 'ALARM',
      reason: 'Threshold Crossed: 1 datapoint',
      timestamp: '2026-05-01T10:00:00.000+0000',
    },
    configuration: {
      metrics: [
        {
          id: 'm1',
          expression: "INSIGHT_RULE_METRIC('trackstack-dev-key-rate', 'MaxContributorValue')",
          returnData: true,
        },
      ],
    },
  },
};

test('an EventBridge alarm change naming the key opens an incident and revokes the key, as the function', async () => {
  const r = await contain(eventBridge({ keyId: w.keys.shop }), deps);
  expect(r).toMatchObject({ outcome: 'contained', keyId: w.keys.shop });
  expect((await w.directory.getApiKey(w.keys.shop))?.status).toBe('revoked');
  expect(await w.edge.get(EDGE_STORE.revokedKey(w.keys.shop))).toBeDefined();
  const incident = await w.service.show((r as { incidentId: string }).incidentId);
  expect(incident.accountId).toBe(SHOP);
  expect(incident.timeline.map((s) => [s.step, s.actor])).toEqual([
    ['detected', 'lambda:trackstack-dev-incident-contain'],
    ['contained', 'lambda:trackstack-dev-incident-contain'],
  ]);
  expect(incident.timeline[1]?.detail).toContain(
    'automatic containment: alarm trackstack-dev-key-failures (Threshold Crossed)',
  );
  expect(asked).toEqual([]);
});

test('an alarm action on a Contributor Insights rule asks the rule for its top key at the alarm time', async () => {
  const r = await contain(alarmAction, deps);
  expect(r).toMatchObject({ outcome: 'contained', keyId: w.keys.shop });
  expect(asked).toEqual([
    { rule: 'trackstack-dev-key-rate', at: new Date('2026-05-01T10:00:00Z'), region: 'us-east-1' },
  ]);
});

test('a second alarm on a revoked key records nothing new', async () => {
  await contain(alarmAction, deps);
  const before = await w.snapshot();
  expect(await contain(alarmAction, deps)).toEqual({ outcome: 'already-revoked', keyId: w.keys.shop });
  expect(await w.snapshot()).toEqual(before);
});

test('a change to OK, an unknown key, or a rule without a top key contains nothing', async () => {
  const before = await w.snapshot();
  const ok = eventBridge({ keyId: w.keys.shop, state: { value: 'OK', reason: 'back' } });
  expect(await contain(ok, deps)).toEqual({ outcome: 'ignored', reason: 'alarm state is OK' });
  expect(await contain(eventBridge({ keyId: 'zzzzzzzzzzzzzzzz' }), deps)).toMatchObject({
    outcome: 'ignored',
    reason: 'unknown API key zzzzzzzzzzzzzzzz',
  });
  const none = { ...deps, topContributor: async () => undefined };
  expect(await contain(alarmAction, none)).toMatchObject({
    outcome: 'ignored',
    reason: expect.stringContaining('no key as top contributor'),
  });
  expect(await w.snapshot()).toEqual(before);
});

test('an event that is no alarm change, or names a malformed key, is an error (a wiring mistake)', () => {
  expect(() => parseAlarmEvent({ hello: 'world' })).toThrow(InvalidAlarmEventError);
  expect(() => parseAlarmEvent(eventBridge({ keyId: 'tsk_the_whole_key' }))).toThrow(/is not an API key id/);
  expect(() => parseAlarmEvent({ detail: { alarmName: 'a' } })).toThrow(/no state.value/);
});

test('actors: the local user at this host, the Lambda function by name', () => {
  expect(localActor()).toBe(`${userInfo().username}@${hostname()}`);
  expect(lambdaActor({ AWS_LAMBDA_FUNCTION_NAME: 'fn' })).toBe('lambda:fn');
});

test('the handler builds its runtime from the environment once and contains as lambda:<function name>', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    TS_DATA_DIR: w.dataDir,
    TS_LOG_LEVEL: 'silent',
    AWS_LAMBDA_FUNCTION_NAME: 'trackstack-dev-incident-contain',
  });
  try {
    const { handler } = await import('../../../services/incident/src/lambda');
    const r = await handler(eventBridge({ keyId: w.keys.shop2 }));
    expect(r).toMatchObject({ outcome: 'contained', keyId: w.keys.shop2 });
    const incident = await w.service.show((r as { incidentId: string }).incidentId);
    expect(incident.timeline[1]?.actor).toBe('lambda:trackstack-dev-incident-contain');
    expect(await handler(eventBridge({ keyId: w.keys.shop2 }))).toEqual({
      outcome: 'already-revoked',
      keyId: w.keys.shop2,
    });
  } finally {
    process.env = saved;
  }
});
