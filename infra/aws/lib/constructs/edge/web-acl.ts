/**
 * The edge's web application firewall: an AWS WAF web ACL for CloudFront, with its logs.
 */
import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { API_KEY_HEADER, names, type Stage } from '../../../../../platform';
import { EncryptedLogGroup } from '../encrypted-log-group';

/** The only region where a web ACL of scope CLOUDFRONT (and its logging) can be created. */
export const CLOUDFRONT_WAF_REGION = 'us-east-1';

/** Requests per IP in five minutes before WAF answers 429: a busy office behind one NAT stays well under. */
export const DEFAULT_IP_REQUESTS_PER_5_MIN = 2_000;

/** Requests per API key in five minutes before WAF answers 429: 200 postbacks a second, sustained. */
export const DEFAULT_API_KEY_REQUESTS_PER_5_MIN = 60_000;

/** Bounds of a rate-based rule's limit that WAF accepts. */
const RATE_LIMIT_RANGE = { min: 10, max: 2_000_000_000 } as const;

/** Headers whose values never reach the WAF logs: the API key, and the signature CloudFront may carry. */
export const WAF_REDACTED_HEADERS = [API_KEY_HEADER, 'authorization'] as const;

/** Names of the rules, as their CloudWatch metrics and sampled requests show them. */
export const WAF_RULES = {
  ipReputation: 'AWS-AWSManagedRulesAmazonIpReputationList',
  ratePerIp: 'RatePerIp',
  ratePerApiKey: 'RatePerApiKey',
  common: 'AWS-AWSManagedRulesCommonRuleSet',
  knownBadInputs: 'AWS-AWSManagedRulesKnownBadInputsRuleSet',
} as const;

/** Properties of {@link EdgeWebAcl}. */
export interface EdgeWebAclProps {
  /** The stage: names the web ACL (`trackstack-<stage>-edge`) and its log group. */
  readonly stage: Stage;
  /**
   * The key that encrypts the WAF logs; its policy is extended to let CloudWatch Logs use it for the log
   * group only. A key of the stack (us-east-1).
   */
  readonly encryptionKey: kms.IKey;
  /** Days the WAF logs are kept: one of the periods CloudWatch Logs accepts. */
  readonly logRetentionDays: number;
  /**
   * Requests one IP may send in any five minutes; beyond, WAF answers 429 until its rate falls.
   * @default DEFAULT_IP_REQUESTS_PER_5_MIN (2,000)
   */
  readonly ipRequestsPer5Min?: number;
  /**
   * Requests that carry one API key (`x-api-key`) in any five minutes, from any number of IPs; beyond, WAF
   * answers 429 until its rate falls.
   * @default DEFAULT_API_KEY_REQUESTS_PER_5_MIN (60,000)
   */
  readonly apiKeyRequestsPer5Min?: number;
}

/**
 * A web ACL of scope CLOUDFRONT (so its stack must be in us-east-1) that allows by default and blocks:
 * IPs on Amazon's reputation list; an IP past its rate; an API key past its rate (a custom aggregation key
 * on `x-api-key`, counting only requests that carry the header); and what AWS's common and known-bad-inputs
 * rule groups match. Rate limits answer 429, the rest 403. Associate it with the distribution
 * (`webAclId: webAcl.webAclArn`).
 *
 * The common rule set's `SizeRestrictions_BODY` (bodies over 8 KB) only counts: `POST /collect` takes
 * batches of up to `LIMITS.maxBodyBytes` (64 KiB), which that rule would block. The ingest service refuses
 * larger bodies itself (413), before parsing, and the origin is reachable only through the distribution.
 *
 * Every request WAF sees is logged to a KMS-encrypted CloudWatch Logs group `aws-waf-logs-<prefix>-edge`
 * (the prefix WAF requires), with {@link WAF_REDACTED_HEADERS} redacted.
 */
export class EdgeWebAcl extends Construct {
  /** The web ACL. */
  public readonly webAcl: wafv2.CfnWebACL;
  /** The web ACL's ARN: what the distribution's `webAclId` takes. */
  public readonly webAclArn: string;
  /** The encrypted group that receives the WAF logs. */
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: EdgeWebAclProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.region) || stack.region !== CLOUDFRONT_WAF_REGION) {
      throw new Error(
        `[${this.node.path}] a web ACL for CloudFront must be created in ${CLOUDFRONT_WAF_REGION}: give ` +
          `the stack env.region '${CLOUDFRONT_WAF_REGION}' (it is ${Token.isUnresolved(stack.region) ? 'not set' : `'${stack.region}'`})`,
      );
    }
    const ipLimit = rateLimit(
      this,
      'ipRequestsPer5Min',
      props.ipRequestsPer5Min,
      DEFAULT_IP_REQUESTS_PER_5_MIN,
    );
    const apiKeyLimit = rateLimit(
      this,
      'apiKeyRequestsPer5Min',
      props.apiKeyRequestsPer5Min,
      DEFAULT_API_KEY_REQUESTS_PER_5_MIN,
    );
    const prefix = names.prefix(props.stage);
    const name = `${prefix}-edge`;

    const tooManyRequests: wafv2.CfnWebACL.RuleActionProperty = {
      block: { customResponse: { responseCode: 429 } },
    };
    const unordered: Omit<wafv2.CfnWebACL.RuleProperty, 'priority'>[] = [
      managedRule(WAF_RULES.ipReputation, 'AWSManagedRulesAmazonIpReputationList'),
      {
        name: WAF_RULES.ratePerIp,
        action: tooManyRequests,
        statement: {
          rateBasedStatement: { limit: ipLimit, evaluationWindowSec: 300, aggregateKeyType: 'IP' },
        },
        visibilityConfig: visibility(`${name}-${WAF_RULES.ratePerIp}`),
      },
      {
        name: WAF_RULES.ratePerApiKey,
        action: tooManyRequests,
        statement: {
          rateBasedStatement: {
            limit: apiKeyLimit,
            evaluationWindowSec: 300,
            aggregateKeyType: 'CUSTOM_KEYS',
            customKeys: [{ header: { name: API_KEY_HEADER, textTransformations: NO_TRANSFORMATION } }],
            // Only requests that carry a key count: browsers' hits are limited per IP only.
            scopeDownStatement: {
              sizeConstraintStatement: {
                fieldToMatch: { singleHeader: { Name: API_KEY_HEADER } },
                comparisonOperator: 'GT',
                size: 0,
                textTransformations: NO_TRANSFORMATION,
              },
            },
          },
        },
        visibilityConfig: visibility(`${name}-${WAF_RULES.ratePerApiKey}`),
      },
      managedRule(WAF_RULES.common, 'AWSManagedRulesCommonRuleSet', [
        { name: 'SizeRestrictions_BODY', actionToUse: { count: {} } },
      ]),
      managedRule(WAF_RULES.knownBadInputs, 'AWSManagedRulesKnownBadInputsRuleSet'),
    ];
    // Evaluated in this order: the cheap verdicts (reputation, rates) before the rule groups' inspection.
    const rules = unordered.map((rule, priority): wafv2.CfnWebACL.RuleProperty => ({ ...rule, priority }));

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name,
      description: `Trackstack ${props.stage}: managed rule groups and rate limits in front of the edge`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      rules,
      visibilityConfig: visibility(name),
    });
    this.webAclArn = this.webAcl.attrArn;

    // WAF requires the `aws-waf-logs-` prefix, and the group's ARN without the `:*` that `logGroupArn` has.
    const logGroupName = `aws-waf-logs-${name}`;
    this.logGroup = new EncryptedLogGroup(this, 'Logs', {
      logGroupName,
      encryptionKey: props.encryptionKey,
      retentionDays: props.logRetentionDays,
    }).logGroup;
    const logging = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAclArn,
      logDestinationConfigs: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: WAF_REDACTED_HEADERS.map((header) => ({ singleHeader: { Name: header } })),
    });
    logging.node.addDependency(this.logGroup);
  }
}

const NO_TRANSFORMATION: wafv2.CfnWebACL.TextTransformationProperty[] = [{ priority: 0, type: 'NONE' }];

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true };
}

/** A rule that applies an AWS managed rule group, its own actions kept (bar the overrides). */
function managedRule(
  ruleName: string,
  groupName: string,
  ruleActionOverrides?: wafv2.CfnWebACL.RuleActionOverrideProperty[],
): Omit<wafv2.CfnWebACL.RuleProperty, 'priority'> {
  return {
    name: ruleName,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: groupName, ruleActionOverrides } },
    visibilityConfig: visibility(ruleName),
  };
}

/** A rate limit from the props, checked against what WAF accepts. */
function rateLimit(scope: Construct, prop: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback;
  if (!Number.isInteger(limit) || limit < RATE_LIMIT_RANGE.min || limit > RATE_LIMIT_RANGE.max) {
    throw new Error(
      `[${scope.node.path}] ${prop} must be a whole number from ${RATE_LIMIT_RANGE.min} to ` +
        `${RATE_LIMIT_RANGE.max} (requests in five minutes), got ${limit}`,
    );
  }
  return limit;
}
