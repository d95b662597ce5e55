#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth -c stage=dev` (cdk.json runs this file with tsx). Wiring only; everything
 * is built by `createApp`.
 */
import { ConfigError } from '../../../platform';
import { createApp } from '../lib/app';

try {
  createApp();
} catch (err) {
  // A configuration mistake is the user's to fix: its message names the key, a stack trace adds nothing.
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exitCode = 1;
}
