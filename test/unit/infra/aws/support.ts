/**
 * Builds the CDK app the way `cdk synth` does (cdk.json's feature flags and stage configuration), in
 * process, into a temporary directory; and normalizes templates for snapshots.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import type { Stage } from '../../../../platform';
import { createApp, readCdkJsonContext, type TrackstackApp } from '../../../../infra/aws/lib/app';

/** A synthesized app and the template of each regional stack, by location. */
export interface SynthesizedApp extends TrackstackApp {
  /** The cloud assembly directory (removed by {@link SynthesizedApp.dispose}). */
  readonly outdir: string;
  /** Template of each regional stack, keyed by location. */
  readonly templates: Readonly<Record<string, Template>>;
  /** Removes the cloud assembly directory. */
  dispose(): void;
}

/**
 * Synthesizes every stack of a stage. aws-cdk-lib's built-in template validation is off (cfn-lint checks
 * the templates in `npm run synth`); the compliance packs run, and an error finding fails the synth.
 */
export function synthesizeStage(stage: Stage, context: Record<string, unknown> = {}): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), `trackstack-cdk-${stage}-`));
  const built = createApp({
    context: { ...readCdkJsonContext(), ...context, stage },
    outdir,
    builtinCloudFormationValidation: false,
  });
  built.app.synth();
  const templates: Record<string, Template> = {};
  for (const stack of built.regionalStacks) templates[stack.location] = Template.fromStack(stack);
  return { ...built, outdir, templates, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}

/**
 * A template without what changes when the infrastructure does not: asset hashes and the S3 keys of
 * bundles, asset metadata, and the CDK version-reporting resource.
 */
export function normalizeTemplate(template: Template): unknown {
  const json = template.toJSON() as {
    Resources?: Record<string, { Metadata?: Record<string, unknown> }>;
    Conditions?: Record<string, unknown>;
  };
  delete json.Resources?.CDKMetadata;
  delete json.Conditions?.CDKMetadataAvailable;
  for (const resource of Object.values(json.Resources ?? {})) {
    for (const key of Object.keys(resource.Metadata ?? {})) {
      if (key.startsWith('aws:asset:')) delete resource.Metadata?.[key];
    }
  }
  return JSON.parse(JSON.stringify(json).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}
