/**
 * Shared by the security tests: the dev stage synthesized (functions unbundled) with stage options
 * replaced, and readers of the security stack's template.
 */
import { Template } from 'aws-cdk-lib/assertions';
import type { TrackstackApp } from '../../../../infra/aws/lib/app';
import { synthesizeEdgeVariant } from './support';

/** A synthesized stage and its templates: the security stack's and each regional stack's. */
export interface SecuritySynth {
  readonly app: TrackstackApp;
  readonly security: Template;
  readonly regional: Readonly<Record<string, Template>>;
}

/**
 * Synthesizes the dev stage with `options` merged over its cdk.json entry; the compliance packs run and
 * an unacknowledged finding fails the synth.
 * @param outdir the cloud assembly directory, from `temporaryOutdir` (called outside hooks)
 */
export function synthesizeSecurity(options: Record<string, unknown>, outdir: string): SecuritySynth {
  const app = synthesizeEdgeVariant('dev', options, outdir);
  const regional: Record<string, Template> = {};
  for (const stack of app.regionalStacks) regional[stack.location] = Template.fromStack(stack);
  return { app, security: Template.fromStack(app.securityStack), regional };
}
