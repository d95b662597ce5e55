/**
 * Origins signed by CloudFront origin access control, without the side effects of aws-cdk-lib's
 * `withOriginAccessControl` helpers.
 *
 * `FunctionUrlOrigin.withOriginAccessControl` adds two `AWS::Lambda::Permission` resources to the
 * distribution's stack, naming a function that lives in another region: CloudFormation cannot create a
 * permission for a function of another region, so the regional stacks grant CloudFront themselves.
 * `S3BucketOrigin.withOriginAccessControl` adds a key policy statement for every distribution of the
 * account (`distribution/*`), because its bucket policy and key policy would otherwise form a cycle; the
 * edge stack scopes both to its own distribution instead (see `ConfigBucket.allowDistributionRead`).
 */
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type { Construct } from 'constructs';

/**
 * Wraps an origin so that CloudFront signs every request to it with the given origin access control, and
 * adds nothing else to the app (no permission, no policy statement).
 * @param origin an origin without access control: `new FunctionUrlOrigin(url)` or `S3BucketOrigin`'s base
 * @param originAccessControl the origin access control (a Lambda or S3 one, signing always with SigV4)
 */
export function withOriginAccessControl(
  origin: cloudfront.IOrigin,
  originAccessControl: cloudfront.IOriginAccessControlRef,
): cloudfront.IOrigin {
  return {
    bind(scope: Construct, options: cloudfront.OriginBindOptions): cloudfront.OriginBindConfig {
      const config = origin.bind(scope, options);
      if (config.originProperty === undefined) {
        throw new Error(`withOriginAccessControl(${options.originId}): the origin rendered no properties`);
      }
      return {
        ...config,
        originProperty: {
          ...config.originProperty,
          originAccessControlId: originAccessControl.originAccessControlRef.originAccessControlId,
        },
      };
    },
  };
}
