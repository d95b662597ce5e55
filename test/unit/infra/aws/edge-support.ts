/**
 * Shared by the tests of the edge's constructs: a bare stack in us-east-1 (the edge's region) with
 * cdk.json's feature flags, unbundled functions and a customer-managed key, like the edge stack has.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { SKIP_BUNDLING } from './support';

/** A bare stack and its key. */
export interface BareEdgeStack {
  readonly stack: Stack;
  readonly key: kms.Key;
}

/**
 * An empty stack with a key, in `region` (us-east-1 unless a test wants another), without an account like
 * the dev stage.
 */
export function bareEdgeStack(outdir: string, region = 'us-east-1', id = 'BareEdge'): BareEdgeStack {
  const app = new App({ outdir, context: { ...readCdkJsonContext(), ...SKIP_BUNDLING } });
  const stack = new Stack(app, id, { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  return { stack, key };
}
