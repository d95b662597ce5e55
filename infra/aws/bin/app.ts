#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth -c stage=dev` for one stage's stacks, or `npx cdk deploy -c pipeline=true
 * Trackstack-pipeline` for the release pipeline (cdk.json runs this file with tsx). Wiring only; everything
 * is built by `createApp` or `createPipelineApp`.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../../../platform';
import { createApp } from '../lib/app';
import { createPipelineApp } from '../lib/pipeline-app';
import { wantsPipelineApp } from '../lib/pipeline-context';

try {
  // A throwaway App reads the CLI's context (cdk.json and -c) the same way the real one will.
  if (wantsPipelineApp(new App().node)) createPipelineApp();
  else createApp();
} catch (err) {
  // A configuration mistake is the user's to fix: its message names the key, a stack trace adds nothing.
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exitCode = 1;
}
