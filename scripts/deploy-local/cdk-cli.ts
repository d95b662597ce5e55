/**
 * The real CDK CLI (`node_modules/aws-cdk`), run as a child process against moto: deploy:local bootstraps
 * and deploys with the very CLI a developer uses against AWS, so the CLI's own behaviour is part of what
 * the local deploy exercises. Its environment keeps every request on moto.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../infra/build/paths';

/** Environment of the CDK CLI: moto's endpoint, dummy credentials, nothing from the developer's profile. */
export function cdkCliEnv(endpoint: string, scratchDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A developer's profile, session or per-service endpoint must not send a request past moto.
    if (/^AWS_/.test(k) || k === 'CDK_DEFAULT_ACCOUNT' || k === 'CDK_DEFAULT_REGION') continue;
    env[k] = v;
  }
  const port = new URL(endpoint).port;
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    // The CLI hands CloudFormation a template URL built from this endpoint; moto finds the bucket in the
    // URL's path only when the host contains "localhost" (with 127.0.0.1 it reads "127" as the bucket).
    AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: `http://localhost:${port}`,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(scratchDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratchDir, 'no-aws-credentials'),
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CI: 'true',
    FORCE_COLOR: '0',
    // The SDK's "Node.js 22 will be required" notice, once per CLI run, is not news here.
    NODE_NO_WARNINGS: '1',
  };
}

/** Output of one CDK CLI run. */
export interface CliRun {
  readonly args: readonly string[];
  readonly output: string;
  readonly ms: number;
}

/**
 * Runs the project's CDK CLI (`node_modules/aws-cdk`) and resolves with its output.
 * @throws Error with the output's tail when it exits non-zero, times out or is aborted
 */
export function runCdk(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { signal?: AbortSignal; timeoutMs?: number; onOutput?: (chunk: string) => void } = {},
): Promise<CliRun> {
  const start = performance.now();
  const cdk = require.resolve('aws-cdk/bin/cdk');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cdk, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (d: Buffer) => {
      const s = d.toString();
      output += s;
      options.onOutput?.(s);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let why = '';
    const stop = (reason: string) => {
      why = reason;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
    };
    // A CloudFormation stack that never completes would otherwise keep `cdk deploy` polling forever.
    const timer = setTimeout(
      () => stop(`timed out after ${(options.timeoutMs ?? 300_000) / 1000} s`),
      options.timeoutMs ?? 300_000,
    );
    const onAbort = () => stop('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const run = { args, output, ms: performance.now() - start };
      if (code === 0 && !why) return resolvePromise(run);
      const tail = output.split('\n').slice(-40).join('\n');
      reject(
        new Error(
          `cdk ${args[0]} ${why || (signal ? `killed by ${signal}` : `exited with ${code}`)}:\n${tail}`,
        ),
      );
    });
  });
}
