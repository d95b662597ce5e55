/**
 * `npm run build:ingest`, the command CDK's local bundling also runs: bad flags are refused with a usage line
 * and exit 2, before anything is built.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../../infra/build/paths';

function build(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  return spawnSync(
    process.execPath,
    [require.resolve('tsx/cli'), join(REPO_ROOT, 'infra/build/cli.ts'), ...args],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
}

test('an unknown service is refused with the list of services', () => {
  const r = build('--service', 'nope', '--out', '/nonexistent/never-written');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(
    '--service must be one of ingest, purge, edge-health, incident-contain, ingest-gcp, writer-gcp, purge-gcp, got "nope"',
  );
  expect(r.stderr).toContain('usage: npm run build:ingest');
  expect(r.stdout).toBe('');
});

test('an unknown flag is refused with a usage line', () => {
  const r = build('--servce', 'ingest');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain("Unknown option '--servce'");
  expect(r.stderr).toContain('usage: npm run build:ingest');
});
