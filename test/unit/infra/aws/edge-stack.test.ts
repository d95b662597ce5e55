/**
 * The edge stack as `npm run synth -- --stage dev` builds it: the distribution (behaviours, origins and
 * their origin access control, functions, policies, logging, WAF, TLS), the key value store, the config
 * bucket and its key policy, the outputs; and the router's code, taken from the template, run in node.
 * Synthesized once for the file (support.ts).
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { EDGE_STACK_OUTPUTS, edgeHealthPath, edgeOriginId, LOCATIONS, RETENTION } from '../../../../platform';
import { INGEST_HEADERS } from '../../../../infra/aws/lib/constructs/edge/edge-distribution';
import { currentSnippetObjectKey } from '../../../../infra/aws/lib/constructs/edge/snippet';
import { runCloudFrontFunction, viewerRequestEvent } from '../../../../tooling/cloudfront-function';
import { only, type Json, type StatementJson, synthesizeStage, type SynthesizedApp } from './support';

// Managed policy of CloudFront: caching disabled.
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

let synthesized: SynthesizedApp;
let template: Template;
beforeAll(() => {
  synthesized = synthesizeStage('dev');
  template = synthesized.edgeTemplate;
});
afterAll(() => synthesized.dispose());

interface Behaviour {
  PathPattern: string;
  TargetOriginId: string;
  AllowedMethods?: string[];
  CachePolicyId: unknown;
  OriginRequestPolicyId?: unknown;
  ResponseHeadersPolicyId?: unknown;
  ViewerProtocolPolicy: string;
  FunctionAssociations?: { EventType: string; FunctionARN: unknown }[];
}
interface DistributionConfig {
  CacheBehaviors: Behaviour[];
  DefaultCacheBehavior: Behaviour;
  Origins: { Id: string; DomainName: unknown; OriginAccessControlId?: unknown; S3OriginConfig?: Json }[];
  Logging?: { Bucket: unknown; Prefix: string };
  WebACLId?: unknown;
  ViewerCertificate?: Json;
  Aliases?: string[];
  PriceClass: string;
  HttpVersion: string;
}

function distribution(t: Template): DistributionConfig {
  return only<{ DistributionConfig: DistributionConfig }>(t, 'AWS::CloudFront::Distribution').props
    .DistributionConfig;
}
function behaviour(path: string): Behaviour {
  const found = distribution(template).CacheBehaviors.find((b) => b.PathPattern === path);
  if (!found) throw new Error(`no behaviour ${path}`);
  return found;
}
function idOf(type: string, props: Json): string {
  const ids = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}
const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

describe('the distribution', () => {
  const router = () =>
    idOf('AWS::CloudFront::Function', {
      FunctionConfig: Match.objectLike({ KeyValueStoreAssociations: Match.anyValue() }),
    });
  const routed = () => [{ EventType: 'viewer-request', FunctionARN: getAtt(router(), 'FunctionARN') }];

  test('hits go to the ingest origins uncached, with the router function and the right methods', () => {
    const requestPolicy = { Ref: only(template, 'AWS::CloudFront::OriginRequestPolicy').id };
    const methods: Record<string, string[]> = {
      '/p.gif': ['GET', 'HEAD'],
      '/i': ['GET', 'HEAD'],
      '/collect': ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      '/postback': ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
    };
    for (const [path, allowed] of Object.entries(methods)) {
      const b = behaviour(path);
      expect(b.TargetOriginId).toMatch(/^ingest-/);
      expect(b.AllowedMethods).toEqual(allowed);
      expect(b.CachePolicyId).toBe(CACHING_DISABLED);
      expect(b.OriginRequestPolicyId).toEqual(requestPolicy);
      expect(b.ViewerProtocolPolicy).toBe('redirect-to-https');
      expect(b.FunctionAssociations).toEqual(routed());
    }
  });

  test('each location has a health behaviour on its own origin, routed by the same function', () => {
    for (const location of LOCATIONS) {
      const b = behaviour(edgeHealthPath(location));
      expect(b.TargetOriginId).toBe(edgeOriginId(location));
      expect(b.CachePolicyId).toBe(CACHING_DISABLED);
      expect(b.FunctionAssociations).toEqual(routed());
    }
  });

  test('the snippet, the configs and everything else come from the config bucket, cached', () => {
    const snippet = behaviour('/snippet.js');
    const config = behaviour('/config/*');
    const snippetFunction = idOf('AWS::CloudFront::Function', {
      FunctionCode: Match.stringLikeRegexp(currentSnippetObjectKey()),
    });
    expect(snippet.TargetOriginId).toBe('config-bucket');
    expect(snippet.FunctionAssociations).toEqual([
      { EventType: 'viewer-request', FunctionARN: getAtt(snippetFunction, 'FunctionARN') },
    ]);
    expect(config.TargetOriginId).toBe('config-bucket');
    expect(config.FunctionAssociations).toBeUndefined();
    expect(distribution(template).DefaultCacheBehavior.TargetOriginId).toBe('config-bucket');
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ DefaultTTL: 60, MaxTTL: 60, MinTTL: 0 }),
    });
    const year = 365 * 24 * 3600;
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ DefaultTTL: year, MaxTTL: year, MinTTL: year }),
    });
  });

  test('the origins are the config bucket and one Function URL per location, each with its id and OAC', () => {
    const origins = distribution(template).Origins;
    expect(origins.map((o) => o.Id).sort()).toEqual(['config-bucket', ...LOCATIONS.map(edgeOriginId)].sort());
    const lambdaOac = idOf('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 'lambda',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    const s3Oac = idOf('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    for (const origin of origins) {
      const oac = origin.Id === 'config-bucket' ? s3Oac : lambdaOac;
      expect(origin.OriginAccessControlId).toEqual(getAtt(oac, 'Id'));
    }
    // Each Function URL's host name, read from its regional stack's output.
    for (const location of LOCATIONS) {
      const origin = origins.find((o) => o.Id === edgeOriginId(location))!;
      expect(origin.DomainName).toEqual({
        'Fn::GetStackOutput': {
          StackName: `Trackstack-dev-${location}`,
          Region: expect.any(String),
          OutputName: 'IngestOriginDomain',
        },
      });
    }
    // The regional stacks grant CloudFront; a permission here would name a function of another region.
    const cloudFrontPermissions = template.findResources('AWS::Lambda::Permission', {
      Properties: { Principal: 'cloudfront.amazonaws.com' },
    });
    expect(Object.keys(cloudFrontPermissions)).toEqual([]);
  });

  test('the origin request policy forwards all query strings, cookies and the ingest headers, never Host', () => {
    const config = only<{ OriginRequestPolicyConfig: Json }>(template, 'AWS::CloudFront::OriginRequestPolicy')
      .props.OriginRequestPolicyConfig;
    expect(config.QueryStringsConfig).toEqual({ QueryStringBehavior: 'all' });
    expect(config.CookiesConfig).toEqual({ CookieBehavior: 'all' });
    const headers = (config.HeadersConfig as { HeaderBehavior: string; Headers: string[] }).Headers;
    expect((config.HeadersConfig as { HeaderBehavior: string }).HeaderBehavior).toBe('whitelist');
    expect(headers).toEqual([...INGEST_HEADERS]);
    expect(headers.map((h) => h.toLowerCase())).toEqual(
      expect.arrayContaining([
        'x-amz-content-sha256',
        'x-api-key',
        'cloudfront-viewer-address',
        'cloudfront-viewer-country',
      ]),
    );
    expect(headers.map((h) => h.toLowerCase())).not.toContain('host');
  });

  test('response headers: HSTS, nosniff and referrer policy everywhere; /i embeddable with a CSP', () => {
    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    const security = (id: string) =>
      (policies[id] as { Properties: { ResponseHeadersPolicyConfig: { SecurityHeadersConfig: Json } } })
        .Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const byPath = (path: string) => (behaviour(path).ResponseHeadersPolicyId as { Ref: string }).Ref;
    for (const id of Object.keys(policies)) {
      expect(security(id).StrictTransportSecurity).toEqual({
        AccessControlMaxAgeSec: 63_072_000,
        IncludeSubdomains: true,
        Preload: true,
        Override: true,
      });
      expect(security(id).ContentTypeOptions).toEqual({ Override: true });
      expect(security(id).ReferrerPolicy).toEqual({
        ReferrerPolicy: 'strict-origin-when-cross-origin',
        Override: true,
      });
    }
    const iframe = security(byPath('/i'));
    expect(iframe.FrameOptions).toBeUndefined();
    expect(iframe.ContentSecurityPolicy).toEqual({
      ContentSecurityPolicy: expect.stringContaining('frame-ancestors *'),
      Override: false,
    });
    for (const path of ['/p.gif', '/collect', '/postback', '/snippet.js', '/config/*']) {
      expect(security(byPath(path)).FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    }
  });

  test('access logs go to the named, KMS-encrypted CDN log bucket, which CloudFront writes with ACLs', () => {
    const key = only(template, 'AWS::KMS::Key').id;
    expect(distribution(template).Logging).toEqual({
      Bucket: {
        'Fn::Join': [
          '',
          ['trackstack-dev-cdn-logs-', { Ref: 'AWS::AccountId' }, '.s3.us-east-1.amazonaws.com'],
        ],
      },
      Prefix: 'cdn/',
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: { 'Fn::Join': ['', ['trackstack-dev-cdn-logs-', { Ref: 'AWS::AccountId' }]] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: getAtt(key, 'Arn') },
          },
        ],
      },
    });
    expect(keyStatement('CloudFrontLogDeliveryEncryptsAccessLogs')).toMatchObject({
      Principal: { Service: 'delivery.logs.amazonaws.com' },
      Action: 'kms:GenerateDataKey*',
    });
  });

  test('the web ACL guards it; HTTP/2 and 3; price class 100 outside prod', () => {
    const webAcl = only(template, 'AWS::WAFv2::WebACL').id;
    const config = distribution(template);
    expect(config.WebACLId).toEqual(getAtt(webAcl, 'Arn'));
    expect(config.HttpVersion).toBe('http2and3');
    expect(config.PriceClass).toBe('PriceClass_100');
  });

  test('without a domain: the default certificate, no aliases', () => {
    const config = distribution(template);
    expect(config.ViewerCertificate).toBeUndefined();
    expect(config.Aliases).toBeUndefined();
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
  });
});

function keyStatement(sid: string): StatementJson {
  const statements = only<{ KeyPolicy: { Statement: StatementJson[] } }>(template, 'AWS::KMS::Key').props
    .KeyPolicy.Statement;
  const found = statements.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no key policy statement ${sid}`);
  return found;
}

describe('the key value store and the router', () => {
  test('the router runs on runtime 2.0 with the store', () => {
    const store = only(template, 'AWS::CloudFront::KeyValueStore').id;
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionConfig: {
        Runtime: 'cloudfront-js-2.0',
        Comment: Match.anyValue(),
        KeyValueStoreAssociations: [{ KeyValueStoreARN: getAtt(store, 'Arn') }],
      },
      AutoPublish: true,
    });
  });

  test('the code in the template routes a German viewer to ingest-europe, and around it when it is down', async () => {
    const functions = template.findResources('AWS::CloudFront::Function', {
      Properties: { FunctionConfig: Match.objectLike({ KeyValueStoreAssociations: Match.anyValue() }) },
    });
    const code = (Object.values(functions)[0] as { Properties: { FunctionCode: string } }).Properties
      .FunctionCode;
    const event = viewerRequestEvent({
      uri: '/p.gif',
      query: { a: 'acc_12345678' },
      headers: { 'cloudfront-viewer-country': 'DE' },
    });
    expect((await runCloudFrontFunction(code, event, { kvs: {} })).originId).toBe('ingest-europe');
    const around = await runCloudFrontFunction(code, event, { kvs: { down: 'europe' } });
    expect(around.originId).toMatch(/^ingest-(americas|apac)$/);
  });

  test('the snippet function serves the object of the current snippet version', () => {
    const functions = template.findResources('AWS::CloudFront::Function', {
      Properties: { FunctionCode: Match.stringLikeRegexp('snippet/') },
    });
    const code = (Object.values(functions)[0] as { Properties: { FunctionCode: string } }).Properties
      .FunctionCode;
    const handler = new Function(`${code}\nreturn handler;`)() as (e: unknown) => { uri: string };
    expect(handler({ request: { uri: '/snippet.js' } }).uri).toBe(`/${currentSnippetObjectKey()}`);
  });
});

describe('the config bucket', () => {
  test('SSE-KMS with the edge key and a bucket key, versioned, private, logged, old versions expire', () => {
    const key = only(template, 'AWS::KMS::Key').id;
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: { 'Fn::Join': ['', ['trackstack-dev-config-', { Ref: 'AWS::AccountId' }]] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: getAtt(key, 'Arn') },
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'config-bucket/' }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            NoncurrentVersionExpiration: { NoncurrentDays: RETENTION.noncurrentVersionDays },
          }),
        ]),
      },
    });
  });

  test('only this distribution reads it, and only it may decrypt through CloudFront', () => {
    const distributionArn = {
      'Fn::Join': [
        '',
        [
          'arn:aws:cloudfront::',
          { Ref: 'AWS::AccountId' },
          ':distribution/',
          { Ref: only(template, 'AWS::CloudFront::Distribution').id },
        ],
      ],
    };
    expect(keyStatement('CloudFrontDecryptsConfigBucketForThisDistribution')).toEqual({
      Sid: 'CloudFrontDecryptsConfigBucketForThisDistribution',
      Effect: 'Allow',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'AWS:SourceArn': distributionArn } },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CloudFrontReadsSnippetAndConfigs',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Condition: { StringEquals: { 'AWS:SourceArn': distributionArn } },
          }),
        ]),
      },
    });
    // No statement for every distribution of the account, as aws-cdk-lib's OAC helper would add.
    expect(JSON.stringify(template.toJSON())).not.toContain(':distribution/*');
  });

  test('the administrators manage the edge key but cannot use it; rotation on; retained', () => {
    const key = only(template, 'AWS::KMS::Key');
    expect(key.props).toMatchObject({ EnableKeyRotation: true });
    expect(key.resource.DeletionPolicy).toBe('Retain');
    const admin = keyStatement('AccountAdministratorsManageButDoNotUse');
    expect(admin.Action).not.toContain('kms:Decrypt');
  });
});

test('the outputs carry the names the tools read', () => {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  expect(Object.keys(outputs)).toEqual(expect.arrayContaining(Object.values(EDGE_STACK_OUTPUTS)));
  expect(outputs[EDGE_STACK_OUTPUTS.distributionId]!.Value).toEqual({
    Ref: only(template, 'AWS::CloudFront::Distribution').id,
  });
  expect(outputs[EDGE_STACK_OUTPUTS.keyValueStoreArn]!.Value).toEqual(
    getAtt(only(template, 'AWS::CloudFront::KeyValueStore').id, 'Arn'),
  );
  expect(outputs[EDGE_STACK_OUTPUTS.configBucket]!.Value).toEqual({
    Ref: idOf('AWS::S3::Bucket', {
      BucketName: { 'Fn::Join': ['', ['trackstack-dev-config-', { Ref: 'AWS::AccountId' }]] },
    }),
  });
});

test('the edge stack is in us-east-1 and deploys after every regional stack', () => {
  const { edgeStack, regionalStacks } = synthesized;
  expect(edgeStack.stackName).toBe('Trackstack-dev-edge');
  expect(edgeStack.region).toBe('us-east-1');
  expect(edgeStack.dependencies).toEqual(expect.arrayContaining([...regionalStacks]));
});
