import { App, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { REGIONS } from '../../../../platform';
import { acknowledgeWildcardResource } from '../../../../policies/aws/acknowledgements';
import { flattenReference } from '../../../../policies/aws/cfn';
import { temporaryOutdir } from './support';

const outdir = temporaryOutdir('cfn');

/** The `AwsSolutions-IAM5[Resource::…]` findings that cdk-nag itself reports in a stack. */
function wildcardResourceFindings(stack: Stack): string[] {
  return new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.map((v) => v.ruleName)
    .filter((id) => id.startsWith('AwsSolutions-IAM5[Resource::'))
    .sort();
}

describe('flattenReference', () => {
  test('names a wildcard resource exactly as cdk-nag’s finding ids do, whatever intrinsic builds it', () => {
    const stack = new Stack(new App({ outdir }), 'Test', { env: { region: REGIONS.europe.aws } });
    const bucket = new s3.Bucket(stack, 'Bucket');
    const wildcards = [
      // Fn::Join around Fn::GetAtt
      bucket.arnForObjects('*'),
      // Fn::Join around Ref of pseudo parameters
      `arn:${stack.partition}:s3:::trackstack-${stack.account}/account=*`,
      stack.formatArn({ service: 'kms', region: REGIONS.americas.aws, resource: 'key', resourceName: '*' }),
      // Fn::Sub
      Fn.sub('arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/trackstack/*'),
      // a literal
      'arn:aws:s3:::trackstack-literal/*',
    ];
    const policy = new iam.ManagedPolicy(stack, 'Policy', {
      roles: [new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') })],
      statements: wildcards.map(
        (resource, i) =>
          new iam.PolicyStatement({ sid: `Wildcard${i}`, actions: ['s3:GetObject'], resources: [resource] }),
      ),
    });

    const ours = wildcards
      .map((r) => `AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(r))}]`)
      .sort();
    expect(wildcardResourceFindings(stack)).toEqual(ours);

    // So each acknowledgement, built from the resource, silences its finding.
    for (const resource of wildcards) {
      acknowledgeWildcardResource(
        policy,
        resource,
        'A reason that says why the wildcard is acceptable here.',
      );
    }
    expect(wildcardResourceFindings(stack)).toEqual([]);
  });

  test('renders references in brackets, Fn::Sub variables likewise, and anything else as JSON', () => {
    expect(flattenReference(undefined)).toBe('');
    expect(flattenReference({ Ref: 'AWS::AccountId' })).toBe('<AWS::AccountId>');
    expect(flattenReference({ 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] })).toBe('<Bucket83908E77.Arn>');
    expect(flattenReference({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::b/*' })).toBe(
      'arn:<AWS::Partition>:s3:::b/*',
    );
    expect(flattenReference({ 'Fn::ImportValue': 'Exported' })).toBe('Exported');
    expect(flattenReference({ 'Fn::Join': ['/', ['a', { Ref: 'B' }]] })).toBe('a/<B>');
    expect(flattenReference(42)).toBe('42');
    expect(flattenReference({ 'Fn::Select': [0, ['a']] })).toBe('{"Fn::Select":[0,["a"]]}');
  });
});
