/**
 * The layers of the repository and which may import which (docs/architecture.md): the platform at the
 * bottom; the shared service code, the services, the infrastructure and the policies above it; the dev
 * tooling above those; scripts, the benchmark and the tests on top. A unit test runs {@link layerViolations}
 * over every source file, so a forbidden import direction fails the build the day it comes back.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** A layer of the repository, by the folder its files live in. */
export type Layer =
  'platform' | 'shared' | 'service' | 'infra' | 'policies' | 'tooling' | 'scripts' | 'bench' | 'test';

/** What each layer may import, besides itself and packages. */
const ALLOWED: Readonly<Record<Layer, readonly Layer[]>> = {
  platform: [],
  shared: ['platform'],
  // A service imports the platform and the shared code, never another service or the infrastructure.
  service: ['platform', 'shared'],
  // The infrastructure names services' bundle entry points; it never imports their code.
  infra: ['platform', 'policies'],
  policies: ['platform'],
  tooling: ['platform', 'shared', 'infra'],
  scripts: ['platform', 'shared', 'service', 'infra', 'policies', 'tooling'],
  bench: ['platform', 'shared', 'service', 'infra', 'tooling'],
  test: ['platform', 'shared', 'service', 'infra', 'policies', 'tooling', 'scripts', 'bench'],
};

/** The layer of a path relative to the repository root, or `undefined` for files outside every layer. */
export function layerOf(path: string): Layer | undefined {
  const [top, second] = path.split('/');
  if (top === 'services') return second === 'shared' ? 'shared' : 'service';
  if (
    top === 'platform' ||
    top === 'infra' ||
    top === 'policies' ||
    top === 'tooling' ||
    top === 'scripts' ||
    top === 'bench' ||
    top === 'test'
  )
    return top;
  return undefined;
}

/** The service a path belongs to (`services/<name>/…`), if any. */
function serviceOf(path: string): string | undefined {
  const [top, name] = path.split('/');
  return top === 'services' && name !== 'shared' ? name : undefined;
}

const IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** One import that breaks the rules. */
export interface LayerViolation {
  readonly file: string;
  readonly imports: string;
  readonly reason: string;
}

/**
 * The imports of `files` (paths relative to `root`) that break the layering.
 * @param read reads a file's text; the file system by default
 */
export function layerViolations(
  root: string,
  files: readonly string[],
  read: (path: string) => string = (p) => readFileSync(join(root, p), 'utf8'),
): LayerViolation[] {
  const out: LayerViolation[] = [];
  for (const file of files) {
    const from = layerOf(file);
    if (!from) continue;
    for (const m of read(file).matchAll(IMPORT)) {
      const target = relative(root, normalize(join(root, dirname(file), m[2]!)));
      const to = layerOf(target);
      if (!to) continue;
      if (from === 'service' && to === 'service' && serviceOf(file) !== serviceOf(target)) {
        out.push({ file, imports: target, reason: 'a service never imports another service' });
        continue;
      }
      if (to === from || ALLOWED[from].includes(to)) continue;
      out.push({ file, imports: target, reason: `${from} may not import ${to}` });
    }
  }
  return out;
}
