/**
 * The layering of docs/architecture.md, checked on every source file: a forbidden import direction fails
 * here the day it comes back.
 */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../infra/build/paths';
import { layerViolations } from '../../tooling/layers';

const sources = execSync('git ls-files -co --exclude-standard', { cwd: REPO_ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f.endsWith('.ts') && !f.startsWith('node_modules/') && existsSync(join(REPO_ROOT, f)));

test('no file imports across the layers in a forbidden direction', () => {
  expect(sources.length).toBeGreaterThan(100);
  expect(layerViolations(REPO_ROOT, sources)).toEqual([]);
});

describe('the rules', () => {
  const check = (file: string, text: string) => layerViolations('/repo', [file], () => text);

  test.each([
    [
      'services/ingest/src/app.ts',
      "import { x } from '../../../infra/aws/lib/app';",
      'service may not import infra',
    ],
    [
      'services/purge/src/cli.ts',
      "import { x } from '../../ingest/src/runtime';",
      'a service never imports another service',
    ],
    [
      'infra/aws/lib/x.ts',
      "import { ingestEnvSchema } from '../../../services/ingest/src/env';",
      'infra may not import service',
    ],
    ['platform/names.ts', "import { y } from '../services/shared/logger';", 'platform may not import shared'],
    [
      'services/shared/logger.ts',
      "const m = await import('../ingest/src/metrics');",
      'shared may not import service',
    ],
    ['scripts/synth/cli.ts', "import { moto } from '../../test/support/env';", 'scripts may not import test'],
    ['bench/run.ts', "import { x } from '../scripts/synth/cli';", 'bench may not import scripts'],
    ['tooling/moto.ts', "import { x } from '../bench/lib/report';", 'tooling may not import bench'],
  ])('%s importing %s is refused', (file, text, reason) => {
    expect(check(file, text)).toEqual([expect.objectContaining({ file, reason })]);
  });

  test.each([
    ['services/ingest/src/app.ts', "import { LIMITS } from '../../../platform';"],
    [
      'services/purge/src/runtime.ts',
      "import { LocalDirectory } from '../../shared/directory/local-directory';",
    ],
    [
      'infra/aws/lib/constructs/x.ts',
      "import { acknowledge } from '../../../../policies/aws/acknowledgements';",
    ],
    ['test/unit/x.test.ts', "import { parseSynthArgs } from '../../scripts/synth/cli';"],
    ['services/ingest/src/app.ts', "import express from 'express';"],
  ])('%s importing %s is allowed', (file, text) => {
    expect(check(file, text)).toEqual([]);
  });
});
