import type { Template } from 'aws-cdk-lib/assertions';
import { synthesizeSecurity, type SecuritySynth } from './security-support';
import {
  actions,
  boundaryOf,
  partitionsAllowed,
  resourcesOf,
  rolePolicy,
  type StatementJson,
  temporaryOutdir,
} from './support';

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties: Json; DeletionPolicy?: string }>;
const resourcesOfTemplate = (t: Template) => t.toJSON().Resources as Resources;
const find = (t: Template, type: string, match: (p: Json) => boolean = () => true) =>
  Object.entries(resourcesOfTemplate(t)).filter(([, r]) => r.Type === type && match(r.Properties));
/** The one resource of a type that matches (fails the test when there are none or several). */
function one(t: Template, type: string, match: (p: Json) => boolean = () => true) {
  const found = find(t, type, match);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const offDir = temporaryOutdir('security-off');
const onDir = temporaryOutdir('security-on');
let off: SecuritySynth;
let on: SecuritySynth;
beforeAll(() => {
  off = synthesizeSecurity({}, offDir);
  on = synthesizeSecurity({ autoContain: true, guardDuty: true }, onDir);
});

function containmentRole(t: Template): string {
  const [entry] = find(t, 'AWS::IAM::Role', (p) => String(p.Description).includes('incident-contain'));
  return entry![0];
}

describe('the containment function', () => {
  test('runs the incident-contain bundle with the incident environment', () => {
    const [, fn] = one(off.security, 'AWS::Lambda::Function', (p) =>
      String(p.Description).startsWith('Trackstack incident containment'),
    );
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      TS_STAGE: 'dev',
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: 'trackstack-dev-directory',
      TS_INCIDENT_STORE: 'dynamodb',
      TS_EDGE_STORE: 'kvs',
      TS_NOTIFIER: 'sns',
    });
    expect(env.TS_INCIDENT_TABLE).toEqual({ Ref: expect.stringMatching(/^IncidentsTable/) as unknown });
    // The edge store comes from the edge stack's output (a weak reference, as cdk.json asks).
    expect(JSON.stringify(env.TS_KVS_ARN)).toContain('"StackName":"Trackstack-dev-edge"');
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
  });

  test('may revoke keys, write incidents and list them for the 72-hour clock, nothing else: exact actions and resources', () => {
    const statements = rolePolicy(off.security, containmentRole(off.security));
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s])) as Record<string, StatementJson>;
    expect(Object.keys(bySid).sort()).toEqual(
      [
        'DirectoryKeyThroughDynamoDb',
        'EncryptDeadLettersThroughSqs',
        'IncidentTableKeyThroughDynamoDb',
        'ListIncidentsForTheClock',
        'NameTheKeyOfAnAlarm',
        'ReadAndWriteIncidents',
        'ReadKeysAndAccounts',
        'RevokeKeys',
        'RevokeKeysAtEdge',
        'SendFailedInvocationsToDeadLetterQueue',
        'WriteOwnLogs',
        'WriteTraces',
      ].sort(),
    );
    // Directory: read API keys and accounts, write API keys only.
    expect(partitionsAllowed(statements, 'dynamodb:GetItem')).toEqual([
      'ACCOUNT#*',
      'APIKEY#*',
      'INCIDENT#*',
    ]);
    expect(partitionsAllowed(statements, 'dynamodb:PutItem')).toEqual(['APIKEY#*', 'INCIDENT#*']);
    const directoryArn = JSON.stringify(resourcesOf(bySid.RevokeKeys!)[0]);
    expect(directoryArn).toContain(':table/trackstack-dev-directory');
    expect(actions(bySid.RevokeKeys!)).toEqual(['dynamodb:PutItem']);
    // Nothing deletes, scans the directory, or touches IAM; no SNS publish (an operator notifies the
    // customer). The one scan is of the incident table, for the hourly 72-hour clock check.
    const all = statements.filter((s) => s.Effect === 'Allow').flatMap(actions);
    for (const forbidden of [/Delete/, /^iam:/, /^sns:/, /BatchWrite/, /^s3:/])
      expect(all.filter((a) => forbidden.test(a))).toEqual([]);
    expect(statements.filter((s) => s.Effect === 'Allow' && actions(s).includes('dynamodb:Scan'))).toEqual([
      bySid.ListIncidentsForTheClock,
    ]);
    expect(actions(bySid.ListIncidentsForTheClock!)).toEqual(['dynamodb:Scan']);
    expect(JSON.stringify(resourcesOf(bySid.ListIncidentsForTheClock!))).toContain('IncidentsTable');
    expect(actions(bySid.RevokeKeysAtEdge!).sort()).toEqual([
      'cloudfront-keyvaluestore:DescribeKeyValueStore',
      'cloudfront-keyvaluestore:GetKey',
      'cloudfront-keyvaluestore:UpdateKeys',
    ]);
    // The insight rules of the containable signals, in each location's region.
    const rules = resourcesOf(bySid.NameTheKeyOfAnAlarm!).map((r) => JSON.stringify(r));
    expect(rules).toHaveLength(9);
    for (const [location, region] of [
      ['americas', 'us-east-1'],
      ['europe', 'eu-west-1'],
      ['apac', 'ap-southeast-1'],
    ])
      for (const signal of ['requests', 'ips', 'countries'])
        expect(
          rules.some(
            (r) =>
              r.includes(`:cloudwatch:${region}:`) &&
              r.includes(`insight-rule/trackstack-dev-${location}-key-${signal}`),
          ),
        ).toBe(true);
    expect(rules.some((r) => r.includes('failures'))).toBe(false);
    // Keys only through DynamoDB (the tables) and SQS (its dead-letter queue).
    for (const sid of ['DirectoryKeyThroughDynamoDb', 'IncidentTableKeyThroughDynamoDb'])
      expect(bySid[sid]!.Condition?.StringEquals?.['kms:ViaService']).toBe(
        'dynamodb.us-east-1.amazonaws.com',
      );
  });

  test('carries a boundary of its own that allows no more than it is granted, and never IAM', () => {
    const role = resourcesOfTemplate(off.security)[containmentRole(off.security)]!;
    const boundaryRef = JSON.stringify(role.Properties.PermissionsBoundary);
    const [boundaryId, boundary] = one(off.security, 'AWS::IAM::ManagedPolicy', (p) =>
      String(p.Description).startsWith('Permissions boundary of the containment function'),
    );
    expect(boundaryRef).toContain(boundaryId);
    const statements = (boundary.Properties.PolicyDocument as { Statement: StatementJson[] }).Statement;
    const allowed = statements.filter((s) => s.Effect === 'Allow').flatMap(actions);
    expect(allowed.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
    ]);
    expect(statements.find((s) => s.Sid === 'NeverEscalate')?.Effect).toBe('Deny');
  });
});

describe('automatic containment (stage option autoContain)', () => {
  test('off: the per-key alarms reach on-call, and nothing but the hourly clock check invokes the function', () => {
    const rules = find(off.security, 'AWS::Events::Rule');
    const invoking = rules.filter(([, r]) =>
      JSON.stringify(r.Properties.Targets).includes('ContainmentFunction'),
    );
    expect(invoking.map(([, r]) => r.Properties.ScheduleExpression)).toEqual(['rate(1 hour)']);
    expect(invoking[0]![1].Properties.EventPattern).toBeUndefined();
    expect(find(off.security, 'AWS::Lambda::Permission')).toHaveLength(1);
    const onCall = rules.filter(([, r]) =>
      JSON.stringify(r.Properties.Targets).includes('IncidentsIncidentTopic'),
    );
    expect(onCall).toHaveLength(1);
    expect(onCall[0]![1].Properties.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { alarmName: [{ prefix: 'trackstack-dev-key-' }], state: { value: ['ALARM'] } },
    });
  });

  test('on: the containable alarms of every location invoke the function, with retries and a dead-letter queue; on-call is still told', () => {
    const rules = find(
      on.security,
      'AWS::Events::Rule',
      (p) => JSON.stringify(p.Targets).includes('ContainmentFunction') && p.ScheduleExpression === undefined,
    );
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    const names = (rule.Properties.EventPattern as { detail: { alarmName: string[] } }).detail.alarmName;
    expect([...names].sort()).toEqual(
      ['americas', 'europe', 'apac']
        .flatMap((l) => ['requests', 'ips', 'countries'].map((s) => `trackstack-dev-key-${s}-${l}`))
        .sort(),
    );
    const [target] = rule.Properties.Targets as Json[];
    expect(target).toMatchObject({
      RetryPolicy: { MaximumRetryAttempts: 2 },
      DeadLetterConfig: { Arn: expect.anything() as unknown },
    });
    // The raw state change: the handler reads the rule from the alarm's metric expression.
    expect(target!.Input).toBeUndefined();
    expect(target!.InputTransformer).toBeUndefined();
    const permissions = find(on.security, 'AWS::Lambda::Permission', (p) =>
      JSON.stringify(p.SourceArn).includes('ContainmentTrigger'),
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]![1].Properties).toMatchObject({
      Principal: 'events.amazonaws.com',
      Action: 'lambda:InvokeFunction',
    });
    expect(
      find(on.security, 'AWS::Events::Rule', (p) =>
        JSON.stringify(p.Targets).includes('IncidentsIncidentTopic'),
      ),
    ).toHaveLength(2); // per-key alarms and GuardDuty findings
  });
});

describe('per-key detection in each location', () => {
  test.each(['americas', 'europe', 'apac'])(
    '%s: four insight rules over the ingest log group, keyed by key id',
    (location) => {
      const t = off.regional[location]!;
      const rules = find(t, 'AWS::CloudWatch::InsightRule');
      const byName = Object.fromEntries(
        rules.map(([, r]) => [r.Properties.RuleName, r.Properties]),
      ) as Record<string, Json>;
      const body = (signal: string) => {
        const raw = byName[`trackstack-dev-${location}-key-${signal}`]!.RuleBody as {
          'Fn::Join': [string, unknown[]];
        };
        const text = raw['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'LOG_GROUP')).join('');
        return JSON.parse(text) as {
          LogGroupNames: string[];
          LogFormat: string;
          Contribution: { Keys: string[]; Filters: Json[] };
        };
      };
      expect(Object.keys(byName)).toHaveLength(4);
      const expected: Record<string, [string[], string]> = {
        requests: [['$.keyId'], 'ok'],
        ips: [['$.keyId', '$.clientIp'], 'ok'],
        countries: [['$.keyId', '$.country'], 'ok'],
        failures: [['$.keyId'], 'failed'],
      };
      for (const [signal, [keys, outcome]] of Object.entries(expected)) {
        const b = body(signal);
        expect(b.LogGroupNames).toEqual(['LOG_GROUP']);
        expect(b.LogFormat).toBe('JSON');
        expect(b.Contribution.Keys).toEqual(keys);
        expect(b.Contribution.Filters).toEqual([
          { Match: '$.msg', In: ['api key authentication'] },
          { Match: '$.outcome', In: [outcome] },
        ]);
      }
      // The log group is the ingest function's.
      const raw = JSON.stringify(rules[0]![1].Properties.RuleBody);
      expect(raw).toMatch(/"Ref":"IngestFunctionLogsLogGroup/);
    },
  );

  test.each([
    ['requests', 'MaxContributorValue', 30000],
    ['ips', 'UniqueContributors', 200],
    ['countries', 'UniqueContributors', 50],
    ['failures', 'MaxContributorValue', 50],
  ])(
    '%s: an alarm on INSIGHT_RULE_METRIC(%s) over %d, to the regional topic',
    (signal, statistic, threshold) => {
      const t = off.regional.europe!;
      const [, alarm] = one(
        t,
        'AWS::CloudWatch::Alarm',
        (p) => p.AlarmName === `trackstack-dev-key-${signal}-europe`,
      );
      expect(alarm.Properties).toMatchObject({
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        Metrics: [
          {
            Expression: `INSIGHT_RULE_METRIC('trackstack-dev-europe-key-${signal}', '${statistic}')`,
            Period: 300,
            ReturnData: true,
          },
        ],
        AlarmActions: [{ Ref: expect.stringMatching(/^AlarmTopic/) as unknown }],
      });
    },
  );

  test('outside the security region, the alarms (and with guardDuty, the findings) are forwarded to us-east-1', () => {
    for (const location of ['europe', 'apac']) {
      const forward = find(off.regional[location]!, 'AWS::Events::Rule', (p) =>
        String(JSON.stringify(p.EventPattern)).includes('CloudWatch Alarm State Change'),
      );
      expect(forward).toHaveLength(1);
      expect(JSON.stringify(forward[0]![1].Properties.Targets)).toContain('arn:aws:events:us-east-1:');
      expect(
        find(on.regional[location]!, 'AWS::Events::Rule', (p) =>
          String(JSON.stringify(p.EventPattern)).includes('aws.guardduty'),
        ),
      ).toHaveLength(1);
    }
    // In us-east-1 itself the alarms are on the security stack's bus already.
    expect(
      find(off.regional.americas!, 'AWS::Events::Rule', (p) =>
        String(JSON.stringify(p.EventPattern)).includes('CloudWatch Alarm'),
      ),
    ).toEqual([]);
    // The forwarding role stays inside the regional boundary, which allows PutEvents on that bus only.
    const boundary = boundaryOf(off.regional.europe!);
    const put = boundary.find((s) => s.Sid === 'ForwardSecurityEvents')!;
    expect(actions(put)).toEqual(['events:PutEvents']);
    expect(JSON.stringify(put.Resource)).toContain('arn:aws:events:us-east-1:');
  });
});

describe('GuardDuty (stage option guardDuty)', () => {
  test('off: no detector anywhere, no findings route', () => {
    for (const t of Object.values(off.regional)) expect(find(t, 'AWS::GuardDuty::Detector')).toEqual([]);
    expect(
      find(off.security, 'AWS::Events::Rule', (p) =>
        String(JSON.stringify(p.EventPattern)).includes('aws.guardduty'),
      ),
    ).toEqual([]);
  });

  test('on: a detector in every location, findings of severity 4 or more to the incident topic', () => {
    for (const t of Object.values(on.regional)) expect(find(t, 'AWS::GuardDuty::Detector')).toHaveLength(1);
    const [, route] = one(on.security, 'AWS::Events::Rule', (p) =>
      String(JSON.stringify(p.EventPattern)).includes('aws.guardduty'),
    );
    expect(route.Properties.EventPattern).toEqual({
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      detail: { severity: [{ numeric: ['>=', 4] }] },
    });
    expect(JSON.stringify(route.Properties.Targets)).toContain('IncidentsIncidentTopic');
  });
});

describe('the incident store', () => {
  test('the table: pk/sk, customer-managed key, point-in-time recovery, deletion protection, retained', () => {
    const [, table] = one(off.security, 'AWS::DynamoDB::GlobalTable');
    expect(table.Properties).toMatchObject({
      TableName: 'trackstack-dev-incidents',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        {
          Region: 'us-east-1',
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: {
            KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^IncidentsKey/), 'Arn'] },
          },
        },
      ],
    });
    expect(table.DeletionPolicy).toBe('Retain');
  });

  test('the topics: on-call encrypted with the incident key, notices with a KMS key; both TLS only', () => {
    const topics = Object.fromEntries(
      find(off.security, 'AWS::SNS::Topic').map(([, r]) => [r.Properties.TopicName, r.Properties]),
    );
    expect(JSON.stringify(topics['trackstack-dev-incidents']!.KmsMasterKeyId)).toContain('IncidentsKey');
    expect(JSON.stringify(topics['trackstack-dev-customer-notices']!.KmsMasterKeyId)).toContain(
      'alias/aws/sns',
    );
  });

  test('no purge role of any location can reach the incident table: their boundaries name the directory only', () => {
    for (const t of Object.values(off.regional)) {
      const boundary = JSON.stringify(boundaryOf(t));
      expect(boundary).not.toContain('incidents');
      expect(boundary).toContain('table/trackstack-dev-directory');
    }
  });
});

describe('a stage without the primary location (no directory replica in us-east-1)', () => {
  const dir = temporaryOutdir('security-europe');
  test('gets the trail and the incident store but no containment function, and refuses autoContain', () => {
    const europe = synthesizeSecurity({ locations: ['europe'] }, dir);
    expect(find(europe.security, 'AWS::CloudTrail::Trail')).toHaveLength(1);
    expect(find(europe.security, 'AWS::Lambda::Function')).toEqual([]);
    expect(() => synthesizeSecurity({ locations: ['europe'], autoContain: true }, dir)).toThrow(
      /autoContain needs the directory in us-east-1: the stage's locations must include americas/,
    );
  });
});

describe('the 72-hour clock', () => {
  test('the function checks every incident hourly, and an alarm tells on-call when one is overdue', () => {
    const [, alarm] = one(
      off.security,
      'AWS::CloudWatch::Alarm',
      (p) => String(p.MetricName) === 'IncidentNotificationsOverdue',
    );
    expect(alarm.Properties).toMatchObject({
      Namespace: 'trackstack/dev',
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('IncidentsIncidentTopic');
    expect(String(alarm.Properties.AlarmDescription)).toMatch(/72 hours/);
  });
});
