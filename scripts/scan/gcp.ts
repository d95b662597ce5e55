/**
 * The GCP half of the scan: one process per Pulumi stack (gcp-stack.ts), run side by side with the AWS
 * synthesis, each evaluating the policy pack over what the program registers under mocks.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../infra/build/paths';
import type { GcpStackResult } from './gcp-stack';
import { stackConfigFile } from './gcp-program';

const STACK_SCRIPT = join(__dirname, 'gcp-stack.ts');

/** Whether the repository has a Pulumi stack file for this stack. */
export function hasGcpStack(stack: string): boolean {
  return existsSync(stackConfigFile(stack));
}

/**
 * Runs one stack's evaluation in a child process and parses what it prints.
 * @param extraModule a module loaded after the program, adding resources (tests)
 * @throws Error with the child's message when the program or the pack fails
 */
export function scanGcpStack(stack: string, extraModule?: string): Promise<GcpStackResult> {
  return new Promise((resolvePromise, reject) => {
    const args = [
      '--import',
      'tsx',
      STACK_SCRIPT,
      stack,
      ...(extraModule === undefined ? [] : [extraModule]),
    ];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) =>
      reject(new Error(`Could not run the GCP program for stack ${stack}.`, { cause: err })),
    );
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`The GCP program of stack ${stack} failed (exit ${code}): ${stderr.trim()}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(stdout) as GcpStackResult);
      } catch (err) {
        reject(
          new Error(`The GCP scan of stack ${stack} printed no report: ${stdout}${stderr}`, { cause: err }),
        );
      }
    });
  });
}
