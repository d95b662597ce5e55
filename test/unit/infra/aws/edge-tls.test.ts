/**
 * The edge stack's custom domains: a stage with a Route 53 zone gets a DNS-validated certificate and alias
 * records, a stage with a certificate ARN uses it; both serve TLS 1.2 (TLSv1.2_2021) on their domain.
 * Synthesized without bundling, with every compliance pack: a finding would fail the synth.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { synthesizeEdgeVariant, temporaryOutdir } from './support';

const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const ZONE = 'Z0123456789ABCDEFGHIJ';

function viewerCertificate(template: Template): Record<string, unknown> {
  const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution')) as {
    Properties: { DistributionConfig: { ViewerCertificate: Record<string, unknown>; Aliases: string[] } };
  }[];
  expect(distribution!.Properties.DistributionConfig.Aliases).toEqual(['t.example.com']);
  return distribution!.Properties.DistributionConfig.ViewerCertificate;
}

describe('a stage with a domain and a hosted zone (prod)', () => {
  const outdir = temporaryOutdir('edge-prod');
  let template: Template;
  beforeAll(() => {
    const { edgeStack } = synthesizeEdgeVariant(
      'prod',
      { domainName: 't.example.com', hostedZoneId: ZONE },
      outdir,
    );
    template = Template.fromStack(edgeStack);
  });

  test('requests a certificate validated through the zone and serves TLS 1.2 with SNI', () => {
    const certificates = template.findResources('AWS::CertificateManager::Certificate');
    expect(Object.values(certificates)).toEqual([
      expect.objectContaining({
        Properties: {
          DomainName: 't.example.com',
          DomainValidationOptions: [{ DomainName: 't.example.com', HostedZoneId: ZONE }],
          ValidationMethod: 'DNS',
          Tags: expect.any(Array),
        },
      }),
    ]);
    expect(viewerCertificate(template)).toEqual({
      AcmCertificateArn: { Ref: Object.keys(certificates)[0] },
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
  });

  test('adds A and AAAA alias records for the distribution in the zone', () => {
    for (const type of ['A', 'AAAA']) {
      template.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 't.example.com.',
        Type: type,
        HostedZoneId: ZONE,
        AliasTarget: Match.objectLike({ HostedZoneId: Match.anyValue() }),
      });
    }
  });

  test('serves every edge location in production', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ PriceClass: 'PriceClass_All' }),
    });
  });
});

describe('a stage with a domain and its own certificate (staging)', () => {
  const outdir = temporaryOutdir('edge-staging');
  let template: Template;
  beforeAll(() => {
    const { edgeStack } = synthesizeEdgeVariant(
      'staging',
      {
        domainName: 't.example.com',
        certificateArn: CERTIFICATE,
      },
      outdir,
    );
    template = Template.fromStack(edgeStack);
  });

  test('uses the certificate, requests none and leaves DNS alone', () => {
    expect(viewerCertificate(template)).toEqual({
      AcmCertificateArn: CERTIFICATE,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
  });
});
