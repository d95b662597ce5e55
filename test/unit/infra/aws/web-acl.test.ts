/**
 * The edge's web ACL (`EdgeWebAcl`) on a bare us-east-1 stack with a key: every rule, the rate limits and
 * the API key's custom aggregation key, the logging with its redaction into an encrypted log group, and the
 * region and limit checks.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { API_KEY_HEADER, LIMITS } from '../../../../platform';
import {
  DEFAULT_API_KEY_REQUESTS_PER_5_MIN,
  DEFAULT_IP_REQUESTS_PER_5_MIN,
  EdgeWebAcl,
  WAF_RULES,
} from '../../../../infra/aws/lib/constructs/edge/web-acl';
import { bareEdgeStack } from './edge-support';
import { type Json, keyPolicy, only, temporaryOutdir } from './support';

const outdir = temporaryOutdir('cdk-waf');

interface RuleJson {
  Name: string;
  Priority: number;
  Action?: Json;
  OverrideAction?: Json;
  Statement: Json;
  VisibilityConfig: Json;
}

let template: Template;
let acl: EdgeWebAcl;

beforeAll(() => {
  const { stack, key } = bareEdgeStack(outdir);
  acl = new EdgeWebAcl(stack, 'Waf', { stage: 'dev', encryptionKey: key, logRetentionDays: 90 });
  template = Template.fromStack(stack);
});

const webAcl = () => only<{ Rules: RuleJson[] } & Json>(template, 'AWS::WAFv2::WebACL');
const rule = (name: string) => webAcl().props.Rules.find((r) => r.Name === name)!;

describe('web ACL', () => {
  test('scope CLOUDFRONT, allow by default, named by stage, metrics and samples on', () => {
    expect(webAcl().props).toMatchObject({
      Name: 'trackstack-dev-edge',
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      VisibilityConfig: {
        CloudWatchMetricsEnabled: true,
        MetricName: 'trackstack-dev-edge',
        SampledRequestsEnabled: true,
      },
    });
    expect(Stack.of(acl).resolve(acl.webAclArn)).toEqual({ 'Fn::GetAtt': [webAcl().id, 'Arn'] });
  });

  test('five rules in a fixed order, each with its own metric and sampled requests', () => {
    const rules = webAcl().props.Rules;
    expect(rules.map((r) => [r.Priority, r.Name])).toEqual([
      [0, WAF_RULES.ipReputation],
      [1, WAF_RULES.ratePerIp],
      [2, WAF_RULES.ratePerApiKey],
      [3, WAF_RULES.common],
      [4, WAF_RULES.knownBadInputs],
    ]);
    const metrics = rules.map((r) => r.VisibilityConfig.MetricName);
    expect(new Set(metrics).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.VisibilityConfig).toMatchObject({
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
      });
    }
  });

  test('AWS managed rule groups keep their own actions: IP reputation, known bad inputs, common', () => {
    for (const [name, group] of [
      [WAF_RULES.ipReputation, 'AWSManagedRulesAmazonIpReputationList'],
      [WAF_RULES.knownBadInputs, 'AWSManagedRulesKnownBadInputsRuleSet'],
      [WAF_RULES.common, 'AWSManagedRulesCommonRuleSet'],
    ] as const) {
      expect(rule(name)).toMatchObject({
        OverrideAction: { None: {} },
        Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: group } },
      });
    }
    expect(rule(WAF_RULES.ipReputation).Statement.ManagedRuleGroupStatement).not.toHaveProperty(
      'RuleActionOverrides',
    );
  });

  test('the common set only counts bodies over 8 KB, because /collect takes 64 KiB batches', () => {
    expect(LIMITS.maxBodyBytes).toBeGreaterThan(8 * 1024);
    expect((rule(WAF_RULES.common).Statement.ManagedRuleGroupStatement as Json).RuleActionOverrides).toEqual([
      { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    ]);
  });

  test('a rate limit per IP, 2,000 requests in five minutes by default, answered with 429', () => {
    expect(DEFAULT_IP_REQUESTS_PER_5_MIN).toBe(2_000);
    expect(rule(WAF_RULES.ratePerIp)).toMatchObject({
      Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
      Statement: {
        RateBasedStatement: { Limit: 2_000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' },
      },
    });
  });

  test('a rate limit per API key: custom key on x-api-key, counting only requests that carry it', () => {
    expect(DEFAULT_API_KEY_REQUESTS_PER_5_MIN).toBe(60_000);
    expect(rule(WAF_RULES.ratePerApiKey)).toEqual(
      expect.objectContaining({
        Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
        Statement: {
          RateBasedStatement: {
            Limit: 60_000,
            EvaluationWindowSec: 300,
            AggregateKeyType: 'CUSTOM_KEYS',
            CustomKeys: [
              { Header: { Name: API_KEY_HEADER, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
            ],
            ScopeDownStatement: {
              SizeConstraintStatement: {
                FieldToMatch: { SingleHeader: { Name: API_KEY_HEADER } },
                ComparisonOperator: 'GT',
                Size: 0,
                TextTransformations: [{ Priority: 0, Type: 'NONE' }],
              },
            },
          },
        },
      }),
    );
  });

  test('the limits come from the props', () => {
    const { stack, key } = bareEdgeStack(outdir, 'us-east-1', 'Limits');
    new EdgeWebAcl(stack, 'Waf', {
      stage: 'prod',
      encryptionKey: key,
      logRetentionDays: 30,
      ipRequestsPer5Min: 500,
      apiKeyRequestsPer5Min: 9_000,
    });
    const rules = only<{ Rules: RuleJson[] }>(Template.fromStack(stack), 'AWS::WAFv2::WebACL').props.Rules;
    const limit = (name: string) =>
      (rules.find((r) => r.Name === name)!.Statement.RateBasedStatement as Json).Limit;
    expect(limit(WAF_RULES.ratePerIp)).toBe(500);
    expect(limit(WAF_RULES.ratePerApiKey)).toBe(9_000);
  });
});

describe('logging', () => {
  test('to an aws-waf-logs- group encrypted with the key, kept for the given days', () => {
    const group = only(template, 'AWS::Logs::LogGroup');
    expect(group.props).toEqual({
      LogGroupName: 'aws-waf-logs-trackstack-dev-edge',
      KmsKeyId: { 'Fn::GetAtt': [only(template, 'AWS::KMS::Key').id, 'Arn'] },
      RetentionInDays: 90,
    });
    expect(Stack.of(acl).resolve(acl.logGroup.logGroupName)).toEqual({ Ref: group.id });
  });

  test('the web ACL logs there, with the API key and authorization headers redacted', () => {
    const logging = only(template, 'AWS::WAFv2::LoggingConfiguration');
    expect(logging.props).toEqual({
      ResourceArn: { 'Fn::GetAtt': [webAcl().id, 'Arn'] },
      LogDestinationConfigs: [
        {
          'Fn::Join': [
            '',
            [
              'arn:aws:logs:us-east-1:',
              { Ref: 'AWS::AccountId' },
              ':log-group:aws-waf-logs-trackstack-dev-edge',
            ],
          ],
        },
      ],
      RedactedFields: [{ SingleHeader: { Name: 'x-api-key' } }, { SingleHeader: { Name: 'authorization' } }],
    });
    // Created after the group, so WAF never creates it unencrypted.
    expect(logging.resource.DependsOn).toEqual(
      expect.arrayContaining([only(template, 'AWS::Logs::LogGroup').id]),
    );
  });

  test('the key lets CloudWatch Logs use it for that group only', () => {
    const statement = keyPolicy(template).find(
      (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'logs.us-east-1.amazonaws.com' }),
    );
    expect(statement?.Condition).toEqual({
      ArnEquals: {
        'kms:EncryptionContext:aws:logs:arn': {
          'Fn::Join': [
            '',
            [
              'arn:aws:logs:us-east-1:',
              { Ref: 'AWS::AccountId' },
              ':log-group:aws-waf-logs-trackstack-dev-edge',
            ],
          ],
        },
      },
    });
  });
});

describe('checks', () => {
  test('refuses a stack outside us-east-1, and a stack without a region, with the reason', () => {
    const { stack, key } = bareEdgeStack(outdir, 'eu-west-1', 'Europe');
    expect(
      () => new EdgeWebAcl(stack, 'Waf', { stage: 'dev', encryptionKey: key, logRetentionDays: 90 }),
    ).toThrow(/\[Europe\/Waf\] a web ACL for CloudFront must be created in us-east-1: .*it is 'eu-west-1'/);
    const agnostic = new Stack(new App({ outdir }), 'Agnostic');
    const agnosticKey = new kms.Key(agnostic, 'Key');
    expect(
      () =>
        new EdgeWebAcl(agnostic, 'Waf', { stage: 'dev', encryptionKey: agnosticKey, logRetentionDays: 90 }),
    ).toThrow(/must be created in us-east-1: .*it is not set/);
  });

  test('refuses rate limits WAF would refuse', () => {
    for (const [prop, value] of [
      ['ipRequestsPer5Min', 5],
      ['apiKeyRequestsPer5Min', 1.5],
      ['ipRequestsPer5Min', 3_000_000_000],
    ] as const) {
      const { stack, key } = bareEdgeStack(outdir, 'us-east-1', `Bad${String(value).replace('.', '')}`);
      expect(
        () =>
          new EdgeWebAcl(stack, 'Waf', {
            stage: 'dev',
            encryptionKey: key,
            logRetentionDays: 90,
            [prop]: value,
          }),
      ).toThrow(new RegExp(`${prop} must be a whole number from 10 to 2000000000 .*got ${value}`));
    }
  });
});
